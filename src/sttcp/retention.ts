// The primary's retention buffer for one connection (DESIGN §ST-TCP 2): client bytes its
// application already read that the backup has not yet acknowledged. The backup's
// range requests are answered from it, and it is trimmed by the backup's acknowledgements.
//
// The bytes are copied into fixed-size blocks, not kept as one copy per segment (an
// ArrayBuffer per 1,448 bytes, about 70,000 per 100 MB echoed, each for the garbage
// collector to track and free). Blocks the backup has acknowledged go back to a pool the
// primary's connections share (BlockPool, bounded), and appends take from it: a stream
// whose acknowledgements free several blocks at once allocates nothing once the pool
// holds what its acknowledgement cadence keeps in flight.
import { seqAdd, seqDiff, seqGt, seqLe, seqLt } from '../tcp/seq.js';

/** Bytes per block (a power of two). */
const BLOCK_SHIFT = 14;
const BLOCK = 1 << BLOCK_SHIFT;
const BLOCK_MASK = BLOCK - 1;

/** Blocks free for any retention buffer to take, at most `maxFree` of them (the rest are left to the collector). */
export class BlockPool {
  private readonly free: Uint8Array[] = [];
  /** Blocks made because the pool was empty (for tests and counters). */
  allocated = 0;

  constructor(readonly maxFree: number) {}

  take(): Uint8Array {
    const b = this.free.pop();
    if (b !== undefined) return b;
    this.allocated++;
    return new Uint8Array(BLOCK);
  }

  give(b: Uint8Array): void {
    if (this.free.length < this.maxFree) this.free.push(b);
  }

  freeBlocks(): number { return this.free.length; }
}

export class RetentionBuffer {
  /** Blocks; byte `off` (from `origin`) is at blocks[off >> BLOCK_SHIFT][off & BLOCK_MASK]. */
  private readonly blocks: Uint8Array[] = [];
  /** Sequence number of the first block's first byte. */
  private origin: number;
  /** Offset of the first retained byte (within the first block). */
  private startOff = 0;
  private bytes = 0;

  /** `pool`: where blocks come from and go back to (default: one of this buffer's own, holding one spare). */
  constructor(startSeq: number, readonly capacityBytes: number, private readonly pool: BlockPool = new BlockPool(1)) {
    this.origin = startSeq >>> 0;
  }

  /**
   * Bytes the application read, in order (copied). The caller pauses reading while
   * isFull(), so what is held passes the capacity by one delivery at most.
   */
  append(data: Uint8Array): void {
    let from = 0;
    while (from < data.length) {
      const end = this.startOff + this.bytes;
      const bi = end >> BLOCK_SHIFT;
      if (bi === this.blocks.length) this.blocks.push(this.pool.take());
      const at = end & BLOCK_MASK;
      const n = Math.min(data.length - from, BLOCK - at);
      this.blocks[bi]!.set(n === data.length ? data : data.subarray(from, from + n), at);
      from += n;
      this.bytes += n;
    }
  }

  /** Blocks this buffer holds (memory: this × 16 KB; its pool's free blocks apart). */
  heldBlocks(): number { return this.blocks.length; }

  /** The buffer is done with (its connection closed, or retention restarted): its blocks go back to the pool. */
  release(): void {
    for (const b of this.blocks.splice(0)) this.pool.give(b);
    this.startOff = 0;
    this.bytes = 0;
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
    // Whole blocks behind the first retained byte go back to the pool.
    while (this.startOff >= BLOCK && this.blocks.length > 0) {
      this.pool.give(this.blocks.shift()!);
      this.startOff -= BLOCK;
      this.origin = seqAdd(this.origin, BLOCK);
    }
  }

  /** Retained bytes in [seq, seq + maxLen), clipped to what is held; empty when none. */
  slice(seq: number, maxLen: number): Uint8Array {
    if (seqLt(seq, this.startSeq()) || !seqLt(seq, this.endSeq()) || maxLen <= 0) return new Uint8Array(0);
    let off = this.startOff + seqDiff(seq, this.startSeq());
    const want = Math.min(maxLen, this.startOff + this.bytes - off);
    const out = new Uint8Array(want);
    for (let o = 0; o < want;) {
      const at = off & BLOCK_MASK;
      const n = Math.min(want - o, BLOCK - at);
      out.set(this.blocks[off >> BLOCK_SHIFT]!.subarray(at, at + n), o);
      o += n;
      off += n;
    }
    return out;
  }

  /** Whether `seq` is at or before the end of what is retained (a request the buffer can serve). */
  covers(seq: number): boolean {
    return seqLe(this.startSeq(), seq) && seqLt(seq, this.endSeq());
  }
}
