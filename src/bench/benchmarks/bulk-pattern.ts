// Test data for bulk-transfer benchmarks: a deterministic pseudo-random pattern the
// sender streams from and the receiver checks against, so every byte is verified.
import { SeededRng } from '../../util/rng.js';

export class BulkPattern {
  readonly bytes: Uint8Array;

  constructor(seed: number, lengthBytes = 1 << 20) {
    const rng = new SeededRng(seed);
    this.bytes = new Uint8Array(lengthBytes);
    const v = new DataView(this.bytes.buffer);
    for (let i = 0; i + 4 <= lengthBytes; i += 4) v.setUint32(i, rng.nextU32());
  }

  /** The stream bytes at [offset, offset + maxLen) without crossing the pattern's end. */
  chunkAt(offset: number, maxLen: number): Uint8Array {
    const at = offset % this.bytes.length;
    return this.bytes.subarray(at, at + Math.min(maxLen, this.bytes.length - at));
  }

  /** True when `data` equals the stream at `offset` (memcmp per pattern wrap). */
  matches(offset: number, data: Uint8Array): boolean {
    let done = 0;
    while (done < data.length) {
      const want = this.chunkAt(offset + done, data.length - done);
      if (Buffer.compare(Buffer.from(want.buffer, want.byteOffset, want.length),
        Buffer.from(data.buffer, data.byteOffset + done, want.length)) !== 0) return false;
      done += want.length;
    }
    return true;
  }
}
