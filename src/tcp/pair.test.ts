// Two TcpConnections over a seeded lossy/reordering/duplicating pipe: every byte each side
// sends arrives exactly once, in order, both sides close cleanly; and the same holds when
// each side is snapshot and restored every few hundred segments. Seeds are printed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PairOptions } from './testing/pair.js';
import { runPair } from './testing/pair.js';
import { cubic } from './congestion/index.js';

const SEEDS = Number(process.env['SIM_SEEDS'] ?? 6);

function check(o: PairOptions): void {
  const r = runPair(o);
  const where = `seed ${o.seed} (replay: node --import tsx --test --test-name-pattern="${o.seed}" src/tcp/pair.test.ts)`;
  assert.deepEqual(r.violations, [], where);
  assert.equal(r.receivedByB.length, r.sentByA.length, `A→B length ${where} ${JSON.stringify({ ...r, receivedByA: r.receivedByA.length, receivedByB: r.receivedByB.length, sentByA: 0, sentByB: 0 })}`);
  assert.ok(Buffer.from(r.receivedByB).equals(Buffer.from(r.sentByA)), `A→B bytes ${where}`);
  assert.equal(r.receivedByA.length, r.sentByB.length, `B→A length ${where}`);
  assert.ok(Buffer.from(r.receivedByA).equals(Buffer.from(r.sentByB)), `B→A bytes ${where}`);
  assert.equal(r.stateA, 'CLOSED', `A final state ${where}`);
  assert.equal(r.stateB, 'CLOSED', `B final state ${where}`);
  assert.equal(r.reasonA, 'closed', where);
  assert.equal(r.reasonB, 'closed', where);
}

const optionSets = [
  { name: 'all options', cfg: {} },
  { name: 'no SACK', cfg: { sack: false } },
  { name: 'no options', cfg: { sack: false, timestamps: false, windowScale: false } },
];

for (const os of optionSets) {
  test(`clean pipe, ${os.name}: 1 MB each way`, () => {
    check({ seed: 1, aToB: 1 << 20, bToA: 1 << 20, cfgA: { ...os.cfg, timeWaitUs: 30_000_000 }, cfgB: { ...os.cfg, timeWaitUs: 30_000_000 } });
  });
}

for (let i = 0; i < SEEDS; i++) {
  const seed = 1000 + i;
  const os = optionSets[i % optionSets.length]!;
  const loss = [0.01, 0.05, 0.1][i % 3]!;
  test(`lossy pipe seed ${seed}: ${os.name}, loss ${loss}, reorder, dup`, () => {
    console.log(`# seed ${seed}`);
    check({
      seed, aToB: 300_000 + i * 50_000, bToA: 100_000, lossRate: loss, dupRate: 0.01, latencyUs: 2_000, jitterUs: 1_500,
      cfgA: { ...os.cfg, timeWaitUs: 30_000_000 }, cfgB: { ...os.cfg, timeWaitUs: 30_000_000 },
    });
  });
}

for (let i = 0; i < Math.max(2, Math.floor(SEEDS / 2)); i++) {
  const seed = 2000 + i;
  const os = optionSets[i % optionSets.length]!;
  test(`snapshot/restore every 200 segments, seed ${seed}: ${os.name}, loss 5%`, () => {
    console.log(`# seed ${seed}`);
    check({
      seed, aToB: 400_000, bToA: 200_000, lossRate: 0.05, dupRate: 0.01, latencyUs: 1_000, jitterUs: 800, restoreEvery: 200,
      cfgA: { ...os.cfg, timeWaitUs: 30_000_000 }, cfgB: { ...os.cfg, timeWaitUs: 30_000_000 },
    });
  });
}

test('sequence numbers wrap past 2^32 during a lossy transfer (ISN 0xFFFFFF00 - mss)', () => {
  check({
    seed: 77, aToB: 200_000, bToA: 200_000, lossRate: 0.03, jitterUs: 500,
    isnA: 0xffffff00 - 1460, isnB: 0xfffffff0, cfgA: { timeWaitUs: 30_000_000 }, cfgB: { timeWaitUs: 30_000_000 },
  });
});

test('small buffers, slow reader: flow control with zero windows, 10% loss', () => {
  check({
    seed: 5, aToB: 200_000, bToA: 20_000, lossRate: 0.1, jitterUs: 300, readChunk: 700, writeChunk: 333,
    cfgA: { sndBufBytes: 8192, rcvBufBytes: 4096, timeWaitUs: 30_000_000 },
    cfgB: { sndBufBytes: 4096, rcvBufBytes: 3000, timeWaitUs: 30_000_000, nagle: false },
  });
});

test('3 MB one way, 500 KB back, 10% loss with reordering and duplication', () => {
  check({
    seed: 9, aToB: 3_000_000, bToA: 500_000, lossRate: 0.1, dupRate: 0.01, latencyUs: 2_000, jitterUs: 1_000,
    cfgA: { timeWaitUs: 30_000_000 }, cfgB: { timeWaitUs: 30_000_000 },
  });
});

test('3 MB at 10% loss with both sides restored from snapshots every 300 segments: same outcome, same virtual time', () => {
  const base = {
    seed: 9, aToB: 3_000_000, bToA: 500_000, lossRate: 0.1, dupRate: 0.01, latencyUs: 2_000, jitterUs: 1_000,
    cfgA: { timeWaitUs: 30_000_000 }, cfgB: { timeWaitUs: 30_000_000 },
  };
  check({ ...base, restoreEvery: 300 });
  const plain = runPair(base);
  const restored = runPair({ ...base, restoreEvery: 300 });
  assert.ok(restored.restores >= 10);
  assert.equal(restored.timeUs, plain.timeUs, 'a restored connection continues exactly as the original would');
  assert.equal(restored.segments, plain.segments);
});

test('CUBIC congestion control, 1 MB at 5% loss, snapshot/restore every 150 segments (restored by algorithm name)', () => {
  const cfg = { congestion: cubic, timeWaitUs: 30_000_000 };
  check({ seed: 11, aToB: 1_000_000, bToA: 200_000, lossRate: 0.05, jitterUs: 800, restoreEvery: 150, cfgA: cfg, cfgB: cfg });
});
