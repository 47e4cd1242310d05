// Determinism of the simulator itself: a busy switched network with every fault
// kind, run twice from one seed, gives an identical trace hash, counters and pcap
// bytes; another seed gives a different run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Simulator } from './simulator.js';
import { LearningSwitch } from './boxes.js';
import { FakeEndpoint, fakeFrame } from './fake-endpoint.js';

function busyRun(seed: number) {
  const sim = new Simulator({ seed });
  sim.addNode('sw', new LearningSwitch({ ports: 4, mirror: { sources: [0], direction: 'both', monitor: 3 } }));
  const hosts: FakeEndpoint[] = [];
  for (let n = 1; n <= 4; n++) {
    const h = new FakeEndpoint(`h${n}`);
    hosts.push(h);
    sim.addNode(`h${n}`, h);
    const link = sim.link([`h${n}`, 0], ['sw', n - 1], { latencyUs: 20 * n, bandwidthBps: 10_000_000, queueFrames: 8 });
    sim.addFault(link.ab, { kind: 'loss', rate: 0.05 });
    sim.addFault(link.ab, { kind: 'duplicate', rate: 0.05, delayUs: 7 });
    sim.addFault(link.ba, { kind: 'reorder', rate: 0.1, delayUs: 300 });
    sim.addFault(link.ba, { kind: 'jitter', maxUs: 40 });
    sim.addFault(link.ba, { kind: 'corrupt', rate: 0.02, minOffset: 14 });
  }
  const wl = sim.forkRng();
  for (let i = 0; i < 400; i++) {
    const src = wl.nextInt(3);
    const dst = (src + 1 + wl.nextInt(2)) % 3;
    hosts[src]!.sendAt(wl.nextInt(200_000), 0, fakeFrame(dst + 1, src + 1, 60 + wl.nextInt(1400), i));
  }
  hosts[1]!.onFrame = (r, s) => { if (r.frame[20]! % 4 === 0) s.send(0, fakeFrame(1, 2, 80, r.frame[20]! + 1)); };
  sim.flushAll();
  const cap = sim.capturePort('sw', 3);
  sim.partitionAt(50_000, { node: 'h3', ifIndex: 0 }, 60_000);
  sim.crashAt(120_000, 'h2');
  sim.restartAt(150_000, 'h2', () => hosts[1]!);
  sim.runUntil(1_000_000);
  return { hash: sim.traceHash(), counters: sim.counters(), pcap: cap.bytes(), delivered: sim.trace.deliveredFrames() };
}

test('same seed twice: identical trace hash, counters and pcap bytes', () => {
  const r1 = busyRun(42);
  const r2 = busyRun(42);
  assert.ok(r1.delivered > 300, `delivered ${r1.delivered}`);
  assert.equal(r1.hash, r2.hash);
  assert.deepEqual(r1.counters, r2.counters);
  assert.deepEqual(r1.pcap, r2.pcap);
  assert.ok(r1.pcap.length > 10_000);
});

test('another seed: a different run', () => {
  assert.notEqual(busyRun(42).hash, busyRun(43).hash);
});
