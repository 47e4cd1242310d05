import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BlockPool, RetentionBuffer } from './retention.js';
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

test('retention: one delivery spanning several blocks; a stream reuses its blocks; acknowledged to the end it holds at most one', () => {
  const isn = 0xfffff000;
  const r = new RetentionBuffer(isn, 1 << 20);
  r.append(bytesFrom(0, 50_000));
  for (const at of [0, 16_383, 16_384, 32_767, 32_768, 49_000]) {
    assert.deepEqual(r.slice(seqAdd(isn, at), 3000), bytesFrom(at, Math.min(3000, 50_000 - at)), `slice at ${at}`);
  }
  assert.equal(r.heldBlocks(), 4);
  r.ackTo(seqAdd(isn, 40_000));
  assert.equal(r.slice(seqAdd(isn, 39_999), 10).length, 0, 'acknowledged bytes are gone');
  assert.deepEqual(r.slice(seqAdd(isn, 40_000), 20_000), bytesFrom(40_000, 10_000));
  // Streaming 10 MB in segments, acknowledged a little behind: the blocks are reused.
  let written = 50_000;
  for (let i = 0; i < 7000; i++) {
    r.append(bytesFrom(written, 1448));
    written += 1448;
    r.ackTo(seqAdd(isn, written - 20_000));
    assert.ok(r.heldBlocks() <= 4, `${r.heldBlocks()} blocks after segment ${i}`);
  }
  assert.deepEqual(r.slice(seqAdd(isn, written - 20_000), 20_000), bytesFrom(written - 20_000, 20_000));
  r.ackTo(seqAdd(isn, written));
  assert.equal(r.length(), 0);
  assert.ok(r.heldBlocks() <= 1, `${r.heldBlocks()} blocks held when idle`);
  assert.equal(r.endSeq(), seqAdd(isn, written));
});

test('retention: streams acknowledged 64 KB at a time take their blocks from the shared pool, allocating none once it holds a cadence\'s worth', () => {
  const pool = new BlockPool(64);
  const isns = [0xfffff000, 12345];
  const bufs = isns.map((isn) => new RetentionBuffer(isn, 1 << 20, pool));
  const written = [0, 0];
  let allocatedAfterWarmup = 0;
  for (let round = 0; round < 200; round++) {
    if (round === 10) allocatedAfterWarmup = pool.allocated;
    bufs.forEach((r, i) => {
      // 96 KB in segments, then the backup's acknowledgement of all but the last 8 KB.
      for (let k = 0; k < 66; k++) { r.append(bytesFrom(written[i]!, 1448)); written[i]! += 1448; }
      r.ackTo(seqAdd(isns[i]!, written[i]! - 8192));
    });
  }
  assert.equal(pool.allocated, allocatedAfterWarmup, 'no block allocated after the first rounds');
  assert.ok(allocatedAfterWarmup <= 20, `${allocatedAfterWarmup} blocks allocated in all`);
  bufs.forEach((r, i) => assert.deepEqual(r.slice(seqAdd(isns[i]!, written[i]! - 8192), 8192), bytesFrom(written[i]! - 8192, 8192)));
  // A closed connection's blocks go back to the pool, which keeps at most maxFree.
  const before = pool.freeBlocks();
  const held = bufs[0]!.heldBlocks();
  bufs[0]!.release();
  assert.equal(bufs[0]!.heldBlocks(), 0);
  assert.equal(pool.freeBlocks(), Math.min(64, before + held));
  const big = new RetentionBuffer(0, 4 << 20, pool);
  big.append(new Uint8Array(2 << 20));
  big.release();
  assert.equal(pool.freeBlocks(), 64, 'the pool is bounded');
});
