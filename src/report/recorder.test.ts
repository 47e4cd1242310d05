// ArrivalRecorder: bounded samples, every long-enough gap exact, longest gap exact.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ArrivalRecorder } from './recorder.js';
import { stallAround } from './model.js';

const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
console.log(`recorder.test.ts fast-check seed ${seed} (replay: FC_SEED=${seed} npm test -- src/report/recorder.test.ts)`);

test('property: bounded, a subset of the arrivals, gaps ≥ spacing exact, longest gap exact', () => {
  const arrivals = fc.array(fc.tuple(fc.integer({ min: 0, max: 50_000 }), fc.integer({ min: 1, max: 1500 })), { minLength: 1, maxLength: 3000 });
  fc.assert(fc.property(arrivals, fc.integer({ min: 8, max: 300 }), fc.integer({ min: 1, max: 5000 }), (deltas, max, spacing0) => {
    const rec = new ArrivalRecorder(max, spacing0);
    const exact: Array<[number, number]> = [];
    let t = 0;
    let total = 0;
    for (const [d, n] of deltas) {
      t += d; total += n;
      rec.record(t, n);
      exact.push([t, total]);
    }
    const s = rec.samples();
    assert.ok(s.length < max, `${s.length} samples for max ${max}`);
    assert.deepEqual(s[s.length - 1], exact[exact.length - 1]);
    const known = new Set(exact.map((p) => `${p[0]},${p[1]}`));
    for (const p of s) assert.ok(known.has(`${p[0]},${p[1]}`), `sample ${p} is not an arrival`);
    for (let i = 1; i < s.length; i++) assert.ok(s[i]![0] >= s[i - 1]![0] && s[i]![1] > s[i - 1]![1]);
    const sp = rec.spacingUs();
    const sampleGaps = new Set(s.slice(1).map((p, i) => `${s[i]![0]}-${p[0]}`));
    let longest = 0;
    for (let i = 1; i < exact.length; i++) {
      const gap = exact[i]![0] - exact[i - 1]![0];
      longest = Math.max(longest, gap);
      if (gap >= sp && exact[i]![1] !== exact[i - 1]![1]) assert.ok(sampleGaps.has(`${exact[i - 1]![0]}-${exact[i]![0]}`), `gap ${gap} ≥ spacing ${sp} lost`);
    }
    if (exact.length > 1) assert.equal(rec.longestGap()!.endUs - rec.longestGap()!.startUs, longest);
    assert.equal(rec.total(), total);
    // The pause around any instant: exact when reported exact, else the true one is shorter than the spacing.
    for (const at of [0, Math.floor(t / 3), Math.floor(t / 2), t - 1]) {
      const truth = stallAround(exact, at);
      const p = rec.pauseAround(at);
      assert.equal(p === undefined, truth === undefined, `pause around ${at}`);
      if (!p || !truth) continue;
      if (p.exact) assert.deepEqual({ startUs: p.startUs, endUs: p.endUs }, truth);
      else assert.ok(truth.endUs - truth.startUs < sp && p.endUs - p.startUs < sp, `inexact pause ${JSON.stringify(p)} vs ${JSON.stringify(truth)}, spacing ${sp}`);
    }
  }), { seed, numRuns: Number(process.env.FC_RUNS ?? 150) });
});

test('a 40 ms pause in a 10 s download at 1 kHz survives in 512 samples and is measured exactly', () => {
  const rec = new ArrivalRecorder(512, 100);
  rec.mark(0);
  for (let t = 1_000; t <= 10_000_000; t += 1_000) {
    if (t > 5_000_000 && t < 5_040_500) continue;
    rec.record(t, 1448);
  }
  const s = rec.samples();
  assert.ok(s.length < 512);
  assert.deepEqual(s[0], [0, 0]);
  assert.deepEqual(stallAround(s, 5_010_000), { startUs: 5_000_000, endUs: 5_041_000 });
  assert.deepEqual(rec.longestGap(), { startUs: 5_000_000, endUs: 5_041_000 });
  assert.ok(rec.spacingUs() <= 41_000);
});

test('bad input is ignored and time never steps back', () => {
  const rec = new ArrivalRecorder(16);
  rec.record(NaN, 5);
  rec.record(10, -1);
  rec.record(10, 0);
  assert.deepEqual(rec.samples(), []);
  rec.record(100, 5);
  rec.record(50, 5);
  assert.deepEqual(rec.samples(), [[100, 5], [100, 10]]);
  assert.throws(() => new ArrivalRecorder(2), RangeError);
});

test('toReportConnection carries the samples, the pause around the crash and the verdict fields', () => {
  const rec = new ArrivalRecorder(64, 100);
  rec.mark(0);
  for (let t = 1_000; t <= 100_000; t += 1_000) if (t <= 50_000 || t >= 80_000) rec.record(t, 100);
  const c = rec.toReportConnection('c1', { crashUs: 50_500, ok: true, sha256: 'ab' });
  assert.equal(c.pauseUs, 30_000);
  assert.equal(c.bytes, 7_100);
  assert.equal(c.sha256, 'ab');
  assert.ok(!('note' in c));
  assert.deepEqual(c.samples, rec.samples());
  assert.ok(!('pauseUs' in rec.toReportConnection('c2', { ok: false, note: 'reset' })));
});

test('toReportCall: one count per RTP packet, the exact largest gap in ms', () => {
  const rec = new ArrivalRecorder(32, 100);
  for (let t = 0; t <= 2_000_000; t += 20_000) if (t < 1_000_000 || t >= 1_060_000) rec.record(t, 1);
  const call = rec.toReportCall('call-1', { preserved: true });
  assert.equal(call.gapMsMax, 80);
  assert.equal(call.rtp[call.rtp.length - 1]![1], 98);
  assert.ok(call.rtp.length < 32);
  assert.deepEqual(new ArrivalRecorder().toReportCall('x', { preserved: false }), { id: 'x', rtp: [], gapMsMax: 0, preserved: false });
});
