// The report's charts as plain SVG strings: the client's time–sequence graph around
// the crash, the pause histogram and the per-call RTP strips. Pure functions of the
// report data; page layout and CSS live in render.ts.
import type { DemoReport, ReportCall, ReportConnection, ReportMarker } from './model.js';
import { formatBytes, formatDurationUs, maxOf, minOf, pauseOf, stallAround } from './model.js';
import type { AxisUnit, LinearScale, Point } from './svg.js';
import { byteUnitFor, downsample, esc, linearScale, niceStep, niceTicks, num, stepPath, tickLabel, timeUnitFor, valueAt } from './svg.js';

/** Size bounds: every chart stays small however long the run or many the connections. */
export const CHART_LIMITS = {
  /** Points per drawn series after downsampling. */
  pointsPerSeries: 600,
  /** Grid points for the aggregate (sum over connections) series. */
  aggregateGrid: 800,
  /** Individual connections drawn besides the aggregate. */
  connectionsDrawn: 5,
  /** Call strips drawn. */
  callsDrawn: 40,
  /** Run segments drawn per call strip. */
  segmentsPerCall: 200,
  histogramBins: 24,
  /** Marker lines drawn per chart: the failover's own (crash, detected, takeover, resumed) first, then the earliest others. */
  markersDrawn: 40,
} as const;

const WIDTH = 1040;
const FONT = 'font-family="system-ui,-apple-system,Segoe UI,Roboto,sans-serif"';

/** Okabe–Ito palette: distinguishable with the common colour-vision deficiencies. */
export const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#000000'] as const;

interface MarkerStyle { colour: string; dash: string }
export function markerStyle(label: string): MarkerStyle {
  if (/crash|kill|fail(ed)?\b/i.test(label)) return { colour: '#D55E00', dash: '' };
  if (/detect/i.test(label)) return { colour: '#B07800', dash: '6 3' };
  if (/takeover|take over/i.test(label)) return { colour: '#7A3E9D', dash: '2 3' };
  if (/resum|recover/i.test(label)) return { colour: '#007A5A', dash: '8 3 2 3' };
  return { colour: '#555555', dash: '4 4' };
}

export interface Window { t0: number; t1: number }

/** The series with non-finite points dropped and time ascending; the input itself when it already is. */
function finiteSamples(s: ReadonlyArray<readonly [number, number]>): Point[] {
  let clean = true;
  let sorted = true;
  for (let i = 0; i < s.length; i++) {
    const p = s[i]!;
    if (!Array.isArray(p) || !Number.isFinite(p[0]) || !Number.isFinite(p[1])) { clean = false; break; }
    if (i > 0 && p[0] < s[i - 1]![0]) sorted = false;
  }
  let pts = s as Point[];
  if (!clean) pts = s.filter((p) => Array.isArray(p) && Number.isFinite(p[0]) && Number.isFinite(p[1])) as Point[];
  if (!clean || !sorted) {
    for (let i = 1; i < pts.length; i++) {
      if (pts[i]![0] < pts[i - 1]![0]) return pts.slice().sort((a, b) => a[0] - b[0]);
    }
  }
  return pts;
}

function dataRange(conns: ReadonlyArray<{ samples: Point[] }>, markers: ReadonlyArray<ReportMarker>): Window | undefined {
  let t0 = Infinity;
  let t1 = -Infinity;
  for (const c of conns) {
    if (c.samples.length === 0) continue;
    t0 = Math.min(t0, c.samples[0]![0]);
    t1 = Math.max(t1, c.samples[c.samples.length - 1]![0]);
  }
  for (const m of markers) { t0 = Math.min(t0, m.tUs); t1 = Math.max(t1, m.tUs); }
  return Number.isFinite(t0) && Number.isFinite(t1) ? { t0, t1 } : undefined;
}

/** Points of one series inside the window, starting with its value at the window's start. */
function windowed(samples: ReadonlyArray<Point>, w: Window): Point[] {
  const out: Point[] = [[w.t0, valueAt(samples, w.t0)]];
  for (const p of samples) if (p[0] > w.t0 && p[0] <= w.t1) out.push(p);
  const last = out[out.length - 1]!;
  if (last[0] < w.t1) out.push([w.t1, last[1]]);
  return out;
}

