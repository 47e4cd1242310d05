// Payload streams: reproducible from the seed, independent of chunk sizes, hashed as
// produced; sinks count, hash and (for small transfers) keep what they receive.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { PayloadSink, PayloadSource } from './payload.js';

test('the same seed gives the same bytes however they are chunked; another seed differs', () => {
  const whole = new PayloadSource(42, 10_007).next(1 << 20);
  const parts: Uint8Array[] = [];
  const s = new PayloadSource(42, 10_007);
  for (const n of [1, 3, 5, 4096, 7, 10_000]) parts.push(s.next(n));
  assert.equal(s.remaining(), 0);
  assert.deepEqual(Buffer.concat(parts), Buffer.from(whole));
  assert.equal(s.sha256(), createHash('sha256').update(whole).digest('hex'));
  assert.notDeepEqual(new PayloadSource(43, 64).next(64), whole.subarray(0, 64));
  assert.ok(new Set(whole).size > 250, 'bytes are spread over all values');
});

test('the sink counts, hashes and keeps small transfers', () => {
  const src = new PayloadSource(7, 1000);
  const sink = new PayloadSink(2000);
  const all = src.next(1000);
  sink.add(all.subarray(0, 10));
  sink.add(all.subarray(10));
  assert.equal(sink.bytes, 1000);
  assert.equal(sink.sha256(), src.sha256());
  assert.deepEqual(sink.keptBytes(), Buffer.from(all));
  assert.equal(new PayloadSink(0).keptBytes(), undefined);
});
