// The L2 boxes: learning switch (learning, ageing, flooding, filtering, table bound),
// hub flooding, and port mirroring to a monitor port — directly and through the simulator.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Hub, LearningSwitch } from './boxes.js';
import { Simulator } from './simulator.js';
import { FakeEndpoint, fakeFrame } from './fake-endpoint.js';
import type { FrameEndpoint } from '../stack/endpoint.js';

function drain(box: FrameEndpoint): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let o = box.pollTransmit(); o; o = box.pollTransmit()) out.push([o.ifIndex, o.frame[20]!]);
  return out;
}

test('switch: unknown destination floods, the reply is forwarded only to the learned port', () => {
  const sw = new LearningSwitch({ ports: 4 });
  sw.handleFrame(0, fakeFrame(2, 1, 64, 1), 0); // 1 → 2, 2 unknown
  assert.deepEqual(drain(sw), [[1, 1], [2, 1], [3, 1]]);
  sw.handleFrame(2, fakeFrame(1, 2, 64, 2), 10); // 2 → 1, 1 learned on port 0
  assert.deepEqual(drain(sw), [[0, 2]]);
  sw.handleFrame(0, fakeFrame(2, 1, 64, 3), 20); // now 2 is known on port 2
  assert.deepEqual(drain(sw), [[2, 3]]);
  assert.equal(sw.lookup('02:00:00:00:00:01', 20), 0);
  assert.equal(sw.lookup('02:00:00:00:00:02', 20), 2);
  assert.equal(sw.stats().flooded, 1);
  assert.equal(sw.stats().forwarded, 2);
});

test('switch: broadcast always floods; a frame to a station on its own port is filtered', () => {
  const sw = new LearningSwitch({ ports: 3 });
  sw.handleFrame(1, fakeFrame(9, 5, 64, 1), 0);
  drain(sw);
  sw.handleFrame(0, fakeFrame('broadcast', 1, 64, 2), 1);
  assert.deepEqual(drain(sw), [[1, 2], [2, 2]]);
  sw.handleFrame(1, fakeFrame(5, 6, 64, 3), 2); // 5 lives on port 1, frame came in on port 1
  assert.deepEqual(drain(sw), []);
  assert.equal(sw.stats().filtered, 1);
});

test('switch: entries age out after ageingUs; a station that moves is relearned', () => {
  const sw = new LearningSwitch({ ports: 3, ageingUs: 1000 });
  sw.handleFrame(0, fakeFrame(2, 1, 64, 1), 0);
  drain(sw);
  assert.equal(sw.lookup('02:00:00:00:00:01', 999), 0);
  assert.equal(sw.lookup('02:00:00:00:00:01', 1000), undefined);
  sw.handleFrame(2, fakeFrame(1, 2, 64, 2), 1001); // 1 aged out: flood
  assert.deepEqual(drain(sw), [[0, 2], [1, 2]]);
  sw.handleFrame(1, fakeFrame(2, 1, 64, 3), 1002); // 1 now on port 1
  drain(sw);
  assert.equal(sw.lookup('02:00:00:00:00:01', 1003), 1);
  assert.equal(sw.stats()['mac-aged'], 1);
});

test('switch: the MAC table is bounded; the least recently seen entry is evicted', () => {
  const sw = new LearningSwitch({ ports: 2, macTableMax: 3 });
  for (let m = 1; m <= 3; m++) sw.handleFrame(0, fakeFrame(99, m, 64), m);
  sw.handleFrame(0, fakeFrame(99, 1, 64), 10); // refresh 1
  sw.handleFrame(0, fakeFrame(99, 4, 64), 11); // evicts 2
  assert.equal(sw.macTableSize(), 3);
  assert.equal(sw.lookup('02:00:00:00:00:02', 12), undefined);
  assert.equal(sw.lookup('02:00:00:00:00:01', 12), 0);
  assert.equal(sw.stats()['mac-evicted'], 1);
});

test('switch: runts and bad ports are counted and dropped', () => {
  const sw = new LearningSwitch({ ports: 2 });
  sw.handleFrame(0, new Uint8Array(13), 0);
  sw.handleFrame(7, fakeFrame(1, 2), 0);
  assert.deepEqual(drain(sw), []);
  assert.equal(sw.stats()['drop-runt'], 1);
  assert.equal(sw.stats()['drop-bad-port'], 1);
});

test('hub: every frame goes out of every other port, learned or not', () => {
  const hub = new Hub({ ports: 4 });
  hub.handleFrame(2, fakeFrame(1, 3, 64, 5), 0);
  assert.deepEqual(drain(hub), [[0, 5], [1, 5], [3, 5]]);
  hub.handleFrame(0, fakeFrame(3, 1, 64, 6), 1);
  assert.deepEqual(drain(hub), [[1, 6], [2, 6], [3, 6]]);
});