/** Sum of all connections' cumulative bytes on a grid across the window (plus the exact stall edges). O(samples × log grid). */
function aggregateSeries(conns: ReadonlyArray<{ samples: Point[] }>, w: Window, extraTimes: number[]): Point[] {
  const n = CHART_LIMITS.aggregateGrid;
  const times = new Set<number>();
  for (let i = 0; i <= n; i++) times.add(w.t0 + ((w.t1 - w.t0) * i) / n);
  for (const t of extraTimes) if (t >= w.t0 && t <= w.t1) times.add(t);
  const grid = [...times].sort((a, b) => a - b);
  // Each sample's increase counts from the first grid time at or after it.
  const diff = new Float64Array(grid.length);
  for (const c of conns) {
    let prev = 0;
    const s = c.samples;
    for (let k = 0; k < s.length; k++) {
      const t = s[k]![0];
      const v = s[k]![1];
      let lo = 0;
      let hi = grid.length;
      while (lo < hi) { const mid = (lo + hi) >> 1; if (grid[mid]! < t) lo = mid + 1; else hi = mid; }
      if (lo < grid.length) diff[lo] += v - prev;
      prev = v;
    }
  }
  let sum = 0;
  return grid.map((t, i) => { sum += diff[i]!; return [t, sum] as Point; });
}

export interface Stall { startUs: number; endUs: number }

/** The interval around `crashUs` in which no connection received a byte. */
export function aggregateStall(conns: ReadonlyArray<{ samples: Point[] }>, crashUs: number): Stall | undefined {
  let start = -Infinity;
  let end = Infinity;
  for (const c of conns) {
    const s = stallAround(c.samples, crashUs);
    if (!s) continue;
    start = Math.max(start, s.startUs);
    end = Math.min(end, s.endUs);
  }
  return Number.isFinite(start) && Number.isFinite(end) && end >= start ? { startUs: start, endUs: end } : undefined;
}

/**
 * Connections worth drawing individually in window `w`: those that received something in
 * it first (a flat line at zero shows nothing), among them up to two failed ones, then
 * the longest pauses.
 */
function pickConnections(r: DemoReport, crashUs: number | undefined, w: Window): ReportConnection[] {
  const byId = (a: ReportConnection, b: ReportConnection): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  const ranked = r.connections.map((c) => {
    const s = finiteSamples(c.samples);
    return { c, moved: valueAt(s, w.t1) > valueAt(s, w.t0) ? 1 : 0, p: pauseOf(c, crashUs) ?? -1 };
  }).sort((a, b) => b.moved - a.moved || Number(a.c.ok) - Number(b.c.ok) || b.p - a.p || byId(a.c, b.c));
  const out: ReportConnection[] = [];
  let failed = 0;
  for (const x of ranked) {
    if (out.length >= CHART_LIMITS.connectionsDrawn) break;
    if (!x.c.ok && failed >= 2) continue;
    if (!x.c.ok) failed++;
    out.push(x.c);
  }
  return out;
}

function xAxis(x: LinearScale, y: number, unit: AxisUnit, title: string): string {
  const [a, b] = x.domain;
  const ticks = niceTicks(a / unit.div, b / unit.div, 8);
  const step = tickStep(ticks, a / unit.div, b / unit.div, 8);
  let s = `<line x1="${num(x.range[0])}" x2="${num(x.range[1])}" y1="${num(y)}" y2="${num(y)}" stroke="#333"/>`;
  for (const v of ticks) {
    const px = x(v * unit.div);
    s += `<line x1="${num(px)}" x2="${num(px)}" y1="${num(y)}" y2="${num(y + 5)}" stroke="#333"/>`;
    s += `<text x="${num(px)}" y="${num(y + 18)}" text-anchor="middle" class="tick">${esc(tickLabel(v, step))}</text>`;
  }
  s += `<text x="${num((x.range[0] + x.range[1]) / 2)}" y="${num(y + 38)}" text-anchor="middle" class="axis-title">${esc(title)} (${unit.unit})</text>`;
  return s;
}

