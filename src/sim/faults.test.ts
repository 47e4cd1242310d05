// Each fault rule through a simulated link: loss, duplication, reordering, jitter,
// corruption, partition (one-way, two-way, scripted, windowed), matching, composition.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Simulator } from './simulator.js';
import { FakeEndpoint, fakeFrame } from './fake-endpoint.js';
import type { FaultSpec } from './faults.js';

const N = 2000;

function run(specs: FaultSpec[], seed = 7, frames = N, gapUs = 10) {
  const sim = new Simulator({ seed });
  const a = new FakeEndpoint('a');
  const b = new FakeEndpoint('b');
  sim.addNode('a', a);
  sim.addNode('b', b);
  const link = sim.link(['a', 0], ['b', 0], { latencyUs: 100 });
  const rules = specs.map((s) => sim.addFault(link.ab, s)[0]!);
  for (let i = 0; i < frames; i++) {
    const f = fakeFrame(2, 1, 64);
    f[16] = i >> 8; f[17] = i & 0xff; // sequence number in the payload
    a.sendAt(i * gapUs, 0, f);
  }
  sim.flushAll();
  sim.runUntil(frames * gapUs + 1_000_000);
  const got = b.received.map((r) => ({ i: (r.frame[16]! << 8) | r.frame[17]!, atUs: r.atUs, frame: r.frame }));
  return { sim, link, rules, got };
}

test('loss: drops about `rate` of frames, counted on the rule and the link; 0 and 1 are exact', () => {
  const { got, rules, link } = run([{ kind: 'loss', rate: 0.1 }]);
  const lost = N - got.length;
  assert.ok(lost > 140 && lost < 260, `lost ${lost} of ${N} at 10 %`);
  assert.equal(rules[0]!.dropped, lost);
  assert.equal(link.ab.stats['drop-fault'], lost);
  assert.equal(run([{ kind: 'loss', rate: 0 }]).got.length, N);
  assert.equal(run([{ kind: 'loss', rate: 1 }]).got.length, 0);
  assert.throws(() => run([{ kind: 'loss', rate: 1.5 }]), RangeError);
});

test('duplicate: extra copies arrive delayUs after the original, and are separate buffers', () => {
  const { got, rules, link } = run([{ kind: 'duplicate', rate: 0.2, delayUs: 3 }]);
  const dups = rules[0]!.duplicated;
  assert.ok(dups > 300 && dups < 500, `duplicated ${dups}`);
  assert.equal(got.length, N + dups);
  assert.equal(link.ab.stats.duplicated, dups);
  const byI = new Map<number, typeof got>();
  for (const g of got) byI.set(g.i, [...(byI.get(g.i) ?? []), g]);
  for (const copies of byI.values()) {
    if (copies.length === 2) {
      assert.equal(copies[1]!.atUs - copies[0]!.atUs, 3);
      assert.notEqual(copies[0]!.frame, copies[1]!.frame);
      assert.deepEqual(copies[0]!.frame, copies[1]!.frame);
    } else assert.equal(copies.length, 1);
  }
});

test('reorder: held-back frames arrive delayUs late and are overtaken', () => {
  const { got, rules } = run([{ kind: 'reorder', rate: 0.1, delayUs: 35 }]);
  assert.equal(got.length, N);
  const held = rules[0]!.delayed;
  assert.ok(held > 140 && held < 260, `held ${held}`);
  let late = 0;
  let overtaken = 0;
  got.forEach((g, k) => {
    if (g.atUs === g.i * 10 + 100 + 35) late++;
    else assert.equal(g.atUs, g.i * 10 + 100);
    if (k > 0 && g.i < got[k - 1]!.i) overtaken++;
  });
  assert.equal(late, held);
  assert.ok(overtaken > 0);
});

test('jitter: every frame arrives within [latency, latency + maxUs]', () => {
  const { got } = run([{ kind: 'jitter', maxUs: 50 }]);
  assert.equal(got.length, N);
  const extras = got.map((g) => g.atUs - (g.i * 10 + 100));
  assert.ok(extras.every((e) => e >= 0 && e <= 50));
  assert.ok(new Set(extras).size > 40, 'delays spread over the range');
});

