// The primary's retention buffer for one connection (DESIGN §ST-TCP 2): client bytes its
// application already read that the backup has not yet acknowledged. The backup's
// range requests are answered from it, and it is trimmed by the backup's acknowledgements.
import { seqAdd, seqDiff, seqGt, seqLe, seqLt } from '../tcp/seq.js';

export class RetentionBuffer {
  private chunks: Uint8Array[] = [];
  /** Sequence number of the first retained byte. */
  private start: number;
  private bytes = 0;

  constructor(startSeq: number, readonly capacityBytes: number) {
    this.start = startSeq >>> 0;
  }

  /** Bytes the application read, in order. The caller pauses reading while isFull(). */
  append(data: Uint8Array): void {
    if (data.length === 0) return;
    this.chunks.push(data.slice());
    this.bytes += data.length;
  }

  isFull(): boolean { return this.bytes >= this.capacityBytes; }
  length(): number { return this.bytes; }
  startSeq(): number { return this.start; }
  endSeq(): number { return seqAdd(this.start, this.bytes); }

  /** The backup holds everything before `seq`. */
  ackTo(seq: number): void {
    if (!seqGt(seq, this.start)) return;
    let drop = Math.min(seqDiff(seq, this.start), this.bytes);
    while (drop > 0 && this.chunks.length > 0) {
      const c = this.chunks[0]!;
      if (c.length <= drop) { this.chunks.shift(); drop -= c.length; this.bytes -= c.length; this.start = seqAdd(this.start, c.length); }
      else { this.chunks[0] = c.subarray(drop); this.bytes -= drop; this.start = seqAdd(this.start, drop); drop = 0; }
    }
  }

  /** Retained bytes in [seq, seq + maxLen), clipped to what is held; empty when none. */
  slice(seq: number, maxLen: number): Uint8Array {
    if (seqLt(seq, this.start) || !seqLt(seq, this.endSeq()) || maxLen <= 0) return new Uint8Array(0);
    let skip = seqDiff(seq, this.start);
    const want = Math.min(maxLen, this.bytes - skip);
    const out = new Uint8Array(want);
    let o = 0;
    for (const c of this.chunks) {
      if (o >= want) break;
      if (skip >= c.length) { skip -= c.length; continue; }
      const take = Math.min(c.length - skip, want - o);
      out.set(c.subarray(skip, skip + take), o);
      o += take;
      skip = 0;
    }
    return out;
  }

  /** Whether `seq` is at or before the end of what is retained (a request the buffer can serve). */
  covers(seq: number): boolean {
    return seqLe(this.start, seq) && seqLt(seq, this.endSeq());
  }
}
