import { Range, type Etcd3 } from 'etcd3';
import { kvOf, type Kv } from './decode.js';

/**
 * Keys per page. etcd counts every key left in the range for each page (the range response's
 * `count`), so a listing costs about n²/(2·page) key visits: 1,000-key pages made a 200,000-key
 * listing take 24 s here, 10,000-key pages (a few MB each) a few seconds.
 */
export const LIST_PAGE = 10_000;

/** Listing is every key under a prefix at one revision. */
export interface Listing {
  kvs: Kv[];
  /** The revision the listing is consistent at (the list's resourceVersion). */
  revision: number;
  /** etcd's cluster id, to notice a different (or re-created) cluster later. */
  clusterId: string;
}

/**
 * listPrefixes reads every key under some prefixes in pages of `pageSize`, all at the revision of
 * the first page, so the whole listing is one consistent view (as the Kubernetes API server pages
 * etcd with a continue token). A page whose revision was compacted meanwhile fails the listing;
 * the caller lists again.
 */
export async function listPrefixes(client: Etcd3, prefixes: readonly string[], pageSize: number): Promise<Listing> {
  const kvs: Kv[] = [];
  let revision: number | undefined;
  let clusterId = '';
  for (const prefix of prefixes) {
    const all = Range.prefix(prefix);
    let start: Buffer = all.start;
    for (;;) {
      const query = client.getAll().inRange(new Range(start, all.end)).limit(pageSize);
      const page = await (revision === undefined ? query : query.revision(revision)).exec();
      if (revision === undefined) {
        revision = Number(page.header.revision);
        clusterId = page.header.cluster_id;
      }
      for (const kv of page.kvs) kvs.push(kvOf(kv));
      const last = page.kvs[page.kvs.length - 1]?.key;
      if (!page.more || !last) break;
      // The next key after `last` in byte order is `last` followed by a zero byte.
      start = Buffer.concat([last, Buffer.from([0])]);
    }
  }
  return { kvs, revision: revision ?? 0, clusterId };
}
