import { expect } from 'chai';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { exampleOrg, startDnsmasq, type Dnsmasq } from '../helpers/dnsmasq.js';
import { seedZone, sharedEtcd } from '../helpers/etcd.js';
import { SAMPLE_ZONES } from '../helpers/server.js';
import { dig, startServe, type ServeProcess } from '../helpers/tools.js';

/** scrape reads /metrics into series -> value. */
async function scrape(s: ServeProcess): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${s.httpPort}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

/** until scrapes until `cond` holds (bounded), and returns the last scrape. */
async function until(s: ServeProcess, cond: (m: Map<string, number>) => boolean, what: string, within = 10_000): Promise<Map<string, number>> {
  const end = Date.now() + within;
  for (;;) {
    const m = await scrape(s);
    if (cond(m)) return m;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify([...m].filter(([k]) => k.startsWith('svcdns_')))}`);
    await sleep(100);
  }
}

describe('metrics of a running serve: what the other modules count', () => {
  it('zone files: a new object counts as a reload, a file that no longer parses as a refused one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'svcdns-metrics-'));
    await cp(SAMPLE_ZONES, dir, { recursive: true });
    const s = await startServe(['--zones', dir, '--dns', '127.0.0.1:0']);
    try {
      const m0 = await scrape(s);
      expect([m0.get('svcdns_registry_reloads_total'), m0.get('svcdns_registry_reload_failures_total'), m0.get('svcdns_registry_objects{kind="Service"}')]).to.deep.equal([0, 0, 4]);
      const file = join(dir, 'cluster.local', 'extra.yaml');
      await writeFile(file, 'apiVersion: v1\nkind: Service\nmetadata: {name: extra, namespace: default}\nspec: {clusterIP: 10.0.0.77}\n');
      await until(s, (m) => m.get('svcdns_registry_objects{kind="Service"}') === 5, 'the new Service');
      await writeFile(file, 'kind: [oops\n');
      await until(s, (m) => m.get('svcdns_registry_reload_failures_total') === 1, 'the refused reload');
      const m = await scrape(s);
      expect(m.get('svcdns_registry_objects{kind="Service"}'), 'the last good objects keep serving').to.equal(5);
      expect(m.get('svcdns_registry_reloads_total')).to.be.at.least(1);
    } finally {
      expect(await s.stop()).to.equal(0);
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('forwarding and cache (dnsmasq upstream): requests per upstream, responses by rcode, cache hits and misses', async () => {
    let dm: Dnsmasq | undefined;
    let s: ServeProcess | undefined;
    try {
      dm = await startDnsmasq(exampleOrg());
      s = await startServe(['--zones', SAMPLE_ZONES, '--dns', '127.0.0.1:0', '--upstream', `127.0.0.1:${dm.port}`]);
      expect((await dig(s.port, ['+short', 'host.example.org'])).trim()).to.equal('192.0.2.8');
      expect((await dig(s.port, ['+short', 'host.example.org'])).trim()).to.equal('192.0.2.8');
      const to = `127.0.0.1:${dm.port}`;
      const m = await scrape(s);
      expect(m.get(`svcdns_forward_requests_total{to="${to}"}`)).to.be.at.least(1);
      expect(m.get(`svcdns_forward_responses_total{to="${to}",rcode="NOERROR"}`)).to.be.at.least(1);
      expect(m.get('svcdns_cache_hits_total{type="success"}')).to.equal(1);
      expect(m.get('svcdns_cache_misses_total')).to.be.at.least(1);
      expect(m.get('svcdns_cache_entries')).to.be.at.least(1);
      expect(m.get('svcdns_dns_requests_total{zone=".",proto="udp",family="1",type="A"}')).to.equal(2);
    } finally {
      if (s) expect(await s.stop()).to.equal(0);
      await dm?.stop();
    }
  });

  it('etcd: synced, lists by reason, and ready once listed', async () => {
    const etcd = await sharedEtcd();
    const prefix = `/svcdns-metrics-${process.pid}-${Date.now()}`;
    await seedZone(etcd.url, prefix, 'cluster.local');
    const s = await startServe(['--etcd', etcd.url, '--etcd-prefix', prefix, '--dns', '127.0.0.1:0']);
    try {
      const m = await until(s, (x) => x.get('svcdns_etcd_synced') === 1, 'etcd synced');
      expect(m.get('svcdns_etcd_lists_total{reason="initial"}')).to.equal(1);
      expect(m.get('svcdns_etcd_list_failures_total')).to.equal(0);
      expect(m.get('svcdns_etcd_last_sync_timestamp_seconds')).to.be.above(1e9);
      const ready = await fetch(`http://127.0.0.1:${s.httpPort}/ready`);
      expect(ready.status).to.equal(200);
    } finally {
      expect(await s.stop()).to.equal(0);
    }
  });
});
