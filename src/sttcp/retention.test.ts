import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RetentionBuffer } from './retention.js';
import { seqAdd } from '../tcp/seq.js';

function bytesFrom(start: number, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (start + i) & 0xff;
  return b;
}

test('retention: slices across chunks, trimmed by acknowledgements, across sequence wraparound', () => {
  const isn = 0xffffff00 - 1460;
  const r = new RetentionBuffer(isn, 1 << 20);
  let written = 0;
  // Uneven chunks, trimmed as we go, enough of them to compact several times.
  for (let i = 0; i < 5000; i++) {
    const n = 1 + ((i * 7919) % 1500);
    r.append(bytesFrom(written, n));
    written += n;
    if (i % 3 === 2) r.ackTo(seqAdd(isn, written - 4000));
    const at = Math.max(written - 3000, 0);
    const s = r.slice(seqAdd(isn, at), 2500);
    assert.deepEqual(s, bytesFrom(at, Math.min(2500, written - at)), `slice at ${at} after chunk ${i}`);
  }
  assert.equal(r.endSeq(), seqAdd(isn, written));
  assert.equal(r.slice(seqAdd(isn, written - 5000), 10).length, 0, 'trimmed bytes are gone');
  assert.equal(r.slice(seqAdd(isn, written), 10).length, 0, 'nothing beyond the end');
  r.ackTo(seqAdd(isn, written));
  assert.equal(r.length(), 0);
  r.append(bytesFrom(written, 10));
  assert.deepEqual(r.slice(seqAdd(isn, written + 3), 100), bytesFrom(written + 3, 7));
  assert.ok(r.covers(seqAdd(isn, written + 9)) && !r.covers(seqAdd(isn, written + 10)));
});