function yAxis(yS: LinearScale, x0: number, x1: number, unit: AxisUnit, title: string, tickCount = 5): string {
  const [a, b] = yS.domain;
  const ticks = niceTicks(a / unit.div, b / unit.div, tickCount);
  const step = tickStep(ticks, a / unit.div, b / unit.div, tickCount);
  let s = '';
  for (const v of ticks) {
    const py = yS(v * unit.div);
    s += `<line x1="${num(x0)}" x2="${num(x1)}" y1="${num(py)}" y2="${num(py)}" stroke="#e3e3e3"/>`;
    s += `<text x="${num(x0 - 8)}" y="${num(py + 4)}" text-anchor="end" class="tick">${esc(tickLabel(v, step))}</text>`;
  }
  const midY = (yS.range[0] + yS.range[1]) / 2;
  s += `<text transform="translate(${num(x0 - 58)},${num(midY)}) rotate(-90)" text-anchor="middle" class="axis-title">${esc(title)}${unit.unit ? ` (${unit.unit})` : ''}</text>`;
  s += `<line x1="${num(x0)}" x2="${num(x0)}" y1="${num(yS.range[0])}" y2="${num(yS.range[1])}" stroke="#333"/>`;
  return s;
}

function tickStep(ticks: number[], lo: number, hi: number, count: number): number {
  return ticks.length >= 2 ? ticks[1]! - ticks[0]! : niceStep(lo, hi, count);
}

/** Label rows above a chart; markers beyond them get a line and a tooltip, no label. */
const MARKER_LABEL_ROWS_MAX = 4;

interface PlacedMarker { m: ReportMarker; px: number; text: string; row: number | undefined; anchorEnd: boolean }

/** Packs marker labels into rows so they never overlap, flipping a label left of its line near the right edge. */
function layoutMarkers(markers: ReadonlyArray<ReportMarker>, x: LinearScale, unit: AxisUnit): { items: PlacedMarker[]; rows: number } {
  const inRange = markers.filter((m) => Number.isFinite(m.tUs) && m.tUs >= x.domain[0] && m.tUs <= x.domain[1]);
  const visible = (inRange.length > CHART_LIMITS.markersDrawn
    ? inRange.map((m) => ({ m, k: markerStyle(m.label).dash === '4 4' ? 1 : 0 }))
      .sort((a, b) => a.k - b.k || a.m.tUs - b.m.tUs).slice(0, CHART_LIMITS.markersDrawn).map((x) => x.m)
    : inRange).sort((a, b) => a.tUs - b.tUs);
  const rowEnds: number[] = [];
  const items = visible.map((m): PlacedMarker => {
    const px = x(m.tUs);
    const text = `${clip(m.label, 40)} ${trimUnit(m.tUs, unit)}`;
    const w = text.length * 6.6 + 8;
    const anchorEnd = px + w > WIDTH - 4;
    const a = anchorEnd ? px - w : px;
    let row: number | undefined = rowEnds.findIndex((end) => end < a - 2);
    if (row < 0) {
      if (rowEnds.length < MARKER_LABEL_ROWS_MAX) { row = rowEnds.length; rowEnds.push(0); } else row = undefined;
    }
    if (row !== undefined) rowEnds[row] = anchorEnd ? px : px + w;
    return { m, px, text, row, anchorEnd };
  });
  return { items, rows: rowEnds.length };
}

/** Marker lines across [top, bottom] with their labels in rows above `top`. */
function markerLayer(markers: ReadonlyArray<ReportMarker>, x: LinearScale, top: number, bottom: number, unit: AxisUnit): string {
  let s = '';
  for (const p of layoutMarkers(markers, x, unit).items) {
    const st = markerStyle(p.m.label);
    const ly = top - 8 - (p.row ?? 0) * 15;
    s += `<g class="marker"><title>${esc(p.m.label)} at ${esc(formatDurationUs(p.m.tUs))}</title>`;
    s += `<line x1="${num(p.px)}" x2="${num(p.px)}" y1="${num(p.row === undefined ? top : ly + 3)}" y2="${num(bottom)}" stroke="${st.colour}" stroke-width="1.6"${st.dash ? ` stroke-dasharray="${st.dash}"` : ''}/>`;
    if (p.row !== undefined) {
      s += `<text x="${num(p.anchorEnd ? p.px - 3 : p.px + 3)}" y="${num(ly)}"${p.anchorEnd ? ' text-anchor="end"' : ''} fill="${st.colour}" class="marker-label">${esc(p.text)}</text>`;
    }
    s += '</g>';
  }
  return s;
}

