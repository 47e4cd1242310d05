// What a client received, read off the wire: a FrameSink for the simulator's client
// port (rx side) that turns every TCP segment arriving at the client into a time–sequence
// series per connection — the highest stream byte received so far, relative to the
// server's ISN — bounded by ArrivalRecorder. For demos whose scenario does not record
// its clients' arrivals itself (CRAFT). Pure; the simulator passes the time.
import type { FrameSink } from '../sim/link.js';
import { TcpObserver, type ObservedSegment } from '../sim/tcp-observer.js';
import { seqDiff } from '../tcp/seq.js';
import { ArrivalRecorder } from '../report/recorder.js';

/** Connections followed at most; more are counted in `untracked`. */
export const STREAM_RECORDER_MAX_FLOWS = 1024;

interface Flow { recorder: ArrivalRecorder; base: number | undefined; high: number }

export class StreamRecorder implements FrameSink {
  private readonly observer: TcpObserver;
  private readonly flows = new Map<string, Flow>();
  untracked = 0;

  constructor() {
    this.observer = new TcpObserver((s) => this.onSegment(s));
  }

  record(timeUs: number, frame: Uint8Array): void { this.observer.record(timeUs, frame); }

  private onSegment(s: ObservedSegment): void {
    let f = this.flows.get(s.flow);
    if (!f) {
      if (this.flows.size >= STREAM_RECORDER_MAX_FLOWS) { this.untracked++; return; }
      f = { recorder: new ArrivalRecorder(2048, 100), base: undefined, high: 0 };
      this.flows.set(s.flow, f);
    }
    if (s.flags.syn) {
      // The SYN-ACK: stream byte 0 is the one after the ISN.
      if (f.base === undefined) { f.base = (s.seq + 1) >>> 0; f.recorder.mark(s.timeUs); }
      return;
    }
    if (s.payloadBytes === 0) return;
    // Joined without seeing the handshake: count from the first data byte seen.
    if (f.base === undefined) { f.base = s.seq; f.recorder.mark(s.timeUs); }
    const end = seqDiff((s.seq + s.payloadBytes) >>> 0, f.base);
    if (end > f.high) { f.recorder.record(s.timeUs, end - f.high); f.high = end; }
  }

  /** Flows in first-seen order: "server:port>client:port" and the recorder of its stream. */
  streams(): Array<{ flow: string; recorder: ArrivalRecorder }> {
    return [...this.flows].filter(([, f]) => f.high > 0).map(([flow, f]) => ({ flow, recorder: f.recorder }));
  }

  /** The stream whose client end is `clientEnd` ("ip:port"), if seen. */
  byClientEnd(clientEnd: string): ArrivalRecorder | undefined {
    for (const [flow, f] of this.flows) if (flow.endsWith(`>${clientEnd}`)) return f.recorder;
    return undefined;
  }
}
