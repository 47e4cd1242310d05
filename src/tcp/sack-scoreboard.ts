// The sender's SACK scoreboard and the RFC 6675 loss-recovery queries on it (IsLost,
// SetPipe, NextSeg). Bounded in blocks. Choosing what to send and when (cwnd vs pipe,
// recovery entry/exit, RTO) belongs to the connection; SACK parsing to src/wire/tcp.ts.
import type { SackBlock } from '../wire/tcp.js';
import { seqAdd, seqDiff } from './seq.js';

export type NextSegKind = 'rule1' | 'rule3' | 'rule4';

export interface NextSeg {
  seq: number;
  len: number;
  /** Which NextSeg() rule of RFC 6675 §4 chose it. Rule 2 (new data) is the caller's and
   *  takes precedence over rules 3 and 4 when the window and the send buffer allow. */
  kind: NextSegKind;
}

export interface SackScoreboardSnapshot {
  maxBlocks: number;
  /** SACKed ranges [left, right), ascending, disjoint and non-adjacent. */
  ranges: SackBlock[];
}

/** A single SACK block larger than this is nonsense (no window is that large). */
const BLOCK_BYTES_MAX = 0x4000_0000;

/**
 * Ranges are kept merged and ascending. Queries work on range arithmetic, not per segment,
 * so their cost is O(ranges) <= O(maxBlocks) whatever the flight size. IsLost is monotonic
 * (a lower unSACKed byte has at least as much SACKed data above it), so there is one
 * boundary below which every unSACKed byte is lost; SetPipe and NextSeg use it.
 *
 * Conventions: `highRxt` is the sequence number just past the highest byte retransmitted in
 * this recovery (sndUna when nothing was); highestSacked() is the right edge (exclusive)
 * of the highest SACKed range.
 */
export class SackScoreboard {
  private readonly maxBlocks: number;
  private ranges: Array<{ left: number; right: number }> = [];
  private sacked = 0;

  constructor(maxBlocks = 64) {
    if (!(Number.isInteger(maxBlocks) && maxBlocks >= 1)) throw new RangeError('SackScoreboard: maxBlocks must be >= 1');
    this.maxBlocks = maxBlocks;
  }

  /**
   * Merge the SACK blocks of one ACK (RFC 6675 §5 "Update()"); returns newly SACKed bytes.
   * Blocks at or below sndUna (D-SACK, RFC 2883) are ignored; blocks with right <= left,
   * absurd lengths, or beyond `sndNxt` when given (RFC 2018 §4: must be data we sent) are
   * ignored as bad input. Beyond maxBlocks ranges, the lowest are forgotten: that can only
   * cause a spurious retransmission, never a missed one.
   */
  update(sndUna: number, blocks: readonly SackBlock[], sndNxt?: number): number {
    this.discardBelow(sndUna);
    let added = 0;
    for (const b of blocks) {
      const len = seqDiff(b.right, b.left);
      if (len <= 0 || len > BLOCK_BYTES_MAX) continue;
      if (seqDiff(b.right, sndUna) <= 0) continue; // D-SACK or stale
      if (sndNxt !== undefined && seqDiff(b.right, sndNxt) > 0) continue;
      const left = seqDiff(b.left, sndUna) < 0 ? sndUna >>> 0 : b.left >>> 0;
      added += this.addRange(left, b.right >>> 0, sndUna);
    }
    while (this.ranges.length > this.maxBlocks) {
      const r = this.ranges.shift()!;
      this.sacked -= seqDiff(r.right, r.left);
    }
    return added;
  }

  isSacked(seq: number): boolean {
    for (const r of this.ranges) {
      if (seqDiff(seq, r.left) < 0) return false;
      if (seqDiff(seq, r.right) < 0) return true;
    }
    return false;
  }

  /**
   * RFC 6675 §4 IsLost(SeqNum): true when DupThresh discontiguous SACKed sequences lie above
   * it, or more than (DupThresh - 1) * SMSS bytes above it are SACKed. A SACKed byte is not lost.
   */
  isLost(seq: number, mss: number, dupThresh = 3): boolean {
    let count = 0;
    let bytes = 0;
    for (let i = this.ranges.length - 1; i >= 0; i--) {
      const r = this.ranges[i]!;
      if (seqDiff(r.right, seq) <= 0) break;
      if (seqDiff(r.left, seq) <= 0) return false; // seq is SACKed
      count++;
      bytes += seqDiff(r.right, r.left);
    }
    return count >= dupThresh || bytes > (dupThresh - 1) * mss;
  }

  /**
   * RFC 6675 §4 SetPipe(): for every unSACKed byte in [sndUna, sndNxt), count it once if it
   * is not lost, and once more if it was retransmitted in this recovery (below highRxt).
   * In bytes; the RFC's per-segment loop gives the same sum at segment granularity.
   */
  pipe(sndUna: number, sndNxt: number, highRxt: number, mss: number, dupThresh = 3): number {
    const flight = seqDiff(sndNxt, sndUna);
    if (flight <= 0) return 0;
    const lostEnd = this.lostBoundary(sndUna, mss, dupThresh); // offset from sndUna
    const notLost = this.unsackedBetween(sndUna, Math.min(lostEnd, flight), flight);
    const rxtEnd = Math.min(Math.max(0, seqDiff(highRxt, sndUna)), flight);
    const retransmitted = this.unsackedBetween(sndUna, 0, rxtEnd);
    return notLost + retransmitted;
  }