function trimUnit(us: number, unit: AxisUnit): string {
  const v = us / unit.div;
  const digits = unit.unit === 's' ? 3 : unit.unit === 'ms' ? 1 : 0;
  return `${v.toFixed(digits)} ${unit.unit}`;
}

export interface TimeSequenceOptions {
  /** 'zoom': around the crash; 'full': the whole run. */
  span: 'zoom' | 'full';
  /** Draw individual connections in a second panel. */
  individuals: boolean;
}

/** The window around the failover: from a little before the crash to a little after the last marker or the end of the stall. */
export function failoverWindow(r: DemoReport, conns: ReadonlyArray<{ samples: Point[] }>): Window | undefined {
  const full = dataRange(conns, r.markers);
  const crash = crashMarker(r);
  if (!full || !crash) return full;
  const stall = aggregateStall(conns, stallAnchor(r, crash));
  const lastMarker = maxOf(r.markers.map((m) => m.tUs), crash.tUs);
  const end = Math.max(lastMarker, stall?.endUs ?? crash.tUs);
  const start = Math.min(crash.tUs, stall?.startUs ?? crash.tUs);
  const pad = Math.max((end - start) * 0.6, 2_000);
  return { t0: Math.max(full.t0, start - pad), t1: Math.min(full.t1, end + pad) };
}

/**
 * Where to look for the client's stall: the takeover when there is one (bytes already in
 * flight keep arriving for a while after the crash itself), else the crash.
 */
export function stallAnchor(r: DemoReport, crash: ReportMarker): number {
  const takeover = r.markers.filter((m) => Number.isFinite(m.tUs) && m.tUs >= crash.tUs && /takeover|took over/i.test(m.label))
    .sort((a, b) => a.tUs - b.tUs)[0];
  return takeover?.tUs ?? crash.tUs;
}

export function crashMarker(r: DemoReport): ReportMarker | undefined {
  return r.markers.filter((m) => Number.isFinite(m.tUs) && /crash|kill/i.test(m.label)).sort((a, b) => a.tUs - b.tUs)[0];
}

