// ArpCache on its own: bounded entries (least recently updated evicted), refresh
// window after expiry, pending queue bounds and retry schedule.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ArpCache, DEFAULT_ARP_LIMITS } from './arp-cache.js';
import { Counters } from './counters.js';

const mac = (n: number): Uint8Array => new Uint8Array([2, 0, 0, 0, 0, n]);

test('entries are bounded; the least recently updated goes first', () => {
  const c = new Counters();
  const arp = new ArpCache({ ...DEFAULT_ARP_LIMITS, maxEntries: 3 }, c);
  arp.learn(1, mac(1), 0); arp.learn(2, mac(2), 0); arp.learn(3, mac(3), 0);
  arp.learn(1, mac(1), 10);                              // 1 refreshed: 2 is now the oldest
  arp.learn(4, mac(4), 20);
  assert.deepEqual([1, 2, 3, 4].map((ip) => arp.has(ip)), [true, false, true, true]);
  assert.equal(c.get('arp-evicted'), 1);
  assert.equal(arp.size(), 3);
});

test('learned MACs are copies; lookup honours the timeout and the refresh window', () => {
  const c = new Counters();
  const arp = new ArpCache({ ...DEFAULT_ARP_LIMITS, timeoutUs: 1000, retryUs: 100, maxRetries: 2 }, c);
  const m = mac(7);
  arp.learn(7, m, 0);
  m[5] = 99;
  assert.deepEqual(arp.lookup(7, 500), mac(7));
  assert.deepEqual(arp.takeRequests(), []);
  assert.deepEqual(arp.lookup(7, 1000), mac(7), 'stale but inside the refresh window');
  assert.deepEqual(arp.takeRequests(), [7]);
  arp.lookup(7, 1050);
  assert.deepEqual(arp.takeRequests(), [], 'one refresh per retry interval');
  arp.lookup(7, 1100);
  assert.deepEqual(arp.takeRequests(), [7]);
  assert.equal(arp.lookup(7, 1200), undefined, 'gone after timeout + retries * interval');
  assert.equal(c.get('arp-expired'), 1);
});

test('pending: one request per new destination, retries on schedule, release on reply', () => {
  const c = new Counters();
  const arp = new ArpCache({ ...DEFAULT_ARP_LIMITS, retryUs: 100, maxRetries: 3, maxPendingPerDest: 2 }, c);
  const f = (n: number): Uint8Array => new Uint8Array([n]);
  arp.enqueue(9, f(1), 0); arp.enqueue(9, f(2), 0); arp.enqueue(9, f(3), 0);
  assert.deepEqual(arp.takeRequests(), [9]);
  assert.equal(c.get('drop-arp-pending-full'), 1);
  assert.equal(arp.nextDeadline(), 100);
  arp.handleTimeout(50);
  assert.deepEqual(arp.takeRequests(), []);
  arp.handleTimeout(100);
  assert.deepEqual(arp.takeRequests(), [9]);
  const released = arp.learn(9, mac(9), 150);
  assert.deepEqual(released.map((x) => x[0]), [2, 3], 'oldest was dropped, order kept');
  assert.equal(arp.nextDeadline(), undefined);
});
