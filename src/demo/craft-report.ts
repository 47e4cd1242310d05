// The HTML report of `unbroken demo craft`: from the run's client-side time–sequence
// series (stream-recorder.ts) and its events, a DemoReport (src/report/model.ts) with
// both crashes marked — the active splicer's and a back end's — and each download's
// pause measured as the longest stall around either crash. No drawing (src/report/).
import type { DemoReport, ReportConnection, ReportEvent, ReportMarker, ReportSummaryRow } from '../report/model.js';
import { formatDurationUs } from '../report/model.js';
import type { StreamRecorder } from './stream-recorder.js';

export interface CraftDownload {
  /** The client's connection id "clientIp:port>serverIp:port" (undefined if it never opened). */
  connId: string | undefined;
  expectedBytes: number;
  bodyBytes: number;
  byteExact: boolean;
  close: string | undefined;
  firstBackend: string | undefined;
}

export interface CraftReportInput {
  seed: number;
  replayCommand: string;
  downloads: CraftDownload[];
  streams: StreamRecorder;
  splicerCrashUs: number | undefined;
  takeoverUs: number | undefined;
  backendCrashUs: number | undefined;
  /** When the splicer re-spliced the first download away from the crashed back end. */
  respliceUs: number | undefined;
  clientRsts: number;
  events: ReportEvent[];
  files: Array<{ name: string; description: string }>;
}

/** How long after a crash a stall still counts as caused by it. */
const STALL_WINDOW_US = 1_000_000;

/**
 * The longest time a cumulative series stood still that ended after `fromUs` and began
 * before `untilUs`: the client-visible pause a crash at fromUs caused (bytes already in
 * flight may arrive after the crash, so the stall can begin after it).
 */
export function longestStallAfter(samples: ReadonlyArray<readonly [number, number]>, fromUs: number, untilUs: number): number | undefined {
  let best: number | undefined;
  let lastIncreaseUs: number | undefined;
  let prev: number | undefined;
  for (const [t, v] of samples) {
    const increased = prev === undefined || v > prev;
    prev = v;
    if (!increased) continue;
    if (lastIncreaseUs !== undefined && t > fromUs && lastIncreaseUs < untilUs) best = Math.max(best ?? 0, t - lastIncreaseUs);
    lastIncreaseUs = t;
  }
  return best;
}

export function craftReport(i: CraftReportInput): DemoReport {
  const crashes = [i.splicerCrashUs, i.backendCrashUs].filter((t): t is number => t !== undefined).sort((a, b) => a - b);
  // Each crash's window ends at the next crash (or a second later).
  const windows = crashes.map((c, k) => [c, Math.min(c + STALL_WINDOW_US, crashes[k + 1] ?? Infinity)] as const);
  const stall = (samples: ReadonlyArray<readonly [number, number]>, w: readonly [number, number]): number | undefined => longestStallAfter(samples, w[0], w[1]);
  const connections: ReportConnection[] = i.downloads.map((d, k) => {
    const clientEnd = d.connId?.split('>')[0];
    const rec = clientEnd !== undefined ? i.streams.byClientEnd(clientEnd) : undefined;
    const ok = d.byteExact && d.close === 'closed' && d.bodyBytes === d.expectedBytes;
    const samples = rec?.samples() ?? [];
    const pauses = windows.map((w) => stall(samples, w)).filter((p): p is number => p !== undefined);
    return {
      id: `download ${k} (${d.firstBackend ?? '?'})`,
      samples,
      bytes: rec?.total() ?? 0,
      ok,
      ...(pauses.length > 0 ? { pauseUs: Math.max(...pauses) } : {}),
      ...(ok ? {} : { note: `${d.bodyBytes} of ${d.expectedBytes} body bytes, ${d.byteExact ? 'exact' : 'differs'}, ${d.close ?? 'not closed'}` }),
    };
  });
  const markers: ReportMarker[] = [
    ...(i.splicerCrashUs !== undefined ? [{ tUs: i.splicerCrashUs, label: 'crash: splicer A' }] : []),
    ...(i.takeoverUs !== undefined ? [{ tUs: i.takeoverUs, label: 'takeover: splicer B' }] : []),
    ...(i.backendCrashUs !== undefined ? [{ tUs: i.backendCrashUs, label: 'crash: back end b0' }] : []),
    ...(i.respliceUs !== undefined ? [{ tUs: i.respliceUs, label: 'resumed: re-spliced to b1' }] : []),
  ];
  const exact = connections.filter((c) => c.ok).length;
  const pauseNear = (crashUs: number | undefined): number | undefined => {
    const w = windows.find((x) => x[0] === crashUs);
    if (w === undefined) return undefined;
    let m: number | undefined;
    for (const c of connections) {
      const p = stall(c.samples, w);
      if (p !== undefined) m = Math.max(m ?? 0, p);
    }
    return m;
  };
  const ps = pauseNear(i.splicerCrashUs);
  const pb = pauseNear(i.backendCrashUs);
  const summary: ReportSummaryRow[] = [
    { name: 'downloads byte-exact and closed normally', value: `${exact} of ${connections.length}`, ok: exact === connections.length },
    { name: 'RSTs reaching a client before its response was complete', value: String(i.clientRsts), ok: i.clientRsts === 0 },
    { name: 'longest client pause at the splicer crash', value: ps === undefined ? '—' : formatDurationUs(ps) },
    { name: 'longest client pause at the back-end crash', value: pb === undefined ? '—' : formatDurationUs(pb) },
    ...(i.takeoverUs !== undefined && i.splicerCrashUs !== undefined ? [{ name: 'standby splicer took over after', value: formatDurationUs(i.takeoverUs - i.splicerCrashUs) }] : []),
    ...(i.respliceUs !== undefined && i.backendCrashUs !== undefined ? [{ name: 'first download re-spliced after the back-end crash', value: formatDurationUs(i.respliceUs - i.backendCrashUs) }] : []),
  ];
  return {
    title: 'CRAFT: the active splicer crashes, then a back end, under spliced downloads',
    seed: i.seed,
    replayCommand: i.replayCommand,
    technique: 'craft',
    events: [...i.events].sort((a, b) => a.tUs - b.tUs),
    markers,
    connections,
    summary,
    files: i.files,
  };
}
