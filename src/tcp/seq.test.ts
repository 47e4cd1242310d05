import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seqAdd, seqDiff, seqGt, seqLt, seqInRange } from './seq.js';

test('sequence comparisons hold across the 2^32 wrap', () => {
  const near = 0xffffff00;
  const past = seqAdd(near, 0x200);
  assert.equal(past, 0x100);
  assert.ok(seqLt(near, past));
  assert.ok(seqGt(past, near));
  assert.equal(seqDiff(past, near), 0x200);
  assert.ok(seqInRange(0xfffffff0, near, past));
  assert.ok(!seqInRange(past, near, past));
});
