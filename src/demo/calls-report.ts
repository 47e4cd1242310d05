// The HTML report of `unbroken demo calls`: RTP packet arrivals per call direction,
// recorded as the simulator delivers them (CallSim's onRtp), turned into a DemoReport
// with the controller crash, the gateways' detection and the rebuild marked. The calls
// drawn are those the promise covers: stable when the controller crashed. No drawing here.
import { ArrivalRecorder } from '../report/recorder.js';
import type { DemoReport, ReportCall, ReportEvent, ReportSummaryRow } from '../report/model.js';
// A call's gap is measured per direction (RTP packets received by one gateway of it) within
// the failover window, from the crash to the rebuild; its strip counts both directions.
import { formatDurationUs } from '../report/model.js';
import { parseRecord } from '../calls/record/call-record.js';
import type { MediaGateway } from '../calls/gateway/media-gateway.js';

/** Call directions followed at most (a bound on memory). */
export const RTP_STREAMS_MAX = 512;

/**
 * RTP arrivals per call (both directions, for the strip) and per direction (keyed
 * "callId → mgN", for the gap: one direction may stop while the other flows).
 */
export class RtpArrivals {
  private readonly streams = new Map<string, { callId: string; recorder: ArrivalRecorder }>();
  private readonly calls = new Map<string, ArrivalRecorder>();
  untracked = 0;
  unmapped = 0;

  /** A datagram reached `gw`'s RTP `port` at tUs: find the call its context belongs to and count it. */
  record(gw: MediaGateway, port: number, tUs: number): void {
    const term = gw.rtpTerminations().find((t) => t.port === port);
    const ctx = term ? gw.contextsView().find((c) => c.terms.includes(term.termId)) : undefined;
    const rec = ctx?.records[0] !== undefined ? parseRecord(ctx.records[0]) : undefined;
    if (!rec?.ok) { this.unmapped++; return; }
    const key = `${rec.value.callId} → ${gw.cfg.mgId}`;
    let s = this.streams.get(key);
    if (!s) {
      if (this.streams.size >= RTP_STREAMS_MAX) { this.untracked++; return; }
      s = { callId: rec.value.callId, recorder: new ArrivalRecorder(4096, 1000) };
      this.streams.set(key, s);
    }
    s.recorder.record(tUs, 1);
    let c = this.calls.get(rec.value.callId);
    if (!c) { c = new ArrivalRecorder(4096, 1000); this.calls.set(rec.value.callId, c); }
    c.record(tUs, 1);
  }

  /** Per direction. */
  entries(): Array<{ id: string; callId: string; recorder: ArrivalRecorder }> {
    return [...this.streams].map(([id, s]) => ({ id, ...s }));
  }

  /** Per call, both directions together. */
  callIds(): string[] { return [...this.calls.keys()]; }
  ofCall(callId: string): ArrivalRecorder | undefined { return this.calls.get(callId); }
}

/** Longest time between two packets of a series that overlaps [fromUs, untilUs]. */
export function longestGapOverlapping(samples: ReadonlyArray<readonly [number, number]>, fromUs: number, untilUs: number): number {
  let best = 0;
  let lastUs: number | undefined;
  let prev: number | undefined;
  for (const [t, v] of samples) {
    const arrived = prev === undefined || v > prev;
    prev = v;
    if (!arrived) continue;
    if (lastUs !== undefined && t >= fromUs && lastUs <= untilUs) best = Math.max(best, t - lastUs);
    lastUs = t;
  }
  return best;
}

export interface CallsReportInput {
  seed: number;
  replayCommand: string;
  arrivals: RtpArrivals;
  crashUs: number;
  detectionUs: number | undefined;
  controllableAgainUs: number | undefined;
  stableAtCrash: readonly string[];
  preserved: readonly string[];
  violations: readonly string[];
  summary: ReportSummaryRow[];
  events: ReportEvent[];
}

export function callsReport(i: CallsReportInput): DemoReport {
  const stable = new Set(i.stableAtCrash);
  const preserved = new Set(i.preserved);
  const windowEndUs = i.crashUs + (i.controllableAgainUs ?? i.detectionUs ?? 0);
  const directions = i.arrivals.entries();
  const calls: ReportCall[] = i.stableAtCrash.map((id) => {
    const dirs = directions.filter((d) => d.callId === id);
    // The gap of the direction that waited longest: one side may stop while the other flows.
    const gaps = dirs.map((d) => longestGapOverlapping(d.recorder.samples(), i.crashUs, windowEndUs));
    return {
      id: `call ${id}`,
      rtp: i.arrivals.ofCall(id)?.samples() ?? [],
      // No packet at all: the whole window was a gap (at least).
      gapMsMax: (gaps.length > 0 ? Math.max(...gaps) : windowEndUs - i.crashUs) / 1000,
      preserved: preserved.has(id),
    };
  });
  const gaps = calls.map((c) => c.gapMsMax).filter((g) => Number.isFinite(g));
  return {
    title: 'Calls: the H.248 call controller crashes mid-call',
    seed: i.seed,
    replayCommand: i.replayCommand,
    technique: 'calls',
    events: [...i.events].sort((a, b) => a.tUs - b.tUs),
    markers: [
      { tUs: i.crashUs, label: 'crash: primary controller' },
      ...(i.detectionUs !== undefined ? [{ tUs: i.crashUs + i.detectionUs, label: 'detected: gateways fail over' }] : []),
      ...(i.controllableAgainUs !== undefined ? [{ tUs: i.crashUs + i.controllableAgainUs, label: 'takeover: calls rebuilt' }] : []),
    ],
    connections: [],
    calls,
    summary: [
      ...i.summary,
      { name: 'calls drawn: those stable at the crash', value: String(calls.length) },
      { name: 'largest RTP gap across the failover', value: gaps.length > 0 ? formatDurationUs(Math.max(...gaps) * 1000) : '—' },
    ],
  };
}