/** The client's time–sequence graph: bytes received over time, aggregate (and a few connections), with markers and the pause shaded. */
export function timeSequenceChart(r: DemoReport, opts: TimeSequenceOptions): string {
  const conns = r.connections.map((c) => ({ c, samples: finiteSamples(c.samples) }));
  const w = opts.span === 'zoom' ? failoverWindow(r, conns) : dataRange(conns, r.markers);
  if (!w || conns.every((c) => c.samples.length === 0)) {
    return emptyChart('No byte samples were recorded for any connection.');
  }
  const crash = crashMarker(r);
  const stall = crash ? aggregateStall(conns, stallAnchor(r, crash)) : undefined;
  const left = 86;
  const right = WIDTH - 24;
  const x = linearScale(w.t0, w.t1, left, right);
  const tUnit = timeUnitFor(x.domain[1] - x.domain[0]);
  const labelRows = Math.max(1, layoutMarkers(r.markers, x, tUnit).rows);
  const top = 22 + labelRows * 15;
  const aggH = opts.individuals ? 190 : 150;
  const indH = 150;
  const gap = 34;
  const aggBottom = top + aggH;
  const indTop = aggBottom + gap;
  const plotBottom = opts.individuals ? indTop + indH : aggBottom;
  const height = plotBottom + 50;

  const agg = aggregateSeries(conns, w, stall ? [stall.startUs, stall.endUs] : []);
  const aggMax = Math.max(1, maxOf(agg.map((p) => p[1]), 0));
  const aggMin = opts.span === 'zoom' ? minOf(agg.map((p) => p[1]), 0) : 0;
  const yAgg = linearScale(aggMin, aggMax + (aggMax - aggMin) * 0.04, aggBottom, top);
  const aggUnit = byteUnitFor(aggMax);

  let s = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${num(height)}" class="chart" role="img" aria-label="Bytes received by the client over time" ${FONT}>`;
  // Pause shading (behind everything).
  let pauseLabel = '';
  if (stall) {
    const xa = x(Math.max(stall.startUs, x.domain[0]));
    const xb = x(Math.min(stall.endUs, x.domain[1]));
    const wpx = Math.max(2, xb - xa);
    s += `<g class="pause"><title>No connection received a byte for ${esc(formatDurationUs(stall.endUs - stall.startUs))} (${esc(formatDurationUs(stall.startUs))} → ${esc(formatDurationUs(stall.endUs))})</title>`;
    s += `<rect x="${num(xa)}" y="${num(top)}" width="${num(wpx)}" height="${num(plotBottom - top)}" fill="#D55E00" fill-opacity="0.13"/>`;
    s += '</g>';
    const label = `pause ${formatDurationUs(stall.endUs - stall.startUs)}`;
    // Inside the band when it is wide enough, else just left of it; drawn over the grid and series.
    const labelPx = label.length * 7.5 + 8;
    const inside = wpx > labelPx;
    const leftOk = xa - labelPx > left;
    const lx = inside ? xa + wpx / 2 : leftOk ? xa - 5 : xa + wpx + 5;
    const anchor = inside ? 'middle' : leftOk ? 'end' : 'start';
    pauseLabel = `<text x="${num(lx)}" y="${num(top + 16)}" text-anchor="${anchor}" class="pause-label" paint-order="stroke" stroke="#fff" stroke-width="4" stroke-opacity="0.9">${esc(label)}</text>`;
  }
  s += yAxis(yAgg, left, right, aggUnit, opts.individuals ? 'all connections' : 'bytes received');
  const aggPts = downsample(agg, CHART_LIMITS.pointsPerSeries).map((p) => [x(p[0]), yAgg(p[1])] as Point);
  if (aggPts.length > 0) {
    const line = stepPath(aggPts);
    s += `<path d="${line}V${num(aggBottom)}H${num(aggPts[0]![0])}Z" fill="#0072B2" fill-opacity="0.12" stroke="none"/>`;
    s += `<path d="${line}" fill="none" stroke="#0072B2" stroke-width="2" class="series aggregate"><title>All ${r.connections.length} connections: ${esc(formatBytes(agg[agg.length - 1]![1]))} received by ${esc(formatDurationUs(w.t1))}</title></path>`;
  }
  if (opts.individuals) {
    const picked = pickConnections(r, crash?.tUs, w);
    // Each connection relative to its own value at the window's start, so slopes and stalls line up.
    const series = picked.map((c) => {
      const pts = windowed(finiteSamples(c.samples), w);
      const base = pts[0]![1];
      return pts.map((p) => [p[0], p[1] - base] as Point);
    });
    const indMax = Math.max(1, maxOf(series.flatMap((p) => p.map((q) => q[1])), 0));
    const yInd = linearScale(0, indMax * 1.04, indTop + indH, indTop);
    s += yAxis(yInd, left, right, byteUnitFor(indMax), 'each connection', 4);
    picked.forEach((c, i) => {
      const colour = PALETTE[(i + 1) % PALETTE.length]!;
      const dash = ['', '6 3', '2 2', '8 3 2 3', '1 3'][i % 5]!;
      const pts = downsample(series[i]!, CHART_LIMITS.pointsPerSeries).map((p) => [x(p[0]), yInd(p[1])] as Point);
      const pause = pauseOf(c, crash?.tUs);
      s += `<path d="${stepPath(pts)}" fill="none" stroke="${colour}" stroke-width="1.8"${dash ? ` stroke-dasharray="${dash}"` : ''} class="series connection"><title>${esc(c.id)}: ${esc(formatBytes(c.bytes))}${pause !== undefined ? `, pause ${esc(formatDurationUs(pause))}` : ''}${c.ok ? '' : ' — FAILED'}</title></path>`;
    });
    // Legend, top-left of the lower panel.
    let lx = left + 10;
    picked.forEach((c, i) => {
      const colour = PALETTE[(i + 1) % PALETTE.length]!;
      const dash = ['', '6 3', '2 2', '8 3 2 3', '1 3'][i % 5]!;
      const label = `${c.id}${c.ok ? '' : ' ✗'}`;
      s += `<line x1="${num(lx)}" x2="${num(lx + 22)}" y1="${num(indTop + 10)}" y2="${num(indTop + 10)}" stroke="${colour}" stroke-width="2.4"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`;
      s += `<text x="${num(lx + 27)}" y="${num(indTop + 14)}" class="legend">${esc(label)}</text>`;
      lx += 40 + label.length * 7;
    });
  }
  s += pauseLabel;
  s += markerLayer(r.markers, x, top, plotBottom, tUnit);
  s += xAxis(x, plotBottom, tUnit, 'time since start');
  s += '</svg>';
  return s;
}

