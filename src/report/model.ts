// The failover report's input: plain JSON data that the demo and the benches produce
// and render.ts turns into one HTML page. Types and small pure derivations only —
// no drawing here, no I/O.

export type Technique = 'sttcp' | 'craft' | 'calls' | 'tcp';

/** One line of the narrative ("primary crashed", "takeover complete", ...). */
export interface ReportEvent {
  /** Time since the start of the run, integer microseconds. */
  tUs: number;
  /** Short machine-ish tag shown as a chip: 'crash', 'detected', 'takeover', 'verify', ... */
  kind: string;
  text: string;
}

/** A vertical line on the charts. Labels containing crash / detect / takeover / resum get their own colour and dash. */
export interface ReportMarker {
  tUs: number;
  label: string;
}

export interface ReportConnection {
  id: string;
  /** [tUs, cumulative bytes received by the client], time ascending. */
  samples: Array<[number, number]>;
  /** Measured client-visible pause at the failover (last byte before to first byte after). */
  pauseUs?: number;
  /** Bytes the client received in total. */
  bytes: number;
  sha256?: string;
  /** True when the stream was byte-exact and not reset. */
  ok: boolean;
  note?: string;
}

export interface ReportCall {
  id: string;
  /** [tUs, cumulative RTP packets received for this call], time ascending. A gap is a stretch with no increase. */
  rtp: Array<[number, number]>;
  /** Largest gap between consecutive RTP packets, milliseconds. */
  gapMsMax: number;
  preserved: boolean;
}

export interface ReportSummaryRow {
  name: string;
  value: string;
  /** true: a promise kept; false: a promise broken; absent: informational. */
  ok?: boolean;
}

export interface ReportFile {
  /** File name relative to the report (beside it), e.g. 'client.pcap'. */
  name: string;
  description: string;
}

export interface DemoReport {
  title: string;
  seed?: number;
  replayCommand?: string;
  technique: Technique;
  events: ReportEvent[];
  markers: ReportMarker[];
  connections: ReportConnection[];
  calls?: ReportCall[];
  summary: ReportSummaryRow[];
  files?: ReportFile[];
}

export interface Verdict {
  kept: boolean;
  /** One sentence for the headline. */
  headline: string;
  /** What broke, one line each (empty when kept). */
  problems: string[];
}

/** The promise is kept when every connection is ok, every call preserved and no summary row is marked false. */
export function verdictOf(r: DemoReport): Verdict {
  const problems: string[] = [];
  const badConns = r.connections.filter((c) => !c.ok);
  if (badConns.length > 0) {
    const ids = badConns.slice(0, 5).map((c) => c.id + (c.note ? ` (${c.note})` : '')).join(', ');
    problems.push(`${badConns.length} of ${r.connections.length} connections failed: ${ids}${badConns.length > 5 ? ', …' : ''}`);
  }
  const calls = r.calls ?? [];
  const lost = calls.filter((c) => !c.preserved);
  if (lost.length > 0) {
    const ids = lost.slice(0, 5).map((c) => c.id).join(', ');
    problems.push(`${lost.length} of ${calls.length} calls were not preserved: ${ids}${lost.length > 5 ? ', …' : ''}`);
  }
  for (const row of r.summary) {
    if (row.ok === false) problems.push(`${row.name}: ${row.value}`);
  }
  const kept = problems.length === 0;
  const parts: string[] = [];
  if (r.connections.length > 0) {
    parts.push(`${r.connections.length - badConns.length} of ${r.connections.length} connection${r.connections.length === 1 ? '' : 's'} intact`);
  }
  if (calls.length > 0) parts.push(`${calls.length - lost.length} of ${calls.length} calls preserved`);
  const pauses = r.connections.map(pauseOf).filter((p): p is number => p !== undefined);
  if (pauses.length > 0) parts.push(`longest pause ${formatDurationUs(maxOf(pauses, 0))}`);
  const gaps = calls.map((c) => c.gapMsMax).filter((g) => Number.isFinite(g));
  if (gaps.length > 0) parts.push(`largest RTP gap ${formatDurationUs(maxOf(gaps, 0) * 1000)}`);
  const headline = (kept ? 'Promise kept' : 'Promise broken') + (parts.length > 0 ? ': ' + parts.join(', ') : '');
  return { kept, headline, problems };
}

/** The connection's pause: the measured figure when given, else derived from its samples around the first crash marker. */
export function pauseOf(c: ReportConnection, crashUs?: number): number | undefined {
  if (c.pauseUs !== undefined && Number.isFinite(c.pauseUs) && c.pauseUs >= 0) return c.pauseUs;
  if (crashUs === undefined) return undefined;
  const gap = stallAround(c.samples, crashUs);
  return gap ? gap.endUs - gap.startUs : undefined;
}

/**
 * The stall that contains `atUs` in a cumulative series: from the last increase at or
 * before atUs to the first increase after it. Undefined when nothing arrives after atUs.
 */
export function stallAround(samples: ReadonlyArray<readonly [number, number]>, atUs: number): { startUs: number; endUs: number } | undefined {
  let startUs: number | undefined;
  let prev: number | undefined;
  for (const [t, v] of samples) {
    if (!Number.isFinite(t) || !Number.isFinite(v)) continue;
    const increased = prev === undefined ? v > 0 : v > prev;
    if (t <= atUs) {
      if (increased || startUs === undefined) startUs = t;
    } else if (increased) {
      return { startUs: startUs ?? atUs, endUs: t };
    }
    prev = v;
  }
  return undefined;
}

export function firstMarker(r: DemoReport, pattern: RegExp): ReportMarker | undefined {
  return r.markers.filter((m) => pattern.test(m.label) && Number.isFinite(m.tUs)).sort((a, b) => a.tUs - b.tUs)[0];
}

/** Largest finite value (a loop: Math.max(...xs) overflows the stack on very long arrays). */
export function maxOf(xs: Iterable<number>, fallback: number): number {
  let m = -Infinity;
  for (const x of xs) if (x > m && Number.isFinite(x)) m = x;
  return m === -Infinity ? fallback : m;
}

/** Smallest finite value; `fallback` when there is none. */
export function minOf(xs: Iterable<number>, fallback: number): number {
  let m = Infinity;
  for (const x of xs) if (x < m && Number.isFinite(x)) m = x;
  return m === Infinity ? fallback : m;
}

/** "850 µs", "12.3 ms", "4.20 s" — for labels and text. */
export function formatDurationUs(us: number): string {
  if (!Number.isFinite(us)) return '—';
  const a = Math.abs(us);
  if (a < 1000) return `${Math.round(us)} µs`;
  if (a < 1_000_000) return `${trimNum(us / 1000, a < 10_000 ? 2 : 1)} ms`;
  return `${trimNum(us / 1_000_000, 2)} s`;
}

/** "512 B", "1.5 KiB", "200 MiB". */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return i === 0 ? `${Math.round(v)} B` : `${trimNum(v, Math.abs(v) < 10 ? 2 : 1)} ${units[i]}`;
}

function trimNum(v: number, digits: number): string {
  return v.toFixed(digits).replace(/\.?0+$/, '');
}
