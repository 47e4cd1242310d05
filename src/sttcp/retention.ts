// The primary's retention buffer for one connection (DESIGN §ST-TCP 2): client bytes its
// application already read that the backup has not yet acknowledged. The backup's
// range requests are answered from it, and it is trimmed by the backup's acknowledgements.
// Chunks are kept with their offsets from a fixed origin, so trimming is O(1) amortised
// and a slice finds its first chunk by binary search (a catching-up backup asks for
// many slices of a full buffer).
import { seqAdd, seqDiff, seqGt, seqLe, seqLt } from '../tcp/seq.js';

export class RetentionBuffer {
  /** Retained chunks; those before `head` are trimmed (compacted now and then). */
  private chunks: Uint8Array[] = [];
  /** Offset from `origin` of each chunk's first byte. */
  private offsets: number[] = [];
  private head = 0;
  /** Sequence number that offset 0 stands for. */
  private origin: number;
  /** Offset of the first retained byte. */
  private startOff = 0;
  private bytes = 0;

  constructor(startSeq: number, readonly capacityBytes: number) {
    this.origin = startSeq >>> 0;
  }

  /** Bytes the application read, in order. The caller pauses reading while isFull(). */
  append(data: Uint8Array): void {
    if (data.length === 0) return;
    this.chunks.push(data.slice());
    this.offsets.push(this.startOff + this.bytes);
    this.bytes += data.length;
  }

  isFull(): boolean { return this.bytes >= this.capacityBytes; }
  length(): number { return this.bytes; }
  startSeq(): number { return seqAdd(this.origin, this.startOff); }
  endSeq(): number { return seqAdd(this.origin, this.startOff + this.bytes); }

  /** The backup holds everything before `seq`. */
  ackTo(seq: number): void {
    const start = this.startSeq();
    if (!seqGt(seq, start)) return;
    const drop = Math.min(seqDiff(seq, start), this.bytes);
    this.startOff += drop;
    this.bytes -= drop;
    const endOff = this.startOff;
    while (this.head < this.chunks.length && this.offsets[this.head]! + this.chunks[this.head]!.length <= endOff) this.head++;
    if (this.head > 1024 && this.head * 2 > this.chunks.length) this.compact();
  }

  /** Retained bytes in [seq, seq + maxLen), clipped to what is held; empty when none. */
  slice(seq: number, maxLen: number): Uint8Array {
    if (seqLt(seq, this.startSeq()) || !seqLt(seq, this.endSeq()) || maxLen <= 0) return new Uint8Array(0);
    const off = this.startOff + seqDiff(seq, this.startSeq());
    const want = Math.min(maxLen, this.startOff + this.bytes - off);
    // The last chunk starting at or before `off`.
    let lo = this.head;
    let hi = this.chunks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.offsets[mid]! <= off) lo = mid; else hi = mid - 1;
    }
    const out = new Uint8Array(want);
    let o = 0;
    for (let i = lo; i < this.chunks.length && o < want; i++) {
      const c = this.chunks[i]!;
      const skip = i === lo ? off - this.offsets[i]! : 0;
      const take = Math.min(c.length - skip, want - o);
      out.set(c.subarray(skip, skip + take), o);
      o += take;
    }
    return out;
  }

  /** Whether `seq` is at or before the end of what is retained (a request the buffer can serve). */
  covers(seq: number): boolean {
    return seqLe(this.startSeq(), seq) && seqLt(seq, this.endSeq());
  }

  /** Drops trimmed chunks and rebases the offsets (they stay small integers). */
  private compact(): void {
    const base = this.head < this.offsets.length ? this.offsets[this.head]! : this.startOff;
    this.chunks = this.chunks.slice(this.head);
    this.offsets = this.offsets.slice(this.head).map((x) => x - base);
    this.head = 0;
    this.origin = seqAdd(this.origin, base);
    this.startOff -= base;
  }
}