/** Bars of how many items fell into each duration bin (values in µs). */
export function histogramChart(valuesUs: ReadonlyArray<number>, what: string, countOf: string): string {
  const vals = valuesUs.filter((v) => Number.isFinite(v) && v >= 0);
  if (vals.length === 0) return emptyChart(`No ${what} values were measured.`);
  const max = maxOf(vals, 0);
  const unit = timeUnitFor(Math.max(max, 1));
  const step = max === 0 ? 1 : niceStep(0, max, CHART_LIMITS.histogramBins - 2);
  const bins = Math.max(1, Math.min(CHART_LIMITS.histogramBins, Math.floor(max / step) + 1));
  const counts = new Array<number>(bins).fill(0);
  for (const v of vals) counts[Math.min(bins - 1, Math.floor(v / step))]! += 1;
  const left = 86;
  const right = WIDTH - 24;
  const top = 16;
  const bottom = 196;
  const x = linearScale(0, bins * step, left, right);
  const y = linearScale(0, maxOf(counts, 1) * 1.08, bottom, top);
  let s = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${bottom + 50}" class="chart" role="img" aria-label="Histogram of ${esc(what)}" ${FONT}>`;
  s += yAxis(y, left, right, { div: 1, unit: '' }, countOf, 4);
  counts.forEach((n, i) => {
    if (n === 0) return;
    const x0 = x(i * step) + 1;
    const x1 = x((i + 1) * step) - 1;
    s += `<rect x="${num(x0)}" y="${num(y(n))}" width="${num(Math.max(1, x1 - x0))}" height="${num(bottom - y(n))}" fill="#0072B2" class="bar"><title>${n} with ${esc(what)} ${esc(formatDurationUs(i * step))} – ${esc(formatDurationUs((i + 1) * step))}</title></rect>`;
    s += `<text x="${num((x0 + x1) / 2)}" y="${num(y(n) - 4)}" text-anchor="middle" class="tick">${n}</text>`;
  });
  s += xAxis(x, bottom, unit, what);
  s += '</svg>';
  return s;
}

/** Times at which a call's cumulative RTP count increased. */
function arrivals(call: ReportCall): number[] {
  const out: number[] = [];
  let prev = 0;
  for (const [t, n] of finiteSamples(call.rtp)) {
    if (n > prev) out.push(t);
    prev = Math.max(prev, n);
  }
  return out;
}

