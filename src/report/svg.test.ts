// Unit and property tests for the SVG primitives: finite output, scales, ticks, downsampling bounds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { byteUnitFor, downsample, esc, linearScale, niceTicks, num, stepPath, tickLabel, timeUnitFor, valueAt } from './svg.js';
import type { Point } from './svg.js';

const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
console.log(`svg.test.ts fast-check seed ${seed} (replay: FC_SEED=${seed} npm test -- src/report/svg.test.ts)`);

test('num never prints NaN or Infinity and has at most one decimal', () => {
  assert.equal(num(NaN), '0');
  assert.equal(num(Infinity), '0');
  assert.equal(num(-Infinity), '0');
  assert.equal(num(-0.01), '0');
  assert.equal(num(12.345), '12.3');
  assert.equal(num(-3), '-3');
});

test('linearScale with a zero-width or non-finite domain still maps to finite values', () => {
  for (const [a, b] of [[5, 5], [0, 0], [NaN, NaN], [Infinity, 3], [7, 2]] as const) {
    const s = linearScale(a, b, 10, 110);
    for (const v of [a, b, 0, 1e9]) {
      if (Number.isFinite(v)) assert.ok(Number.isFinite(s(v)), `scale(${a},${b})(${v}) = ${s(v)}`);
    }
    assert.ok(s.domain[1] > s.domain[0]);
  }
  const s = linearScale(0, 100, 0, 200);
  assert.equal(s(50), 100);
});

test('niceTicks: ascending, inside the range, round steps, bounded count', () => {
  fc.assert(fc.property(fc.double({ min: -1e9, max: 1e9, noNaN: true }), fc.double({ min: 1e-3, max: 1e9, noNaN: true }), fc.integer({ min: 1, max: 12 }), (lo, span, count) => {
    const hi = lo + span;
    const t = niceTicks(lo, hi, count);
    assert.ok(t.length >= 1 && t.length <= count * 2 + 2, `${t.length} ticks for count ${count}`);
    for (let i = 1; i < t.length; i++) assert.ok(t[i]! > t[i - 1]!);
    // Rounding tolerance: relative to the span, plus double-precision error at the range's magnitude.
    const tol = span * 1e-6 + (Math.abs(lo) + Math.abs(hi)) * 1e-15;
    for (const v of t) assert.ok(v >= lo - tol && v <= hi + tol, `${v} outside [${lo}, ${hi}]`);
  }), { seed, numRuns: 300 });
  assert.deepEqual(niceTicks(0, 100, 5), [0, 20, 40, 60, 80, 100]);
});

test('units follow the magnitude', () => {
  assert.equal(timeUnitFor(800).unit, 'µs');
  assert.equal(timeUnitFor(80_000).unit, 'ms');
  assert.equal(timeUnitFor(8_000_000).unit, 's');
  assert.equal(byteUnitFor(100).unit, 'B');
  assert.equal(byteUnitFor(200 * 1024 * 1024).unit, 'MiB');
});

test('downsample keeps at most maxPoints points, in order, from the input, with first and last kept', () => {
  const series = fc.array(fc.tuple(fc.integer({ min: 0, max: 10_000_000 }), fc.integer({ min: 0, max: 1e9 })), { maxLength: 3000 })
    .map((a) => a.sort((p, q) => p[0] - q[0]) as Point[]);
  fc.assert(fc.property(series, fc.integer({ min: 4, max: 700 }), (pts, max) => {
    const out = downsample(pts, max);
    assert.ok(out.length <= Math.max(max, 4), `${out.length} > ${max}`);
    if (pts.length === 0) { assert.equal(out.length, 0); return; }
    assert.deepEqual(out[0], pts[0]);
    assert.deepEqual(out[out.length - 1], pts[pts.length - 1]);
    const input = new Set(pts.map((p) => `${p[0]},${p[1]}`));
    for (const p of out) assert.ok(input.has(`${p[0]},${p[1]}`));
    for (let i = 1; i < out.length; i++) assert.ok(out[i]![0] >= out[i - 1]![0]);
  }), { seed, numRuns: 200 });
});

test('downsample keeps a plateau (the pause) visible: no point lands inside a gap', () => {
  const pts: Point[] = [];
  for (let t = 0; t < 1_000_000; t += 100) pts.push([t, t]);
  for (let t = 1_050_000; t < 2_000_000; t += 100) pts.push([t, t]);
  const out = downsample(pts, 200);
  assert.ok(out.length <= 200);
  assert.ok(!out.some((p) => p[0] > 999_900 && p[0] < 1_050_000));
  assert.ok(out.some((p) => p[0] === 999_900), 'last point before the gap kept');
  assert.ok(out.some((p) => p[0] === 1_050_000), 'first point after the gap kept');
});

test('downsample drops non-finite points', () => {
  assert.deepEqual(downsample([[0, 1], [NaN, 2], [2, Infinity], [3, 4]], 10), [[0, 1], [3, 4]]);
});

test('stepPath holds each value until the next sample', () => {
  assert.equal(stepPath([[0, 10], [5, 8], [9, 2]]), 'M0,10H5V8H9V2');
  assert.equal(stepPath([]), '');
});

test('valueAt is the last sample at or before t, 0 before the first', () => {
  const s: Point[] = [[10, 1], [20, 5], [30, 9]];
  assert.equal(valueAt(s, 5), 0);
  assert.equal(valueAt(s, 10), 1);
  assert.equal(valueAt(s, 25), 5);
  assert.equal(valueAt(s, 99), 9);
});

test('esc escapes markup and quotes', () => {
  assert.equal(esc(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
});

test('tick labels carry the decimals their step needs', () => {
  assert.deepEqual([0, 2.5, 5, 7.5].map((v) => tickLabel(v, 2.5)), ['0.0', '2.5', '5.0', '7.5']);
  assert.deepEqual([0.25, 0.5].map((v) => tickLabel(v, 0.25)), ['0.25', '0.50']);
  assert.equal(tickLabel(1200, 20), '1200');
  assert.equal(tickLabel(0.30000000000000004, 0.1), '0.3');
  assert.equal(tickLabel(-0.0000001, 0.1), '0.0');
});
