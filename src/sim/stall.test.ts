// A stalled node (a GC pause, CPU starvation): it loses nothing, but frames wait for it and
// its timer fires late — and, as in an event loop, the late timer runs before the frames
// that queued meanwhile are read. The ST-TCP liveness tests build on exactly this order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Simulator } from './simulator.js';
import { FakeEndpoint, fakeFrame } from './fake-endpoint.js';

function setup() {
  const sim = new Simulator({ seed: 12 });
  const a = new FakeEndpoint('a');
  const b = new FakeEndpoint('b');
  sim.addNode('a', a);
  sim.addNode('b', b);
  const link = sim.link(['a', 0], ['b', 0], { latencyUs: 100, bandwidthBps: 8_000_000 });
  return { sim, a, b, link };
}

test('a stalled node gets its frames when the stall ends, after its overdue timer, in arrival order', () => {
  const { sim, a, b, link } = setup();
  const order: string[] = [];
  b.onFrame = (r) => order.push(`frame ${r.frame[20]} at ${r.atUs}`);
  const timeout = b.handleTimeout.bind(b);
  b.handleTimeout = (nowUs) => { order.push(`timer at ${nowUs}`); timeout(nowUs); };
  b.sendAt(3_000, 0, fakeFrame(1, 2, 64, 7));        // b's timer, due inside the stall
  a.sendAt(1_000, 0, fakeFrame(2, 1, 64, 1));
  a.sendAt(2_000, 0, fakeFrame(2, 1, 64, 2));
  a.sendAt(6_000, 0, fakeFrame(2, 1, 64, 3));
  sim.flushAll();
  sim.stallAt(500, 'b', 4_500);                       // b runs again at 5000
  sim.runUntil(20_000);
  assert.deepEqual(order, ['timer at 5000', 'frame 1 at 5000', 'frame 2 at 5000', 'frame 3 at 6164']);
  assert.deepEqual(a.received.map((r) => [r.frame[20], r.atUs]), [[7, 5164]]);  // b sent nothing while stalled
  assert.equal(link.ab.stats.delivered, 3);
  assert.equal(sim.counters()['node.b.stall'], 1);
});

test('a node that crashes while stalled loses its backlog; a restart starts clean', () => {
  const sim = new Simulator({ seed: 13 });
  const a = new FakeEndpoint('a');
  sim.addNode('a', a);
  const made: FakeEndpoint[] = [];
  sim.addNode('b', () => { const ep = new FakeEndpoint('b'); made.push(ep); return ep; });
  sim.link(['a', 0], ['b', 0], { latencyUs: 100, bandwidthBps: 8_000_000 });
  a.sendAt(1_000, 0, fakeFrame(2, 1, 64, 1));
  a.sendAt(4_000, 0, fakeFrame(2, 1, 64, 2));
  sim.flushAll();
  sim.stallAt(500, 'b', 5_000);
  sim.crashAt(2_000, 'b');
  sim.restartAt(3_000, 'b');
  sim.runUntil(20_000);
  assert.equal(made[0]!.received.length, 0, 'the stalled incarnation never ran again');
  assert.deepEqual(made[1]!.received.map((r) => [r.frame[20], r.atUs]), [[2, 4164]], 'the new incarnation is not stalled');
});

test('a stalled node\'s backlog is bounded: beyond it frames are dropped and counted', () => {
  const { sim, a, b, link } = setup();
  sim.stall('b', 1_000_000);
  // 5000 frames over 0.5 s, 100 µs apart (the link's own queue never fills).
  for (let i = 0; i < 5000; i++) a.sendAt(1_000 + i * 100, 0, fakeFrame(2, 1, 64, i));
  sim.flushAll();
  sim.runUntil(2_000_000);
  assert.equal(link.ab.stats['drop-queue'], 0);
  assert.equal(b.received.length, 4096);
  assert.equal(link.ab.stats['drop-stalled'], 5000 - 4096);
});
