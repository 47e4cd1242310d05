import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SeededRng } from './rng.js';

test('SeededRng: same seed gives the same stream, different seeds differ', () => {
  const a = new SeededRng(42), b = new SeededRng(42), c = new SeededRng(43);
  const sa = Array.from({ length: 16 }, () => a.nextU32());
  const sb = Array.from({ length: 16 }, () => b.nextU32());
  const sc = Array.from({ length: 16 }, () => c.nextU32());
  assert.deepEqual(sa, sb);
  assert.notDeepEqual(sa, sc);
  for (const x of sa) assert.ok(Number.isInteger(x) && x >= 0 && x < 2 ** 32);
});

test('SeededRng: nextInt is roughly uniform', () => {
  const r = new SeededRng(7);
  const counts = new Array(10).fill(0);
  for (let i = 0; i < 100_000; i++) counts[r.nextInt(10)]++;
  for (const n of counts) assert.ok(n > 9_000 && n < 11_000, `bucket ${n}`);
});
