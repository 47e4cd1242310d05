// SVG building blocks for the report: escaping, finite number formatting, linear
// scales with "nice" ticks in human units, and series downsampling. No chart layout
// here (charts.ts) and no page structure (render.ts).

/** Escape text for HTML/SVG element content and attribute values. */
export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

/** A coordinate for SVG output: one decimal, never NaN or Infinity (a non-finite value is a bug upstream; draw it at 0). */
export function num(x: number): string {
  if (!Number.isFinite(x)) return '0';
  const r = Math.round(x * 10) / 10;
  return Object.is(r, -0) ? '0' : String(r);
}

export interface LinearScale {
  (v: number): number;
  domain: readonly [number, number];
  range: readonly [number, number];
}

/** Maps domain → range linearly. A zero-width or non-finite domain is widened so the result is always finite. */
export function linearScale(d0: number, d1: number, r0: number, r1: number): LinearScale {
  let a = Number.isFinite(d0) ? d0 : 0;
  let b = Number.isFinite(d1) ? d1 : a;
  if (b < a) [a, b] = [b, a];
  if (b - a <= 0) { const pad = a === 0 ? 1 : Math.abs(a) * 0.05; a -= a === 0 ? 0 : pad; b += pad; }
  const k = (r1 - r0) / (b - a);
  const f = ((v: number) => r0 + (v - a) * k) as LinearScale;
  f.domain = [a, b];
  f.range = [r0, r1];
  return f;
}

/** Round step (1, 2, 2.5, 5 × 10^k) so that (hi − lo)/step is about `count`. */
export function niceStep(lo: number, hi: number, count: number): number {
  const span = hi - lo;
  if (!(span > 0) || !Number.isFinite(span)) return 1;
  const raw = span / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  const m = norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 2.5 ? 2.5 : norm <= 5 ? 5 : 10;
  return m * mag;
}

/**
 * Tick values covering [lo, hi] (inclusive, within a rounding tolerance); at least one
 * for a non-empty range, at most count*2+2.
 */
export function niceTicks(lo: number, hi: number, count: number): number[] {
  const t = ticksWithStep(lo, hi, niceStep(lo, hi, count));
  // Rounding the step up (up to ×2) can skip over a short range; half the step cannot,
  // because it is then at most the span.
  return t.length > 0 ? t : ticksWithStep(lo, hi, niceStep(lo, hi, count * 2));
}

function ticksWithStep(lo: number, hi: number, step: number): number[] {
  const first = Math.ceil(lo / step - 1e-9) * step;
  const out: number[] = [];
  const n = Math.min(1000, Math.floor((hi - lo) / step) + 2);
  for (let i = 0; i < n; i++) {
    const v = first + i * step;
    if (v > hi + step * 1e-9) break;
    out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  }
  return out;
}

/** A display unit for an axis: values are divided by `div` and labelled with `unit`. */
export interface AxisUnit { div: number; unit: string }

export function timeUnitFor(spanUs: number): AxisUnit {
  if (spanUs >= 5_000_000) return { div: 1_000_000, unit: 's' };
  if (spanUs >= 5_000) return { div: 1_000, unit: 'ms' };
  return { div: 1, unit: 'µs' };
}

export function byteUnitFor(maxBytes: number): AxisUnit {
  if (maxBytes >= 4 * 1024 ** 3) return { div: 1024 ** 3, unit: 'GiB' };
  if (maxBytes >= 4 * 1024 ** 2) return { div: 1024 ** 2, unit: 'MiB' };
  if (maxBytes >= 4 * 1024) return { div: 1024, unit: 'KiB' };
  return { div: 1, unit: 'B' };
}

/** Tick label text: enough decimals to tell neighbouring ticks apart. */
export function tickLabel(v: number, step: number): string {
  // As many decimals as the step needs to be exact (2.5 → 1, 0.25 → 2, 20 → 0), at most 6.
  let decimals = 0;
  while (decimals < 6 && Math.abs(Math.round(step * 10 ** decimals) - step * 10 ** decimals) > 1e-6 * 10 ** decimals) decimals++;
  const s = v.toFixed(decimals);
  return /^-0(\.0*)?$/.test(s) ? s.slice(1) : s;
}

export type Point = readonly [number, number];

/**
 * Reduce a time-ordered series to at most `maxPoints` points while keeping its shape:
 * the x range is cut into buckets and each bucket keeps its first, last, lowest and
 * highest point (in time order). Plateaus and gaps survive because a bucket with no
 * points contributes nothing. Non-finite points are dropped.
 */
export function downsample(points: ReadonlyArray<Point>, maxPoints: number): Point[] {
  const pts = points.filter((p) => Number.isFinite(p[0]) && Number.isFinite(p[1]));
  const limit = Math.max(4, Math.floor(maxPoints));
  if (pts.length <= limit) return pts.slice();
  const buckets = Math.floor(limit / 4);
  const x0 = pts[0]![0];
  const x1 = pts[pts.length - 1]![0];
  const width = (x1 - x0) / buckets || 1;
  const out: Point[] = [];
  let i = 0;
  for (let b = 0; b < buckets && i < pts.length; b++) {
    const end = b === buckets - 1 ? Infinity : x0 + (b + 1) * width;
    const start = i;
    let lo = i;
    let hi = i;
    while (i < pts.length && pts[i]![0] < end) {
      if (pts[i]![1] < pts[lo]![1]) lo = i;
      if (pts[i]![1] > pts[hi]![1]) hi = i;
      i++;
    }
    if (i === start) continue;
    const keep = [...new Set([start, lo, hi, i - 1])].sort((p, q) => p - q);
    for (const k of keep) out.push(pts[k]!);
  }
  return out;
}

/** Step-after path ("hold the value until the next sample") through already-scaled points. */
export function stepPath(pts: ReadonlyArray<Point>): string {
  if (pts.length === 0) return '';
  let d = `M${num(pts[0]![0])},${num(pts[0]![1])}`;
  for (let i = 1; i < pts.length; i++) {
    d += `H${num(pts[i]![0])}V${num(pts[i]![1])}`;
  }
  return d;
}

/** Value of a cumulative, time-ordered series at time t (the last sample at or before t; 0 before the first). */
export function valueAt(samples: ReadonlyArray<Point>, t: number): number {
  let lo = 0;
  let hi = samples.length - 1;
  let best = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (samples[mid]![0] <= t) { best = mid; lo = mid + 1; } else hi = mid - 1;
  }
  return best < 0 ? 0 : samples[best]![1];
}
