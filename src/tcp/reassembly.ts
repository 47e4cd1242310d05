// The receiver's out-of-order store (RFC 9293 §3.10.7.4 "segments ... held for later
// processing") and the SACK blocks it implies (RFC 2018). Bounded in bytes and pieces.
// Window arithmetic (what we advertise) and ACK generation belong to the connection.
import type { SackBlock } from '../wire/tcp.js';
import { seqAdd, seqDiff } from './seq.js';

export type InsertResult = 'stored' | 'duplicate' | 'dropped-full' | 'out-of-window';

export interface ReassemblySnapshot {
  maxBytes: number;
  maxSegments: number;
  /** Stored pieces in sequence order, non-overlapping. */
  pieces: Array<{ seq: number; data: Uint8Array }>;
  /** Left edges of the most recently received segments, newest first (RFC 2018 §4 ordering). */
  recent: number[];
}

interface Piece { seq: number; data: Uint8Array }
/** A maximal run of contiguous pieces: one SACK block. */
interface Run { left: number; right: number; pieces: Piece[] }

/** How many recent arrivals we remember for SACK block ordering (RFC 2018 §4 needs ≤ 4). */
const RECENT_MAX = 8;

/**
 * Pieces never overlap: an arriving segment stores only the bytes not already held
 * (first copy wins, RFC 9293 §3.10.7.4 leaves the choice open). Pieces are grouped into
 * runs of contiguous bytes so that SACK blocks and take() cost O(runs), not O(pieces).
 */
export class Reassembly {
  private readonly maxBytes: number;
  private readonly maxSegments: number;
  /** Runs sorted by sequence number (relative to the current RCV.NXT, all within 2^31). */
  private runs: Run[] = [];
  private pieceCount = 0;
  private byteCount = 0;
  private recent: number[] = [];

  constructor(maxBytes: number, maxSegments: number) {
    if (!(Number.isInteger(maxBytes) && maxBytes >= 0 && maxBytes < 0x4000_0000)) {
      throw new RangeError(`Reassembly: maxBytes must be an integer in [0, 2^30) (got ${maxBytes})`);
    }
    if (!(Number.isInteger(maxSegments) && maxSegments >= 1)) throw new RangeError('Reassembly: maxSegments must be >= 1');
    this.maxBytes = maxBytes;
    this.maxSegments = maxSegments;
  }

  /**
   * Store the part of [seq, seq+len) that lies in [rcvNxt, rcvNxt + maxBytes) and is not
   * already held. 'duplicate': nothing new (all before rcvNxt or already stored);
   * 'out-of-window': starts at or beyond rcvNxt + maxBytes; 'dropped-full': storing it would
   * exceed maxSegments pieces (segments that begin at or before rcvNxt are always taken,
   * so in-order progress never stalls). Bytes past the window edge are trimmed.
   */
  insert(seq: number, data: Uint8Array, rcvNxt: number): InsertResult {
    this.discardBefore(rcvNxt);
    let from = seqDiff(seq, rcvNxt);
    let to = from + data.length;
    if (to <= 0 || data.length === 0) return 'duplicate';
    if (from >= this.maxBytes) return 'out-of-window';
    if (from < 0) from = 0; // RFC 9293 §3.10.7.4: bytes before RCV.NXT are already delivered
    if (to > this.maxBytes) to = this.maxBytes; // trim at the edge of what we can hold
    // Find the gaps of [from, to) not covered by runs (offsets relative to rcvNxt).
    const gaps: Array<[number, number]> = [];
    let i = this.firstRunEndingAfter(rcvNxt, from);
    let cur = from;
    for (let j = i; j < this.runs.length && cur < to; j++) {
      const r = this.runs[j]!;
      const l = seqDiff(r.left, rcvNxt);
      const rr = seqDiff(r.right, rcvNxt);
      if (l >= to) break;
      if (l > cur) gaps.push([cur, l]);
      cur = Math.max(cur, rr);
    }
    if (cur < to) gaps.push([cur, to]);
    if (gaps.length === 0) { this.noteRecent(seqAdd(rcvNxt, from)); return 'duplicate'; }
    if (from > 0 && this.pieceCount + gaps.length > this.maxSegments) return 'dropped-full';
    const base = seqDiff(seq, rcvNxt); // offset of data[0]
    for (const [a, b] of gaps) {
      const piece: Piece = { seq: seqAdd(rcvNxt, a), data: data.slice(a - base, b - base) };
      i = this.placePiece(piece, rcvNxt, i);
      this.pieceCount++;
      this.byteCount += b - a;
    }
    this.noteRecent(seqAdd(rcvNxt, from));
    return 'stored';
  }

