import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { BlobApp } from './blob.js';
import { BLOB_PERIOD_BYTES, blobChunk, blobSha256 } from './blob-pattern.js';
import { MemConnection, checkSplitsAndSnapshots, runScript } from './mem-connection.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

test('blob pattern: chunks agree with the whole at any offset and across the period', () => {
  const whole = blobChunk(0, BLOB_PERIOD_BYTES * 2 + 100);
  for (const [off, len] of [[0, 10], [BLOB_PERIOD_BYTES - 3, 7], [BLOB_PERIOD_BYTES, 5], [12345, BLOB_PERIOD_BYTES + 50]]) {
    assert.deepEqual(blobChunk(off, len), whole.subarray(off, off + len));
  }
  assert.notDeepEqual(whole.subarray(0, 16), new Uint8Array(16));
});

test('blobSha256(n) is the sha256 of the first n pattern bytes', () => {
  for (const n of [0, 1, 1000, BLOB_PERIOD_BYTES * 16 + 1]) {
    assert.equal(blobSha256(n), createHash('sha256').update(blobChunk(0, n)).digest('hex'));
  }
  // Pinned so that clients outside this code base can rely on the pattern.
  assert.equal(blobSha256(0), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
});

test('blob answers pipelined requests at any split, window and snapshot point', () => {
  const input = enc.encode('5\n0\r\n17\n3\n');
  const out = checkSplitsAndSnapshots(() => new BlobApp(), input, { windowBytes: 4 });
  const want = [5, 0, 17, 3].map((n) => blobChunk(0, n));
  assert.deepEqual(out, new Uint8Array(Buffer.concat(want)));
});

test('blob rejects a bad request with an error line and closes', () => {
  const { out, conn } = runScript(new BlobApp().service, enc.encode('12x\n5\n'), [], {});
  assert.equal(dec.decode(out), 'ERR not-a-number\n');
  assert.equal(conn.ended, true);
  const big = runScript(new BlobApp({ maxRequestBytes: 100 }).service, enc.encode('101\n'), [], {});
  assert.equal(dec.decode(big.out), 'ERR too-large\n');
  const long = runScript(new BlobApp().service, enc.encode('1'.repeat(40)), [], { end: false });
  assert.equal(dec.decode(long.out), 'ERR line-too-long\n');
});

test('blob in on-connect mode streams N bytes through a small window, then closes', () => {
  const c = new MemConnection('c', 1000);
  c.attach(new BlobApp({ bytesOnConnect: 300_000 }).service);
  c.drainAll();
  assert.equal(c.ended, true);
  assert.equal(createHash('sha256').update(c.output()).digest('hex'), blobSha256(300_000));
});