/** One strip per call: filled where RTP flowed, blank where it stopped; failover markers across all strips. */
export function callStripsChart(r: DemoReport): string {
  const calls = r.calls ?? [];
  if (calls.length === 0) return emptyChart('No calls in this run.');
  const shown = [...calls]
    .sort((a, b) => Number(a.preserved) - Number(b.preserved) || b.gapMsMax - a.gapMsMax || (a.id < b.id ? -1 : 1))
    .slice(0, CHART_LIMITS.callsDrawn);
  const arr = shown.map(arrivals);
  let t0 = Infinity;
  let t1 = -Infinity;
  for (const a of arr) if (a.length > 0) { t0 = Math.min(t0, a[0]!); t1 = Math.max(t1, a[a.length - 1]!); }
  for (const m of r.markers) if (Number.isFinite(m.tUs)) { t0 = Math.min(t0, m.tUs); t1 = Math.max(t1, m.tUs); }
  if (!Number.isFinite(t0)) return emptyChart('No RTP packets were recorded.');
  const left = 120;
  const right = WIDTH - 110;
  const x = linearScale(t0, t1, left, right);
  const unit = timeUnitFor(x.domain[1] - x.domain[0]);
  const rowH = 14;
  const labelRows = Math.max(1, layoutMarkers(r.markers, x, unit).rows);
  const top = 22 + labelRows * 15;
  const bottom = top + shown.length * rowH + 4;
  let s = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${num(bottom + 50)}" class="chart" role="img" aria-label="RTP packets per call over time" ${FONT}>`;
  shown.forEach((call, i) => {
    const a = arr[i]!;
    const y = top + i * rowH + 2;
    const colour = call.preserved ? '#009E73' : '#D55E00';
    // A stretch is "flowing" while packets arrive no further apart than 3× the call's median spacing.
    const spacings = a.slice(1).map((t, k) => t - a[k]!).sort((p, q) => p - q);
    const median = spacings.length > 0 ? spacings[Math.floor(spacings.length / 2)]! : 0;
    const joinUs = Math.max(median * 3, (x.domain[1] - x.domain[0]) / (right - left));
    const runs: Array<[number, number]> = [];
    for (const t of a) {
      const last = runs[runs.length - 1];
      if (last && t - last[1] <= joinUs) last[1] = t; else runs.push([t, t]);
    }
    const drawn = runs.length > CHART_LIMITS.segmentsPerCall ? mergeRuns(runs, CHART_LIMITS.segmentsPerCall) : runs;
    s += `<g class="call-strip"><title>${esc(call.id)}: ${a.length} packet arrivals, largest gap ${esc(formatDurationUs(call.gapMsMax * 1000))}, ${call.preserved ? 'preserved' : 'NOT preserved'}</title>`;
    s += `<rect x="${left}" y="${num(y)}" width="${right - left}" height="${rowH - 4}" fill="#f1f1f1"/>`;
    for (const [ra, rb] of drawn) {
      const xa = x(ra);
      s += `<rect x="${num(xa)}" y="${num(y)}" width="${num(Math.max(1.5, x(rb) - xa))}" height="${rowH - 4}" fill="${colour}"/>`;
    }
    s += `<text x="${left - 8}" y="${num(y + rowH - 5)}" text-anchor="end" class="tick">${esc(clip(call.id, 16))}</text>`;
    s += `<text x="${right + 8}" y="${num(y + rowH - 5)}" class="tick">${call.preserved ? '' : '✗ '}gap ${esc(formatDurationUs(call.gapMsMax * 1000))}</text></g>`;
  });
  s += markerLayer(r.markers, x, top, bottom, unit);
  s += xAxis(x, bottom, unit, 'time since start');
  s += '</svg>';
  return s;
}

function mergeRuns(runs: Array<[number, number]>, max: number): Array<[number, number]> {
  // Keep the largest gaps (they are what the reader looks for); close the smallest.
  const gaps = runs.slice(1).map((r, i) => ({ i, g: r[0] - runs[i]![1] })).sort((a, b) => b.g - a.g).slice(0, max - 1);
  const cut = new Set(gaps.map((g) => g.i));
  const out: Array<[number, number]> = [];
  let cur: [number, number] = [runs[0]![0], runs[0]![1]];
  for (let i = 1; i < runs.length; i++) {
    if (cut.has(i - 1)) { out.push(cur); cur = [runs[i]![0], runs[i]![1]]; } else cur[1] = runs[i]![1];
  }
  out.push(cur);
  return out;
}

function clip(s: string, n: number): string {
  return s.length <= n ? s : s.slice(0, n - 1) + '…';
}

function emptyChart(message: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} 60" class="chart empty" role="img" aria-label="${esc(message)}" ${FONT}><rect x="1" y="1" width="${WIDTH - 2}" height="58" fill="#fafafa" stroke="#ddd"/><text x="${WIDTH / 2}" y="35" text-anchor="middle" class="tick">${esc(message)}</text></svg>`;
}