test('mirror both: the monitor sees traffic to and from the mirrored port, once each, and never flooded frames of others', () => {
  // port 0 client, port 1 primary (mirrored), port 2 other, port 3 monitor
  const sw = new LearningSwitch({ ports: 4, mirror: { sources: [1], direction: 'both', monitor: 3 } });
  sw.handleFrame(0, fakeFrame(2, 1, 64, 1), 0); // client → primary, unknown: flood (to 1, 2) + mirror (egress on 1)
  assert.deepEqual(drain(sw), [[1, 1], [2, 1], [3, 1]]);
  sw.handleFrame(1, fakeFrame(1, 2, 64, 2), 1); // primary → client: ingress on 1
  assert.deepEqual(drain(sw), [[0, 2], [3, 2]]);
  sw.handleFrame(0, fakeFrame(2, 1, 64, 3), 2); // client → primary, learned
  assert.deepEqual(drain(sw), [[1, 3], [3, 3]]);
  sw.handleFrame(2, fakeFrame(1, 7, 64, 4), 3); // other → client: not mirrored
  assert.deepEqual(drain(sw), [[0, 4]]);
  sw.handleFrame(3, fakeFrame(1, 8, 64, 5), 4); // from the pure-tap monitor port: dropped
  assert.deepEqual(drain(sw), []);
  assert.equal(sw.stats()['drop-from-monitor'], 1);
  assert.equal(sw.stats().mirrored, 3);
});

test('mirror ingress-only and egress-only select one direction', () => {
  const ing = new LearningSwitch({ ports: 3, mirror: { sources: [1], direction: 'ingress', monitor: 2 } });
  ing.handleFrame(1, fakeFrame(1, 2, 64, 1), 0);
  ing.handleFrame(0, fakeFrame(2, 1, 64, 2), 1);
  assert.deepEqual(drain(ing), [[0, 1], [2, 1], [1, 2]]);
  const eg = new LearningSwitch({ ports: 3, mirror: { sources: [1], direction: 'egress', monitor: 2 } });
  eg.handleFrame(1, fakeFrame(1, 2, 64, 1), 0);
  eg.handleFrame(0, fakeFrame(2, 1, 64, 2), 1);
  assert.deepEqual(drain(eg), [[0, 1], [1, 2], [2, 2]]);
});

test('mirror with monitorForwarding: the monitor port is also a normal port and still gets one copy', () => {
  const sw = new LearningSwitch({ ports: 3, mirror: { sources: [1], direction: 'both', monitor: 2, monitorForwarding: true } });
  sw.handleFrame(0, fakeFrame(2, 1, 64, 1), 0); // flood reaches 1 and 2: no extra mirror copy
  assert.deepEqual(drain(sw), [[1, 1], [2, 1]]);
  sw.handleFrame(2, fakeFrame(1, 3, 64, 2), 1); // the monitor host talks: learned and forwarded
  assert.deepEqual(drain(sw), [[0, 2]]);
  assert.equal(sw.lookup('02:00:00:00:00:03', 2), 2);
  assert.throws(() => sw.setMirror({ sources: [2], direction: 'both', monitor: 2 }), RangeError);
});

test('through the simulator: a tap host on the mirror port sees a client↔server exchange in both directions', () => {
  const sim = new Simulator({ seed: 3 });
  const client = new FakeEndpoint('client');
  const server = new FakeEndpoint('server');
  const tap = new FakeEndpoint('tap');
  sim.addNode('sw', new LearningSwitch({ ports: 3, mirror: { sources: [1], direction: 'both', monitor: 2 } }));
  sim.addNode('client', client);
  sim.addNode('server', server);
  sim.addNode('tap', tap);
  sim.link(['client', 0], ['sw', 0], { latencyUs: 10 });
  sim.link(['server', 0], ['sw', 1], { latencyUs: 10 });
  sim.link(['tap', 0], ['sw', 2], { latencyUs: 5 });
  server.onFrame = (r, s) => s.send(0, fakeFrame(1, 2, 64, r.frame[20]! + 100));
  sim.act('client', () => client.send(0, fakeFrame(2, 1, 64, 1)));
  sim.runUntil(1000);
  assert.deepEqual(client.received.map((r) => [r.atUs, r.frame[20]]), [[40, 101]]);
  assert.deepEqual(tap.received.map((r) => [r.atUs, r.frame[20]]), [[15, 1], [35, 101]]);
});

test('switch with ageingUs 0 floods every frame, like a Linux bridge with ageing_time 0 (the lab\'s tap)', () => {
  const sw = new LearningSwitch({ ports: 3, ageingUs: 0 });
  sw.handleFrame(0, fakeFrame(2, 1, 64, 1), 0);
  sw.handleFrame(1, fakeFrame(1, 2, 64, 2), 0);
  sw.handleFrame(0, fakeFrame(2, 1, 64, 3), 5);
  assert.deepEqual(drain(sw), [[1, 1], [2, 1], [0, 2], [2, 2], [1, 3], [2, 3]]);
});
