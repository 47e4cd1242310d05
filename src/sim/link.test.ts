// Link timing and limits through the simulator: propagation, serialization,
// FIFO tail drop, MTU, full duplex; plus the node-driving contract and runner API.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Simulator, SimLimitError } from './simulator.js';
import { FakeEndpoint, fakeFrame } from './fake-endpoint.js';
import type { LinkConfig } from './link.js';
import type { FrameEndpoint } from '../stack/endpoint.js';

function pair(cfg: LinkConfig, seed = 1) {
  const sim = new Simulator({ seed });
  const a = new FakeEndpoint('a');
  const b = new FakeEndpoint('b');
  sim.addNode('a', a);
  sim.addNode('b', b);
  const link = sim.link(['a', 0], ['b', 0], cfg);
  return { sim, a, b, link };
}

test('latency only: a frame arrives exactly latencyUs later, byte-identical, on the right interface', () => {
  const { sim, a, b, link } = pair({ latencyUs: 250 });
  const f = fakeFrame(2, 1, 100, 7);
  sim.act('a', () => a.send(0, f));
  f.fill(0); // the link owns a copy: the sender may reuse its buffer
  sim.runUntil(10_000);
  assert.equal(b.received.length, 1);
  assert.equal(b.received[0]!.atUs, 250);
  assert.equal(b.received[0]!.ifIndex, 0);
  assert.deepEqual(b.received[0]!.frame, fakeFrame(2, 1, 100, 7));
  assert.equal(link.ab.stats.delivered, 1);
  assert.equal(link.ab.stats['bytes-delivered'], 100);
  assert.equal(sim.nowUs, 10_000);
});

test('bandwidth: serialization delay is exact and back-to-back frames queue behind each other', () => {
  // 1000-byte frames at 8 Mbit/s take 1000 µs each on the wire.
  const { sim, a, b } = pair({ latencyUs: 500, bandwidthBps: 8_000_000, mtuBytes: 9000 });
  sim.act('a', () => {
    for (let i = 0; i < 3; i++) a.send(0, fakeFrame(2, 1, 1000, i));
  });
  sim.runUntil(100_000);
  assert.deepEqual(b.received.map((r) => r.atUs), [1500, 2500, 3500]);
  assert.deepEqual(b.received.map((r) => r.frame[20]), [0, 1, 2]);
  // A frame sent after the link went idle starts at once.
  sim.act('a', () => a.send(0, fakeFrame(2, 1, 1000, 9)));
  sim.runUntil(200_000);
  assert.equal(b.received[3]!.atUs, 100_000 + 1000 + 500);
});

test('serialization time rounds up to whole microseconds', () => {
  const { sim, a, b, link } = pair({ latencyUs: 0, bandwidthBps: 1_000_000_000 });
  assert.equal(link.txTimeUs(64), 1); // 0.512 µs
  assert.equal(link.txTimeUs(1500), 12); // 12 µs exactly
  assert.equal(link.txTimeUs(1501), 13); // 12.008 µs
  sim.act('a', () => { a.send(0, fakeFrame(2, 1, 64)); a.send(0, fakeFrame(2, 1, 64)); });
  sim.runUntil(1000);
  assert.deepEqual(b.received.map((r) => r.atUs), [1, 2]);
});

test('queue: tail drop beyond queueFrames, counted; the earliest frames survive', () => {
  const { sim, a, b, link } = pair({ latencyUs: 10, bandwidthBps: 8_000_000, queueFrames: 2 });
  sim.act('a', () => {
    for (let i = 0; i < 6; i++) a.send(0, fakeFrame(2, 1, 100, i));
  });
  sim.runUntil(10_000);
  // One on the wire + two waiting; the other three are tail-dropped.
  assert.deepEqual(b.received.map((r) => r.frame[20]), [0, 1, 2]);
  assert.equal(link.ab.stats['drop-queue'], 3);
  assert.equal(link.ab.stats.sent, 3);
  assert.equal(link.ab.maxQueueFrames, 2);
  assert.equal(sim.counters()['link.a:0>b:0.drop-queue'], 3);
});

test('queue: queueBytes bounds the waiting bytes', () => {
  const { sim, a, b, link } = pair({ latencyUs: 10, bandwidthBps: 8_000_000, queueBytes: 250 });
  sim.act('a', () => {
    for (let i = 0; i < 5; i++) a.send(0, fakeFrame(2, 1, 100, i));
  });
  sim.runUntil(10_000);
  // 1 on the wire, 2 × 100 bytes waiting (300 would exceed 250).
  assert.deepEqual(b.received.map((r) => r.frame[20]), [0, 1, 2]);
  assert.equal(link.ab.stats['drop-queue'], 2);
});

