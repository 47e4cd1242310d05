// The sender's byte store: everything from SND.UNA onward, acknowledged and unsent
// alike, addressed by sequence number (RFC 9293 §3.3.1 send sequence space).
// No segmentation or timing decisions here — those belong to the connection.
import { seqAdd, seqDiff } from './seq.js';

export interface SendBufferSnapshot {
  capacityBytes: number;
  blockBytes: number;
  /** Sequence number of the first buffered byte (SND.UNA once data flows). */
  startSeq: number;
  /** The buffered bytes, in order. */
  data: Uint8Array;
}

/** Default storage block: large enough that most segments are one zero-copy view. */
const DEFAULT_BLOCK_BYTES = 64 * 1024;

/**
 * A bounded FIFO of bytes stored in fixed-size blocks. append() copies the caller's bytes
 * once; slice() returns a view into a block (no copy) unless the range crosses a block
 * edge; ackTo() drops whole blocks. Blocks are never written below their fill mark, so a
 * view handed out stays valid and unchanged even after the bytes are acknowledged.
 */
export class SendBuffer {
  private readonly capacity: number;
  private readonly blockSize: number;
  /** Storage blocks; blocks[0] holds the byte at startSeq at offset headOffset. */
  private blocks: Uint8Array[] = [];
  /** Offset of the first buffered byte inside blocks[0]. */
  private headOffset = 0;
  /** Bytes buffered. */
  private len = 0;
  /** Sequence number of the first buffered byte. */
  private start = 0;

  constructor(capacityBytes: number, blockBytes: number = DEFAULT_BLOCK_BYTES) {
    if (!(Number.isInteger(capacityBytes) && capacityBytes >= 0 && capacityBytes < 0x8000_0000)) {
      throw new RangeError(`SendBuffer: capacity must be an integer in [0, 2^31) (got ${capacityBytes})`);
    }
    if (!(Number.isInteger(blockBytes) && blockBytes > 0)) throw new RangeError('SendBuffer: blockBytes must be > 0');
    this.capacity = capacityBytes;
    this.blockSize = blockBytes;
  }

  /** Empty the buffer and start numbering at `isnPlus1` (the first data byte after our SYN). */
  reset(isnPlus1: number): void {
    this.blocks = [];
    this.headOffset = 0;
    this.len = 0;
    this.start = isnPlus1 >>> 0;
  }

  /** Copy as much of `data` as fits; returns how many bytes were accepted. */
  append(data: Uint8Array): number {
    const n = Math.min(data.length, this.space());
    let done = 0;
    while (done < n) {
      const fill = (this.headOffset + this.len) % this.blockSize;
      if (this.headOffset + this.len >= this.blocks.length * this.blockSize) {
        this.blocks.push(new Uint8Array(this.blockSize)); // every allocated byte is in use
      }
      const tail = this.blocks[this.blocks.length - 1]!;
      const k = Math.min(n - done, this.blockSize - fill);
      tail.set(data.subarray(done, done + k), fill);
      done += k;
      this.len += k;
    }
    return n;
  }

  space(): number { return this.capacity - this.len; }
  length(): number { return this.len; }
  capacityBytes(): number { return this.capacity; }
  startSeq(): number { return this.start; }
  endSeq(): number { return seqAdd(this.start, this.len); }

  /**
   * Up to `maxLen` bytes starting at `seq`. Empty when `seq` is outside [startSeq, endSeq).
   * The result may be a view into internal storage: treat it as read-only.
   */
  slice(seq: number, maxLen: number): Uint8Array {
    const off = seqDiff(seq, this.start);
    if (off < 0 || off >= this.len || maxLen <= 0) return new Uint8Array(0);
    const n = Math.min(maxLen, this.len - off);
    const abs = this.headOffset + off;
    let bi = Math.floor(abs / this.blockSize);
    let bo = abs - bi * this.blockSize;
    if (bo + n <= this.blockSize) return this.blocks[bi]!.subarray(bo, bo + n);
    // Crosses block edges: the one case that copies.
    const out = new Uint8Array(n);
    let done = 0;
    while (done < n) {
      const k = Math.min(n - done, this.blockSize - bo);
      out.set(this.blocks[bi]!.subarray(bo, bo + k), done);
      done += k;
      bi++;
      bo = 0;
    }
    return out;
  }

  /**
   * Drop bytes before `seq` (a cumulative ACK, RFC 9293 §3.10.7.4: SND.UNA <- SEG.ACK).
   * An ACK at or before startSeq does nothing; one beyond endSeq (e.g. covering our FIN)
   * drops everything and moves startSeq to `seq`.
   */
  ackTo(seq: number): void {
    const d = seqDiff(seq, this.start);
    if (d <= 0) return;
    if (d >= this.len) {
      this.blocks = [];
      this.headOffset = 0;
      this.len = 0;
      this.start = seq >>> 0;
      return;
    }
    const abs = this.headOffset + d;
    const drop = Math.floor(abs / this.blockSize);
    if (drop > 0) this.blocks.splice(0, drop);
    this.headOffset = abs - drop * this.blockSize;
    this.len -= d;
    this.start = seq >>> 0;
  }

  snapshot(): SendBufferSnapshot {
    return {
      capacityBytes: this.capacity, blockBytes: this.blockSize, startSeq: this.start,
      data: this.len === 0 ? new Uint8Array(0) : this.slice(this.start, this.len).slice(),
    };
  }

  static restore(s: SendBufferSnapshot): SendBuffer {
    const b = new SendBuffer(s.capacityBytes, s.blockBytes);
    b.reset(s.startSeq);
    const accepted = b.append(s.data);
    if (accepted !== s.data.length) throw new RangeError('SendBuffer.restore: data exceeds capacity');
    return b;
  }
}
