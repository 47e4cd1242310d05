// Per-stream RTP reception statistics: loss, reordering, duplicates, jitter
// (RFC 3550 §6.4.1, Appendix A.1/A.3/A.8) and the largest inter-arrival gap — the
// figure that shows whether media stopped during a controller failover.
import { parseRtp } from './packet.js';
import type { WireError } from '../../wire/result.js';
import { G711_SAMPLE_RATE_HZ } from './sender.js';

/** Bound on distinct SSRCs tracked by one receiver (each stream is one call leg). */
const STREAMS_MAX = 64;
/** Inter-arrival gaps at least this long are logged with their time (20 ms is the packet interval). */
export const GAP_LOG_MIN_US = 25_000;
/** Bound on logged gaps per receiver; the smallest is dropped first. */
const GAP_LOG_MAX = 256;

export interface RtpGap { readonly gapUs: number; readonly endUs: number }

/** Keeps the largest gaps in `log` (bounded), dropping the smallest. */
export function keepGap(log: RtpGap[], g: RtpGap, max = GAP_LOG_MAX): void {
  if (log.length < max) { log.push(g); return; }
  let min = 0;
  for (let i = 1; i < log.length; i++) if (log[i]!.gapUs < log[min]!.gapUs) min = i;
  if (log[min]!.gapUs < g.gapUs) log[min] = g;
}

/** Window of recent sequence numbers remembered to tell duplicates from reordering. */
const RECENT_SEQ_MAX = 128;

export interface RtpStreamStats {
  readonly ssrc: number;
  readonly packets: number;
  /** RFC 3550 §A.3: expected − received (never negative here). */
  readonly lost: number;
  readonly reordered: number;
  readonly duplicates: number;
  /** Largest time between two consecutive arrivals on this stream. */
  readonly largestGapUs: number;
  /** Arrival time of the packet that ended the largest gap. */
  readonly largestGapEndUs: number;
  /** RFC 3550 §A.8 interarrival jitter, in microseconds. */
  readonly jitterUs: number;
  readonly firstArrivalUs: number;
  readonly lastArrivalUs: number;
}

interface StreamState {
  ssrc: number;
  baseSeq: number;
  /** Extended highest sequence number (cycles × 65536 + seq). */
  maxExt: number;
  packets: number;
  reordered: number;
  duplicates: number;
  largestGapUs: number;
  largestGapEndUs: number;
  lastArrivalUs: number;
  firstArrivalUs: number;
  transitPrev: number | undefined;
  jitter: number;
  recent: Set<number>;
  recentOrder: number[];
}

export class RtpReceiver {
  private readonly streams = new Map<number, StreamState>();
  private errors = 0;
  private droppedStreams = 0;
  lastError: WireError | undefined;
  /** Gaps of GAP_LOG_MIN_US or more, with the arrival that ended them. */
  readonly gaps: RtpGap[] = [];

  /** Feeds one datagram. Returns false (and counts) if it is not valid RTP. */
  handleDatagram(bytes: Uint8Array, nowUs: number): boolean {
    const r = parseRtp(bytes);
    if (!r.ok) { this.errors++; this.lastError = r.error; return false; }
    const p = r.value;
    let st = this.streams.get(p.ssrc);
    if (!st) {
      if (this.streams.size >= STREAMS_MAX) { this.droppedStreams++; return false; }
      st = {
        ssrc: p.ssrc, baseSeq: p.sequenceNumber, maxExt: p.sequenceNumber, packets: 0, reordered: 0,
        duplicates: 0, largestGapUs: 0, largestGapEndUs: 0, lastArrivalUs: nowUs, firstArrivalUs: nowUs, transitPrev: undefined,
        jitter: 0, recent: new Set(), recentOrder: [],
      };
      this.streams.set(p.ssrc, st);
    }
    // Extend the 16-bit sequence number relative to the highest seen (RFC 3550 §A.1).
    const maxSeq = st.maxExt & 0xffff;
    const delta = ((p.sequenceNumber - maxSeq + 0x8000) & 0xffff) - 0x8000; // signed 16-bit distance
    const ext = st.maxExt + delta;
    if (st.recent.has(ext)) { st.duplicates++; return true; }
    st.recent.add(ext); st.recentOrder.push(ext);
    if (st.recentOrder.length > RECENT_SEQ_MAX) st.recent.delete(st.recentOrder.shift()!);
    if (st.packets > 0) {
      if (delta > 0) st.maxExt = ext; else st.reordered++;
      const gap = nowUs - st.lastArrivalUs;
      if (gap > st.largestGapUs) { st.largestGapUs = gap; st.largestGapEndUs = nowUs; }
      if (gap >= GAP_LOG_MIN_US) keepGap(this.gaps, { gapUs: gap, endUs: nowUs });
    }
    if (ext < st.baseSeq) st.baseSeq = ext;
    st.packets++;
    st.lastArrivalUs = nowUs;
    // RFC 3550 §A.8: J += (|D| − J) / 16, in timestamp units; converted on read.
    const arrivalTs = (nowUs * G711_SAMPLE_RATE_HZ) / 1e6;
    const transit = arrivalTs - p.timestamp;
    if (st.transitPrev !== undefined) {
      let d = transit - st.transitPrev;
      // Timestamps wrap at 2^32: fold the difference into a signed range.
      d = ((d % 4294967296) + 4294967296 + 2147483648) % 4294967296 - 2147483648;
      st.jitter += (Math.abs(d) - st.jitter) / 16;
    }
    st.transitPrev = transit;
    return true;
  }

  stats(): RtpStreamStats[] {
    return [...this.streams.values()].map((st) => ({
      ssrc: st.ssrc,
      packets: st.packets,
      lost: Math.max(0, st.maxExt - st.baseSeq + 1 - st.packets),
      reordered: st.reordered,
      duplicates: st.duplicates,
      largestGapUs: st.largestGapUs,
      largestGapEndUs: st.largestGapEndUs,
      jitterUs: Math.round((st.jitter * 1e6) / G711_SAMPLE_RATE_HZ),
      firstArrivalUs: st.firstArrivalUs,
      lastArrivalUs: st.lastArrivalUs,
    }));
  }

  /** Largest inter-arrival gap over all streams, and when it ended. */
  largestGap(): { gapUs: number; endUs: number } {
    let g = { gapUs: 0, endUs: 0 };
    for (const st of this.streams.values()) if (st.largestGapUs > g.gapUs) g = { gapUs: st.largestGapUs, endUs: st.largestGapEndUs };
    return g;
  }

  largestGapUs(): number { return this.largestGap().gapUs; }

  counters(): { parseErrors: number; droppedStreams: number } {
    return { parseErrors: this.errors, droppedStreams: this.droppedStreams };
  }
}