  /** The contiguous bytes at rcvNxt, removed from the store (overlap before rcvNxt trimmed). */
  take(rcvNxt: number): Uint8Array | undefined {
    this.discardBefore(rcvNxt);
    const r = this.runs[0];
    if (r === undefined || seqDiff(r.left, rcvNxt) > 0) return undefined;
    this.runs.shift();
    const skip = seqDiff(rcvNxt, r.left); // >= 0 and < run length after discardBefore
    const total = seqDiff(r.right, r.left);
    this.pieceCount -= r.pieces.length;
    this.byteCount -= total;
    if (r.pieces.length === 1) return r.pieces[0]!.data.subarray(skip);
    const out = new Uint8Array(total - skip);
    let pos = -skip;
    for (const p of r.pieces) {
      const d = pos < 0 ? p.data.subarray(Math.min(-pos, p.data.length)) : p.data;
      out.set(d, Math.max(0, pos));
      pos += p.data.length;
    }
    return out;
  }

  /**
   * Up to `max` SACK blocks (RFC 2018 §4): the first holds the most recently received
   * segment; the following repeat the most recently reported blocks, newest first; any room
   * left is filled with the remaining blocks in sequence order.
   */
  sackBlocks(max: number): SackBlock[] {
    const out: SackBlock[] = [];
    if (max <= 0) return out;
    const used = new Set<Run>();
    const keep: number[] = [];
    for (const s of this.recent) {
      const r = this.runContaining(s);
      if (r === undefined) continue; // delivered or discarded: forget it
      keep.push(s);
      if (used.has(r) || out.length >= max) continue;
      used.add(r);
      out.push({ left: r.left, right: r.right });
    }
    this.recent = keep;
    for (const r of this.runs) {
      if (out.length >= max) break;
      if (!used.has(r)) out.push({ left: r.left, right: r.right });
    }
    return out;
  }

  /** The held runs in sequence order (no side effect on the SACK history, unlike sackBlocks). */
  heldRanges(): SackBlock[] {
    return this.runs.map((r) => ({ left: r.left, right: r.right }));
  }

  bufferedBytes(): number { return this.byteCount; }
  segmentCount(): number { return this.pieceCount; }
  /** True when nothing is held out of order. */
  isEmpty(): boolean { return this.runs.length === 0; }

  clear(): void {
    this.runs = [];
    this.pieceCount = 0;
    this.byteCount = 0;
    this.recent = [];
  }

  snapshot(): ReassemblySnapshot {
    const pieces: ReassemblySnapshot['pieces'] = [];
    for (const r of this.runs) for (const p of r.pieces) pieces.push({ seq: p.seq, data: p.data.slice() });
    return { maxBytes: this.maxBytes, maxSegments: this.maxSegments, pieces, recent: [...this.recent] };
  }

  static restore(s: ReassemblySnapshot): Reassembly {
    const q = new Reassembly(s.maxBytes, s.maxSegments);
    for (const p of s.pieces) {
      const piece: Piece = { seq: p.seq >>> 0, data: p.data.slice() };
      const last = q.runs[q.runs.length - 1];
      if (last !== undefined && last.right === piece.seq) {
        last.pieces.push(piece);
        last.right = seqAdd(last.right, piece.data.length);
      } else {
        q.runs.push({ left: piece.seq, right: seqAdd(piece.seq, piece.data.length), pieces: [piece] });
      }
      q.pieceCount++;
      q.byteCount += piece.data.length;
    }
    q.recent = s.recent.slice(0, RECENT_MAX).map((x) => x >>> 0);
    return q;
  }

  // --- internals ---