test('MTU: frames longer than MTU + Ethernet header are dropped and counted; an 802.1Q tag is allowed', () => {
  const { sim, a, b, link } = pair({ latencyUs: 1, mtuBytes: 1500 });
  const tagged = fakeFrame(2, 1, 1518);
  tagged[12] = 0x81; tagged[13] = 0x00;
  sim.act('a', () => {
    a.send(0, fakeFrame(2, 1, 1514));
    a.send(0, fakeFrame(2, 1, 1515));
    a.send(0, tagged);
    a.send(0, fakeFrame(2, 1, 9000));
  });
  sim.runUntil(100);
  assert.deepEqual(b.received.map((r) => r.frame.length), [1514, 1518]);
  assert.equal(link.ab.stats['drop-mtu'], 2);
});

test('full duplex: the two directions do not share bandwidth', () => {
  const { sim, a, b } = pair({ latencyUs: 100, bandwidthBps: 8_000_000 });
  sim.act('a', () => a.send(0, fakeFrame(2, 1, 1000)));
  sim.act('b', () => b.send(0, fakeFrame(1, 2, 1000)));
  sim.runUntil(10_000);
  assert.equal(a.received[0]!.atUs, 1100);
  assert.equal(b.received[0]!.atUs, 1100);
});

test('a frame on an interface with no link is counted, not thrown', () => {
  const { sim, a } = pair({ latencyUs: 1 });
  sim.act('a', () => a.send(3, fakeFrame(2, 1)));
  assert.equal(sim.counters()['node.a.drop-no-link'], 1);
});

test('timers: handleTimeout is called at pollDeadline; a node that replies is drained at once', () => {
  const { sim, a, b } = pair({ latencyUs: 40 });
  b.onFrame = (r, self) => self.send(0, r.frame.slice()); // echo
  a.sendAt(1234, 0, fakeFrame(2, 1));
  sim.flushAll(); // a's deadline was set after addNode
  sim.runUntil(5000);
  assert.equal(b.received[0]!.atUs, 1274);
  assert.equal(a.received[0]!.atUs, 1314);
  assert.equal(a.timeoutCalls, 1);
});

test('timers: a changed deadline leaves a stale event that is skipped, not delivered twice', () => {
  const { sim, a, b } = pair({ latencyUs: 0 });
  a.sendAt(5000, 0, fakeFrame(2, 1, 64, 1));
  sim.flushAll();
  a.sendAt(1000, 0, fakeFrame(2, 1, 64, 2)); // earlier deadline
  sim.flushAll();
  sim.runUntil(10_000);
  assert.deepEqual(b.received.map((r) => [r.atUs, r.frame[20]]), [[1000, 2], [5000, 1]]);
  assert.equal(a.timeoutCalls, 2);
});

test('runner: runUntilIdle, runWhile and runFor are bounded by virtual time', () => {
  const { sim, a, b } = pair({ latencyUs: 100 });
  a.sendAt(1000, 0, fakeFrame(2, 1));
  a.sendAt(9000, 0, fakeFrame(2, 1));
  sim.flushAll();
  assert.equal(sim.runUntilIdle(5000), false);
  assert.equal(sim.nowUs, 5000);
  assert.equal(b.received.length, 1);
  assert.equal(sim.runWhile(() => b.received.length < 2, 20_000), true);
  assert.equal(sim.nowUs, 9100);
  assert.equal(sim.runUntilIdle(20_000), true);
  assert.equal(sim.runWhile(() => true, 30_000), false); // idle: pred never turns false
  sim.runFor(500);
  assert.equal(sim.nowUs, 9600);
  assert.throws(() => sim.runUntil(100), RangeError); // the clock never goes back
  assert.throws(() => sim.runUntil(1.5e4 + 0.5), RangeError);
});

test('runner: a node whose deadline never advances is stopped with SimLimitError', () => {
  const sim = new Simulator({ seed: 1, maxTimerFiringsPerInstant: 100 });
  const stuck: FrameEndpoint = {
    handleFrame() {}, handleTimeout() {}, pollTransmit: () => undefined, pollDeadline: () => 10,
  };
  sim.addNode('stuck', stuck); // its deadline stays at 10 µs after every handleTimeout
  assert.throws(() => sim.runUntil(1000), SimLimitError);
});

test('runner: maxEventsPerRun bounds every run', () => {
  const sim = new Simulator({ seed: 1, maxEventsPerRun: 50 });
  const a = new FakeEndpoint('a');
  const b = new FakeEndpoint('b');
  sim.addNode('a', a);
  sim.addNode('b', b);
  sim.link(['a', 0], ['b', 0], { latencyUs: 1 });
  a.onFrame = (r, s) => s.send(0, r.frame);
  b.onFrame = (r, s) => s.send(0, r.frame); // ping-pong forever
  sim.act('a', () => a.send(0, fakeFrame(2, 1)));
  assert.throws(() => sim.runUntil(1_000_000), SimLimitError);
});
