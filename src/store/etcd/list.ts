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
 * listPrefix reads every key under a prefix in pages of `pageSize`, all at the revision of the
 * first page, so the whole listing is one consistent view (as the Kubernetes API server pages
 * etcd with a continue token). A page whose revision was compacted meanwhile fails the listing;
 * the caller lists again.
 */
export async function listPrefix(client: Etcd3, prefix: string, pageSize: number): Promise<Listing> {
  const all = Range.prefix(prefix);
  const first = await client.getAll().inRange(all).limit(pageSize).exec();
  const revision = Number(first.header.revision);
  const kvs = first.kvs.map(kvOf);
  let more = first.more;
  let last = first.kvs[first.kvs.length - 1]?.key;
  while (more && last) {
    // The next key after `last` in byte order is `last` followed by a zero byte.
    const start = Buffer.concat([last, Buffer.from([0])]);
    const page = await client.getAll().inRange(new Range(start, all.end)).limit(pageSize).revision(revision).exec();
    for (const kv of page.kvs) kvs.push(kvOf(kv));
    more = page.more;
    last = page.kvs[page.kvs.length - 1]?.key;
  }
  return { kvs, revision, clusterId: first.header.cluster_id };
}