  /** Drop stored bytes before rcvNxt (the connection advanced past them itself). */
  private discardBefore(rcvNxt: number): void {
    while (this.runs.length > 0) {
      const r = this.runs[0]!;
      if (seqDiff(r.left, rcvNxt) >= 0) return;
      if (seqDiff(r.right, rcvNxt) <= 0) {
        this.runs.shift();
        this.pieceCount -= r.pieces.length;
        this.byteCount -= seqDiff(r.right, r.left);
        continue;
      }
      // rcvNxt falls inside this run: drop whole pieces before it, trim the one it cuts.
      while (r.pieces.length > 0) {
        const p = r.pieces[0]!;
        const pEnd = seqAdd(p.seq, p.data.length);
        if (seqDiff(pEnd, rcvNxt) > 0) {
          const cut = seqDiff(rcvNxt, p.seq);
          if (cut > 0) {
            r.pieces[0] = { seq: rcvNxt >>> 0, data: p.data.subarray(cut) };
            this.byteCount -= cut;
          }
          break;
        }
        r.pieces.shift();
        this.pieceCount--;
        this.byteCount -= p.data.length;
      }
      r.left = rcvNxt >>> 0;
      return;
    }
  }

  /** Index of the first run whose right edge is beyond offset `off` from rcvNxt (binary search). */
  private firstRunEndingAfter(rcvNxt: number, off: number): number {
    let lo = 0;
    let hi = this.runs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (seqDiff(this.runs[mid]!.right, rcvNxt) <= off) lo = mid + 1; else hi = mid;
    }
    return lo;
  }

  /** Put a piece that overlaps no run into place, joining runs it touches; returns the run index it is in. */
  private placePiece(p: Piece, rcvNxt: number, hint: number): number {
    const pl = seqDiff(p.seq, rcvNxt);
    const pr = pl + p.data.length;
    let i = Math.min(hint, this.runs.length);
    while (i > 0 && seqDiff(this.runs[i - 1]!.right, rcvNxt) > pl) i--;
    while (i < this.runs.length && seqDiff(this.runs[i]!.right, rcvNxt) < pl) i++;
    // Now runs[i-1] ends at or before pl; runs[i] (if any) ends at or after pl.
    const prev = i > 0 ? this.runs[i - 1]! : undefined;
    let next = i < this.runs.length ? this.runs[i]! : undefined;
    if (next !== undefined && seqDiff(next.right, rcvNxt) === pl) {
      // runs[i] ends exactly where the piece begins: it is the one to extend.
      next.pieces.push(p);
      next.right = seqAdd(next.right, p.data.length);
      const after = this.runs[i + 1];
      if (after !== undefined && seqDiff(after.left, rcvNxt) === pr) this.joinRuns(i);
      return i;
    }
    if (prev !== undefined && seqDiff(prev.right, rcvNxt) === pl) {
      prev.pieces.push(p);
      prev.right = seqAdd(prev.right, p.data.length);
      if (next !== undefined && seqDiff(next.left, rcvNxt) === pr) this.joinRuns(i - 1);
      return i - 1;
    }
    if (next !== undefined && seqDiff(next.left, rcvNxt) === pr) {
      next.pieces.unshift(p);
      next.left = p.seq;
      return i;
    }
    next = { left: p.seq, right: seqAdd(p.seq, p.data.length), pieces: [p] };
    this.runs.splice(i, 0, next);
    return i;
  }

  private joinRuns(i: number): void {
    const a = this.runs[i]!;
    const b = this.runs[i + 1]!;
    for (const p of b.pieces) a.pieces.push(p);
    a.right = b.right;
    this.runs.splice(i + 1, 1);
  }

  private runContaining(seq: number): Run | undefined {
    for (const r of this.runs) {
      if (seqDiff(seq, r.left) >= 0 && seqDiff(seq, r.right) < 0) return r;
    }
    return undefined;
  }

  private noteRecent(seq: number): void {
    const s = seq >>> 0;
    const at = this.recent.indexOf(s);
    if (at >= 0) this.recent.splice(at, 1);
    this.recent.unshift(s);
    if (this.recent.length > RECENT_MAX) this.recent.length = RECENT_MAX;
  }
}
