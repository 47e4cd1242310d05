// The blob app's byte pattern: byte i of every blob is PATTERN[i mod 65521], a fixed
// xorshift table, so any N bytes can be generated at any offset and checked by anyone.
// Only the pattern and its digest live here; the app that serves it is blob.ts.
import { createHash } from 'node:crypto';

/** Period of the pattern: a prime, so it never lines up with power-of-two chunk sizes. */
export const BLOB_PERIOD_BYTES = 65521;

const table = buildTable();

function buildTable(): Uint8Array {
  // Twice the period, so any chunk of up to one period is a single subarray.
  const t = new Uint8Array(BLOB_PERIOD_BYTES * 2);
  let x = 0x2545f491;
  for (let i = 0; i < BLOB_PERIOD_BYTES; i++) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    t[i] = x & 0xff;
  }
  t.copyWithin(BLOB_PERIOD_BYTES, 0, BLOB_PERIOD_BYTES);
  return t;
}

/** Bytes [offset, offset+length) of the blob pattern (a fresh copy). */
export function blobChunk(offset: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const start = (offset + done) % BLOB_PERIOD_BYTES;
    const n = Math.min(length - done, BLOB_PERIOD_BYTES);
    out.set(table.subarray(start, start + n), done);
    done += n;
  }
  return out;
}

/** Hex SHA-256 of the first `n` bytes of the pattern (what `sha256sum` prints for a blob of n bytes). */
export function blobSha256(n: number): string {
  const h = createHash('sha256');
  const step = BLOB_PERIOD_BYTES * 16;
  for (let off = 0; off < n; off += step) h.update(blobChunk(off, Math.min(step, n - off)));
  return h.digest('hex');
}
