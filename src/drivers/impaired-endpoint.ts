// Loss, delay, jitter, reordering, duplication and corruption applied to a host's
// frames in both directions, inside the driver: what `tc netem` would do on the link,
// for kernels built without netem. Sans-IO (time and a seeded Rng are passed in); the
// per-frame rules are the simulator's (src/sim/faults.ts); netem-style parsing is here.
import type { FrameEndpoint, OutgoingFrame } from '../stack/endpoint.js';
import { FaultRule, applyRules, type FaultSpec } from '../sim/faults.js';
import { SeededRng } from '../util/rng.js';

export interface Impairment {
  /** Constant one-way delay added to every frame, both directions. */
  delayUs: number;
  /** Rules applied to each frame, in order (loss, jitter, duplicate, corrupt, reorder). */
  rules: FaultSpec[];
}

export type ParseImpairment = { ok: true; value: Impairment } | { ok: false; error: string };

/**
 * Parses the netem subset the lab accepts: `delay <t> [<jitter>]`, `loss <p>%`,
 * `duplicate <p>%`, `corrupt <p>%`, `reorder <p>% [<corr>%]` (as netem: with a delay,
 * p% of frames go out at once and overtake the delayed ones; correlation is ignored).
 */
export function parseImpairment(args: string): ParseImpairment {
  const t = args.trim().split(/\s+/).filter((x) => x !== '');
  const rules: FaultSpec[] = [];
  let delayUs = 0;
  let reorder: number | undefined;
  const pct = (s: string | undefined): number | undefined => {
    const m = /^([0-9]+(?:\.[0-9]+)?)%$/.exec(s ?? '');
    return m === null || Number(m[1]) > 100 ? undefined : Number(m[1]) / 100;
  };
  const time = (s: string | undefined): number | undefined => {
    const m = /^([0-9]+(?:\.[0-9]+)?)(us|ms|s)$/.exec(s ?? '');
    if (m === null) return undefined;
    return Math.round(Number(m[1]) * (m[2] === 'us' ? 1 : m[2] === 'ms' ? 1000 : 1_000_000));
  };
  for (let i = 0; i < t.length; i++) {
    const k = t[i];
    if (k === 'delay') {
      const d = time(t[i + 1]);
      if (d === undefined) return { ok: false, error: `delay needs a time (e.g. 20ms), got '${t[i + 1] ?? ''}'` };
      delayUs = d;
      i++;
      const j = time(t[i + 1]);
      if (j !== undefined) { rules.push({ kind: 'jitter', maxUs: j }); i++; }
    } else if (k === 'loss' || k === 'duplicate' || k === 'corrupt' || k === 'reorder') {
      const p = pct(t[i + 1]);
      if (p === undefined) return { ok: false, error: `${k} needs a percentage (e.g. 1%), got '${t[i + 1] ?? ''}'` };
      i++;
      if (pct(t[i + 1]) !== undefined) i++; // correlation: accepted, not modelled
      if (k === 'loss') rules.push({ kind: 'loss', rate: p });
      else if (k === 'duplicate') rules.push({ kind: 'duplicate', rate: p });
      else if (k === 'corrupt') rules.push({ kind: 'corrupt', rate: p, minOffset: 14 });
      else reorder = p;
    } else {
      return { ok: false, error: `unknown impairment '${k}' (known: delay, loss, duplicate, corrupt, reorder)` };
    }
  }
  if (reorder !== undefined) {
    if (delayUs === 0) return { ok: false, error: 'reorder needs a delay (as in netem): e.g. "delay 5ms reorder 25%"' };
    const rate = reorder;
    const base = delayUs;
    // netem: a reordered frame skips the delay. Modelled as a custom rule that cancels it.
    rules.push({ kind: 'custom', label: 'reorder', apply: (f, rng) => [rng.nextFloat() < rate ? { frame: f.frame, extraDelayUs: f.extraDelayUs - base } : f] });
  }
  return { ok: true, value: { delayUs, rules } };
}

interface Held { atUs: number; seq: number; ifIndex: number; frame: Uint8Array }

/** Frames held back at most, per direction; more are dropped and counted. */
const MAX_HELD_FRAMES = 20_000;

export class ImpairedEndpoint implements FrameEndpoint {
  private readonly inRules: FaultRule[];
  private readonly outRules: FaultRule[];
  private readonly inRng: SeededRng;
  private readonly outRng: SeededRng;
  private inQ: Held[] = [];
  private outQ: Held[] = [];
  private seq = 0;
  private nowUs = 0;
  readonly counters = { inDropped: 0, outDropped: 0, heldOverflow: 0 };

  constructor(private readonly inner: FrameEndpoint, private readonly imp: Impairment, seed: number) {
    this.inRules = imp.rules.map((r, i) => new FaultRule(r, i));
    this.outRules = imp.rules.map((r, i) => new FaultRule(r, i));
    this.inRng = new SeededRng(seed);
    this.outRng = new SeededRng(seed ^ 0x5bd1e995);
  }

  handleFrame(ifIndex: number, frame: Uint8Array, nowUs: number): void {
    this.nowUs = nowUs;
    this.pullInner();
    const outs = applyRules(this.inRules, frame, this.inRng, nowUs);
    if (outs.length === 0) this.counters.inDropped++;
    for (const o of outs) this.hold(this.inQ, { atUs: nowUs + Math.max(0, this.imp.delayUs + o.extraDelayUs), seq: this.seq++, ifIndex, frame: o.frame });
    this.release(nowUs);
  }

  handleTimeout(nowUs: number): void {
    this.nowUs = nowUs;
    this.release(nowUs);
    this.inner.handleTimeout(nowUs);
    this.pullInner();
  }

  pollTransmit(): OutgoingFrame | undefined {
    this.pullInner();
    const h = this.outQ[0];
    if (h === undefined || h.atUs > this.nowUs) return undefined;
    this.outQ.shift();
    return { ifIndex: h.ifIndex, frame: h.frame };
  }

  pollDeadline(): number | undefined {
    let d = this.inner.pollDeadline();
    for (const q of [this.inQ, this.outQ]) if (q.length > 0 && (d === undefined || q[0].atUs < d)) d = q[0].atUs;
    return d;
  }

  private release(nowUs: number): void {
    while (this.inQ.length > 0 && this.inQ[0].atUs <= nowUs) {
      const h = this.inQ.shift() as Held;
      this.inner.handleFrame(h.ifIndex, h.frame, nowUs);
      this.pullInner();
    }
  }

  private pullInner(): void {
    for (let f = this.inner.pollTransmit(); f !== undefined; f = this.inner.pollTransmit()) {
      const outs = applyRules(this.outRules, f.frame, this.outRng, this.nowUs);
      if (outs.length === 0) this.counters.outDropped++;
      for (const o of outs) this.hold(this.outQ, { atUs: this.nowUs + Math.max(0, this.imp.delayUs + o.extraDelayUs), seq: this.seq++, ifIndex: f.ifIndex, frame: o.frame });
    }
  }

  /** Inserts in (time, arrival) order. */
  private hold(q: Held[], h: Held): void {
    if (q.length >= MAX_HELD_FRAMES) { this.counters.heldOverflow++; return; }
    let lo = 0; let hi = q.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (q[mid].atUs <= h.atUs) lo = mid + 1; else hi = mid;
    }
    q.splice(lo, 0, h);
  }
}
