import { silentLogger } from '../../src/log.js';
import { EtcdStore } from '../../src/store/etcd/store.js';
import { sharedEtcd, seedZone } from '../helpers/etcd.js';
import { storeSuite } from './suite.js';

let n = 0;
storeSuite('EtcdStore', async () => {
  const etcd = await sharedEtcd();
  const prefix = `/suite-${process.pid}-${++n}`;
  await seedZone(etcd.url, prefix, 'cluster.local');
  const open = () => new EtcdStore({ urls: [etcd.url], prefix, log: silentLogger() });
  const store = open();
  const peer = open();
  await Promise.all([store.start(), peer.start()]);
  return { store, peer, cleanup: async () => void (await Promise.all([store.close(), peer.close()])) };
});