  /** RFC 6675 §4 NextSeg(), rules 1, 3 and 4 (rule 2, new data, is the caller's). */
  nextSeg(sndUna: number, sndNxt: number, highRxt: number, mss: number, dupThresh = 3): NextSeg | undefined {
    const flight = seqDiff(sndNxt, sndUna);
    if (flight <= 0 || mss <= 0) return undefined;
    // Rules 1.a / 3 / 4: start after what this recovery already retransmitted.
    const from = Math.max(0, seqDiff(highRxt, sndUna));
    const hole = this.firstUnsackedAtOrAfter(sndUna, from, flight);
    if (hole === undefined) return undefined;
    const [start, holeEnd] = hole; // offsets from sndUna; holeEnd = next SACKed left edge or flight
    const len = Math.min(mss, holeEnd - start);
    const seq = seqAdd(sndUna, start);
    const top = this.ranges.length === 0 ? 0 : seqDiff(this.ranges[this.ranges.length - 1]!.right, sndUna);
    // Rule 1: S2 > HighRxt (1.a), below the highest SACKed byte (1.b), IsLost(S2) (1.c).
    if (start < top && start < this.lostBoundary(sndUna, mss, dupThresh)) return { seq, len, kind: 'rule1' };
    // Rule 3: 1.a and 1.b hold but not 1.c.
    if (start < top) return { seq, len, kind: 'rule3' };
    // Rule 4: outstanding unSACKed data remains (above everything SACKed).
    return { seq, len, kind: 'rule4' };
  }

  /** Right edge (exclusive) of the highest SACKed range. */
  highestSacked(): number | undefined {
    const r = this.ranges[this.ranges.length - 1];
    return r === undefined ? undefined : r.right;
  }

  sackedBytes(): number { return this.sacked; }
  blocks(): SackBlock[] { return this.ranges.map((r) => ({ left: r.left, right: r.right })); }

  clear(): void {
    this.ranges = [];
    this.sacked = 0;
  }

  snapshot(): SackScoreboardSnapshot {
    return { maxBlocks: this.maxBlocks, ranges: this.blocks() };
  }

  static restore(s: SackScoreboardSnapshot): SackScoreboard {
    const b = new SackScoreboard(s.maxBlocks);
    const base = s.ranges[0]?.left ?? 0;
    for (const r of s.ranges) b.addRange(r.left >>> 0, r.right >>> 0, base);
    return b;
  }

  // --- internals (offsets are relative to sndUna, which all ranges are above) ---

  private discardBelow(sndUna: number): void {
    while (this.ranges.length > 0) {
      const r = this.ranges[0]!;
      if (seqDiff(r.left, sndUna) >= 0) return;
      if (seqDiff(r.right, sndUna) <= 0) {
        this.ranges.shift();
        this.sacked -= seqDiff(r.right, r.left);
        continue;
      }
      this.sacked -= seqDiff(sndUna, r.left);
      r.left = sndUna >>> 0;
      return;
    }
  }

  /** Insert [left, right), merging with overlapping or adjacent ranges; returns bytes added. */
  private addRange(left: number, right: number, base: number): number {
    const l = seqDiff(left, base);
    const r = seqDiff(right, base);
    let i = 0;
    while (i < this.ranges.length && seqDiff(this.ranges[i]!.right, base) < l) i++;
    let j = i;
    let newL = l;
    let newR = r;
    let covered = 0;
    while (j < this.ranges.length && seqDiff(this.ranges[j]!.left, base) <= r) {
      const x = this.ranges[j]!;
      const xl = seqDiff(x.left, base);
      const xr = seqDiff(x.right, base);
      covered += xr - xl;
      newL = Math.min(newL, xl);
      newR = Math.max(newR, xr);
      j++;
    }
    const added = newR - newL - covered;
    this.ranges.splice(i, j - i, { left: seqAdd(base, newL), right: seqAdd(base, newR) });
    this.sacked += added;
    return added;
  }

  /**
   * Offset (from sndUna) below which every unSACKed byte is lost per IsLost(); 0 if none is.
   * Walks the gaps from the top: the highest gap whose SACKed-above data meets the IsLost
   * condition ends at the left edge of the range just above it.
   */
  private lostBoundary(sndUna: number, mss: number, dupThresh: number): number {
    let count = 0;
    let bytes = 0;
    for (let i = this.ranges.length - 1; i >= 0; i--) {
      const r = this.ranges[i]!;
      const rl = seqDiff(r.left, sndUna);
      const rr = seqDiff(r.right, sndUna);
      if (rr <= 0) break;
      count++;
      bytes += rr - Math.max(0, rl);
      if (rl <= 0) break; // no gap below this range above sndUna
      if (count >= dupThresh || bytes > (dupThresh - 1) * mss) return rl;
    }
    return 0;
  }

  /** UnSACKed bytes in [a, b), offsets from sndUna. */
  private unsackedBetween(sndUna: number, a: number, b: number): number {
    if (b <= a) return 0;
    let n = b - a;
    for (const r of this.ranges) {
      const rl = seqDiff(r.left, sndUna);
      const rr = seqDiff(r.right, sndUna);
      if (rl >= b) break;
      const lo = Math.max(a, rl);
      const hi = Math.min(b, rr);
      if (hi > lo) n -= hi - lo;
    }
    return n;
  }

  /** First unSACKed offset >= from and < limit, with the end of its hole; undefined if none. */
  private firstUnsackedAtOrAfter(sndUna: number, from: number, limit: number): [number, number] | undefined {
    let pos = from;
    for (const r of this.ranges) {
      const rl = seqDiff(r.left, sndUna);
      const rr = seqDiff(r.right, sndUna);
      if (rr <= pos) continue;
      if (rl > pos) return pos < limit ? [pos, Math.min(rl, limit)] : undefined;
      pos = rr; // pos is inside this range: skip it
    }
    return pos < limit ? [pos, limit] : undefined;
  }
}
