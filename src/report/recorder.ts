// Recording what a client received, for the report: cumulative bytes (or packets) over
// time in a bounded number of samples, keeping every gap longer than the current
// sample spacing exact, plus the exact longest gap between arrivals. Pure; the caller
// passes the time. Drawing is charts.ts.
import type { ReportCall, ReportConnection } from './model.js';
import { stallAround } from './model.js';

export interface Gap { startUs: number; endUs: number }

/** A pause: exact when at least the sample spacing; otherwise the true pause is shorter than `endUs - startUs` and below the spacing. */
export interface Pause extends Gap { exact: boolean }

/**
 * Bounded time series of a cumulative count. Rule: the last sample is provisional and
 * moves forward with each arrival closer than `spacingUs` to the sample before it;
 * otherwise it is fixed and a new one starts. So the last arrival before any pause of
 * at least `spacingUs` and the first after it are both kept with their exact times.
 * When the samples reach `maxSamples`, the spacing doubles and the series is thinned
 * by the same rule (so `spacingUs` only grows, and only as the run gets longer).
 */
export class ArrivalRecorder {
  private readonly series: Array<[number, number]> = [];
  private totalCount = 0;
  private lastUs: number | undefined;
  private longest: Gap | undefined;
  private spacing: number;

  constructor(private readonly maxSamples = 4096, initialSpacingUs = 100) {
    if (!(maxSamples >= 8)) throw new RangeError('maxSamples must be at least 8');
    this.spacing = Math.max(1, initialSpacingUs);
  }

  /** `count` more bytes (or packets) arrived at `tUs` (non-decreasing times). */
  record(tUs: number, count: number): void {
    if (!Number.isFinite(tUs) || !Number.isFinite(count) || count <= 0) return;
    const t = this.lastUs !== undefined && tUs < this.lastUs ? this.lastUs : tUs; // never step back in time
    if (this.lastUs !== undefined) {
      const gap = t - this.lastUs;
      if (!this.longest || gap > this.longest.endUs - this.longest.startUs) this.longest = { startUs: this.lastUs, endUs: t };
    }
    this.lastUs = t;
    this.totalCount += count;
    this.push(this.series, t, this.totalCount, this.spacing);
    if (this.series.length >= this.maxSamples) this.thin();
  }

  /** Starts the series at a value (e.g. [0, 0] at connection open) without counting an arrival. */
  mark(tUs: number): void {
    if (this.series.length === 0 && Number.isFinite(tUs)) this.series.push([tUs, this.totalCount]);
  }

  samples(): Array<[number, number]> {
    return this.series.map((p) => [p[0], p[1]]);
  }

  total(): number { return this.totalCount; }

  /** The longest interval between two consecutive arrivals (exact, whatever the spacing). */
  longestGap(): Gap | undefined { return this.longest ? { ...this.longest } : undefined; }

  /** Gaps at least this long are exact in samples(). */
  spacingUs(): number { return this.spacing; }

  /**
   * The pause containing `tUs` (e.g. the crash): from the last arrival at or before it to
   * the first after it. Consecutive samples further apart than the spacing are always
   * two consecutive arrivals, so a pause that long is exact.
   */
  pauseAround(tUs: number): Pause | undefined {
    const g = stallAround(this.series, tUs);
    return g ? { ...g, exact: g.endUs - g.startUs >= this.spacing } : undefined;
  }

  /** The report's view of a call whose RTP packets were recorded one count per packet. */
  toReportCall(id: string, o: { preserved: boolean }): ReportCall {
    const g = this.longest;
    return { id, rtp: this.samples(), gapMsMax: g ? (g.endUs - g.startUs) / 1000 : 0, preserved: o.preserved };
  }

  /** The report's view of this connection; `pauseUs` is the pause around `crashUs` when there is one. */
  toReportConnection(id: string, o: { crashUs?: number; ok: boolean; sha256?: string; note?: string }): ReportConnection {
    const p = o.crashUs === undefined ? undefined : this.pauseAround(o.crashUs);
    return {
      id,
      samples: this.samples(),
      ...(p ? { pauseUs: p.endUs - p.startUs } : {}),
      bytes: this.totalCount,
      ...(o.sha256 !== undefined ? { sha256: o.sha256 } : {}),
      ok: o.ok,
      ...(o.note !== undefined ? { note: o.note } : {}),
    };
  }

  private push(out: Array<[number, number]>, t: number, v: number, spacing: number): void {
    const n = out.length;
    if (n >= 2 && t - out[n - 2]![0] < spacing) {
      out[n - 1] = [t, v];
    } else {
      out.push([t, v]);
    }
  }

  private thin(): void {
    while (this.series.length >= this.maxSamples) {
      this.spacing *= 2;
      const old = this.series.splice(0);
      for (const [t, v] of old) this.push(this.series, t, v, this.spacing);
    }
  }
}