test('corrupt: exactly `bits` flipped bits (or fewer if two hit the same bit), all at offsets ≥ minOffset', () => {
  const { got, rules } = run([{ kind: 'corrupt', rate: 0.5, bits: 3, minOffset: 20 }]);
  assert.equal(got.length, N);
  let changed = 0;
  for (const g of got) {
    const want = fakeFrame(2, 1, 64);
    want[16] = g.i >> 8; want[17] = g.i & 0xff;
    let flipped = 0;
    for (let k = 0; k < 64; k++) {
      const x = want[k]! ^ g.frame[k]!;
      if (x !== 0) assert.ok(k >= 20, `flip at ${k}`);
      for (let v = x; v; v &= v - 1) flipped++;
    }
    assert.ok(flipped <= 3 && (flipped === 3 || flipped === 1 || flipped === 0));
    if (flipped > 0) changed++;
  }
  assert.ok(Math.abs(changed - rules[0]!.corrupted) <= 2);
  assert.ok(rules[0]!.corrupted > 850 && rules[0]!.corrupted < 1150);
});

test('match and time window restrict a rule', () => {
  const { got, rules } = run([{ kind: 'loss', rate: 1, fromUs: 5000, untilUs: 6000, match: (f) => (f[17]! & 1) === 0 }]);
  const lost = new Set(Array.from({ length: N }, (_, i) => i)).size - got.length;
  assert.equal(lost, 50); // even frames sent in [5000, 6000)
  assert.equal(rules[0]!.seen, 50);
  assert.ok(got.every((g) => !(g.i >= 500 && g.i < 600 && g.i % 2 === 0)));
});

test('composition: rules apply in order (duplicate, then loss also sees the copies)', () => {
  const { got, rules } = run([{ kind: 'duplicate', rate: 1 }, { kind: 'loss', rate: 0.5 }]);
  assert.equal(rules[0]!.duplicated, N);
  assert.equal(rules[1]!.seen, 2 * N);
  assert.equal(got.length, 2 * N - rules[1]!.dropped);
});

test('custom rule and disabling a rule', () => {
  const { got } = run([{ kind: 'custom', apply: (f) => (f.frame[17]! % 3 === 0 ? [] : [f]) }]);
  const kept = Array.from({ length: N }, (_, i) => i).filter((i) => (i & 0xff) % 3 !== 0);
  assert.deepEqual(got.map((g) => g.i), kept);
  const sim = new Simulator({ seed: 1 });
  const a = new FakeEndpoint('a');
  const b = new FakeEndpoint('b');
  sim.addNode('a', a); sim.addNode('b', b);
  const link = sim.link(['a', 0], ['b', 0], { latencyUs: 1 });
  const [r] = sim.addFault(link.ab, { kind: 'loss', rate: 1 });
  sim.act('a', () => a.send(0, fakeFrame(2, 1)));
  r!.enabled = false;
  sim.act('a', () => a.send(0, fakeFrame(2, 1)));
  sim.runUntil(10);
  assert.equal(b.received.length, 1);
});

test('partition: one-way blocks one direction only; heal restores; scripted partitionAt/healAt', () => {
  const sim = new Simulator({ seed: 1 });
  const a = new FakeEndpoint('a');
  const b = new FakeEndpoint('b');
  sim.addNode('a', a); sim.addNode('b', b);
  const link = sim.link(['a', 0], ['b', 0], { latencyUs: 10 });
  sim.partition({ node: 'a', ifIndex: 0, direction: 'egress' });
  sim.act('a', () => a.send(0, fakeFrame(2, 1, 64, 1)));
  sim.act('b', () => b.send(0, fakeFrame(1, 2, 64, 2)));
  sim.runUntil(100);
  assert.equal(b.received.length, 0);
  assert.equal(a.received.length, 1);
  assert.equal(link.ab.stats['drop-partition'], 1);
  sim.heal(link);
  sim.partitionAt(200, link, 300); // two-way, 200..300
  for (const t of [150, 250, 350]) {
    a.sendAt(t, 0, fakeFrame(2, 1, 64, t & 0xff));
    b.sendAt(t, 0, fakeFrame(1, 2, 64, t & 0xff));
  }
  sim.flushAll();
  sim.runUntil(1000);
  assert.deepEqual(b.received.map((r) => r.atUs), [160, 360]);
  assert.deepEqual(a.received.map((r) => r.atUs), [10, 160, 360]);
  assert.equal(link.ab.stats['drop-partition'], 2);
  assert.equal(link.ba.stats['drop-partition'], 1);
});

test('rule counters appear in sim.counters()', () => {
  const { sim } = run([{ kind: 'loss', rate: 0.5, label: 'lossy' }], 3, 100);
  const c = sim.counters();
  assert.equal(c['fault.a:0>b:0.lossy.seen'], 100);
  assert.equal(c['fault.a:0>b:0.lossy.dropped'], c['link.a:0>b:0.drop-fault']);
});
