// Test helper: a tiny frame pump joining FrameEndpoints on one shared segment (a hub),
// with fake time. It drains pollTransmit after every call and advances time to the
// next deadline or delivery, as a driver must. Not used at runtime.
import type { FrameEndpoint } from './endpoint.js';

interface InFlight { atUs: number; from: number; to: number; frame: Uint8Array }

export class Pump {
  nowUs = 0;
  private inflight: InFlight[] = [];
  /** Every frame sent, in order (for trace assertions). */
  readonly sent: Array<{ atUs: number; from: number; frame: Uint8Array }> = [];
  /** Rewrites or drops (undefined) a frame on its way from `from` to `to`. */
  filter: ((frame: Uint8Array, from: number, to: number) => Uint8Array | undefined) | undefined;

  constructor(readonly hosts: FrameEndpoint[], readonly latencyUs = 50) {}

  /** Drains every host's transmit queue onto the wire. */
  drain(): void {
    for (let i = 0; i < this.hosts.length; i++) {
      const h = this.hosts[i]!;
      for (let f = h.pollTransmit(); f !== undefined; f = h.pollTransmit()) {
        this.sent.push({ atUs: this.nowUs, from: i, frame: f.frame });
        for (let j = 0; j < this.hosts.length; j++) {
          if (j !== i) this.inflight.push({ atUs: this.nowUs + this.latencyUs, from: i, to: j, frame: f.frame });
        }
      }
    }
  }

  /** Advances to the next event (delivery or deadline); false when nothing is left to do. */
  step(maxUs = Number.MAX_SAFE_INTEGER): boolean {
    this.drain();
    let next = this.inflight.length > 0 ? this.inflight[0]!.atUs : undefined;
    for (const h of this.hosts) {
      const d = h.pollDeadline();
      if (d !== undefined && (next === undefined || d < next)) next = d;
    }
    if (next === undefined || next > maxUs) return false;
    this.nowUs = Math.max(this.nowUs, next);
    let k = 0;
    while (k < this.inflight.length && this.inflight[k]!.atUs <= this.nowUs) k++;
    const due = this.inflight.splice(0, k);
    for (const d of due) {
      const frame = this.filter ? this.filter(d.frame, d.from, d.to) : d.frame;
      if (frame !== undefined) this.hosts[d.to]!.handleFrame(0, frame, this.nowUs);
      this.drain();
    }
    for (const h of this.hosts) {
      const d = h.pollDeadline();
      if (d !== undefined && d <= this.nowUs) { h.handleTimeout(this.nowUs); this.drain(); }
    }
    return true;
  }

  /** Steps until `done()` or virtual time passes `untilUs`; returns whether done() held. */
  runUntil(done: () => boolean, forUs: number): boolean {
    const end = this.nowUs + forUs;
    for (let guard = 0; guard < 10_000_000; guard++) {
      if (done()) return true;
      if (!this.step(end)) { this.nowUs = Math.max(this.nowUs, end); return done(); }
    }
    return done();
  }

  /** Runs for `forUs` of virtual time. */
  run(forUs: number): void {
    this.runUntil(() => false, forUs);
  }
}
