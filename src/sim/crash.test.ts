// Host crash and restart at virtual times: a crashed node receives and sends
// nothing, its timers and queued frames are discarded, and a restart brings a fresh
// endpoint from the factory with its own Rng fork.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Simulator } from './simulator.js';
import { FakeEndpoint, fakeFrame } from './fake-endpoint.js';
import type { NodeContext } from './simulator.js';

function setup() {
  const sim = new Simulator({ seed: 11 });
  const made: Array<{ ep: FakeEndpoint; ctx: NodeContext; firstDraw: number }> = [];
  const factory = (ctx: NodeContext): FakeEndpoint => {
    const ep = new FakeEndpoint(`b#${ctx.incarnation}`);
    made.push({ ep, ctx, firstDraw: ctx.rng.nextU32() });
    ep.onFrame = (r, s) => s.send(0, fakeFrame(1, 2, 64, r.frame[20]!));
    return ep;
  };
  const a = new FakeEndpoint('a');
  sim.addNode('a', a);
  const b = sim.addNode('b', factory);
  const link = sim.link(['a', 0], ['b', 0], { latencyUs: 100, bandwidthBps: 8_000_000 });
  return { sim, a, b, link, made };
}

test('a crashed node receives nothing (counted) and its pending timer is discarded', () => {
  const { sim, a, b, link, made } = setup();
  made[0]!.ep.sendAt(5000, 0, fakeFrame(1, 2, 64, 99));
  sim.flushAll();
  a.sendAt(1000, 0, fakeFrame(2, 1, 64, 1));
  a.sendAt(3000, 0, fakeFrame(2, 1, 64, 2));
  sim.flushAll();
  sim.crashAt(2000, 'b');
  sim.runUntil(100_000);
  assert.deepEqual(a.received.map((r) => r.frame[20]), [1]); // echo of 1 only; no 2, no timer frame 99
  assert.equal(made[0]!.ep.received.length, 1);
  assert.equal(made[0]!.ep.timeoutCalls, 0);
  assert.equal(link.ab.stats['drop-node-down'], 1);
  assert.equal(b.alive, false);
  assert.equal(sim.counters()['node.b.crash'], 1);
});

test('frames waiting in a crashed node\'s transmit queue are discarded; the one on the wire still arrives', () => {
  const { sim, a, b, link, made } = setup();
  sim.act(b, () => {
    for (let i = 0; i < 5; i++) made[0]!.ep.send(0, fakeFrame(1, 2, 1000, i)); // 1000 µs each on the wire
  });
  sim.runUntil(1500); // frame 0 delivered at 1100, frame 1 on the wire since 1000
  sim.crash(b);
  sim.runUntil(100_000);
  assert.deepEqual(a.received.map((r) => r.frame[20]), [0, 1]);
  assert.equal(link.ba.stats['drop-crash'], 3);
});

test('restart: a fresh endpoint from the factory, a new Rng fork, serving again', () => {
  const { sim, a, b, made } = setup();
  sim.crashAt(1000, b);
  sim.restartAt(2000, b);
  a.sendAt(1500, 0, fakeFrame(2, 1, 64, 1)); // lost: b is down
  a.sendAt(3000, 0, fakeFrame(2, 1, 64, 2)); // answered by the new incarnation
  sim.flushAll();
  sim.runUntil(100_000);
  assert.equal(made.length, 2);
  assert.notEqual(made[1]!.ep, made[0]!.ep);
  assert.equal(b.endpoint, made[1]!.ep);
  assert.equal(made[1]!.ctx.incarnation, 1);
  assert.equal(made[1]!.ctx.nowUs, 2000);
  assert.notEqual(made[1]!.firstDraw, made[0]!.firstDraw);
  assert.deepEqual(a.received.map((r) => [r.atUs, r.frame[20]]), [[3000 + 2 * (100 + 64 * 8 / 8), 2]]);
  assert.equal(made[1]!.ep.received.length, 1);
  assert.throws(() => sim.restart(b), /running/);
});

test('restart with a different factory, and nodes added as objects need one', () => {
  const { sim, a } = setup();
  sim.crash('a');
  assert.throws(() => sim.restart('a'), /no factory/);
  const a2 = new FakeEndpoint('a2');
  sim.restart('a', () => a2);
  assert.equal(sim.node('a').endpoint, a2);
  assert.notEqual(a2, a);
});

test('a node crashed from inside its own callback sends nothing more', () => {
  const { sim, a, made, link } = setup();
  const b0 = made[0]!.ep;
  b0.onFrame = (_r, s) => {
    s.send(0, fakeFrame(1, 2, 64, 1));
    sim.crash('b'); // e.g. an observer decided this is the crash point
    s.send(0, fakeFrame(1, 2, 64, 2));
  };
  sim.act('a', () => a.send(0, fakeFrame(2, 1, 64, 0)));
  sim.runUntil(100_000);
  assert.deepEqual(a.received.map((r) => r.frame[20]), []);
  assert.equal(link.ba.stats.sent, 0);
});
