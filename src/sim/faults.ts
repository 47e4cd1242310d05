// Fault rules applied to frames as they leave a link's transmitter: loss,
// duplication, reordering (hold back), jitter, corruption, partition, or a custom
// function. Rules are plain-data specs, composed in order, and draw randomness only
// from the seeded Rng of the link direction they are attached to.
import type { SeededRng } from '../util/rng.js';

/** A frame on its way across a link, with extra delay accumulated by rules. */
export interface InFlight {
  frame: Uint8Array;
  extraDelayUs: number;
}

interface RuleCommon {
  /** Only frames for which this returns true are subject to the rule. */
  match?: (frame: Uint8Array) => boolean;
  /** Active from this virtual time on (inclusive). */
  fromUs?: number;
  /** Active until this virtual time (exclusive). */
  untilUs?: number;
  /** Name in counters; default `<index>-<kind>`. */
  label?: string;
}

export type FaultSpec = RuleCommon & (
  /** Drop with probability `rate`. */
  | { kind: 'loss'; rate: number }
  /** Deliver an extra copy with probability `rate`, `delayUs` after the original (default 0). */
  | { kind: 'duplicate'; rate: number; delayUs?: number }
  /** With probability `rate`, hold the frame back by `delayUs` (later frames overtake it). */
  | { kind: 'reorder'; rate: number; delayUs: number }
  /** Add a uniform random delay in [0, maxUs]; frames may overtake one another. */
  | { kind: 'jitter'; maxUs: number }
  /** With probability `rate`, flip `bits` (default 1) random bits at byte offsets ≥ `minOffset` (default 0). */
  | { kind: 'corrupt'; rate: number; bits?: number; minOffset?: number }
  /** Drop everything (within the rule's time window and match). */
  | { kind: 'partition' }
  /** Anything else: return the frames to pass on (empty array = drop). */
  | { kind: 'custom'; apply: (f: InFlight, rng: SeededRng, nowUs: number) => InFlight[] }
);

export type FaultKind = FaultSpec['kind'];

/** An installed rule: its spec, whether it is on, and what it has done. */
export class FaultRule {
  enabled = true;
  readonly label: string;
  /** Frames examined while active and matching. */
  seen = 0;
  dropped = 0;
  duplicated = 0;
  delayed = 0;
  corrupted = 0;

  constructor(readonly spec: FaultSpec, index: number) {
    validate(spec);
    this.label = spec.label ?? `${index}-${spec.kind}`;
  }

  /** Applies this rule to one frame; returns what continues (0, 1 or 2 frames). */
  apply(f: InFlight, rng: SeededRng, nowUs: number): InFlight[] {
    const s = this.spec;
    if (!this.enabled) return [f];
    if (s.fromUs !== undefined && nowUs < s.fromUs) return [f];
    if (s.untilUs !== undefined && nowUs >= s.untilUs) return [f];
    if (s.match && !s.match(f.frame)) return [f];
    this.seen++;
    switch (s.kind) {
      case 'loss':
        if (rng.nextFloat() < s.rate) {
          this.dropped++;
          return [];
        }
        return [f];
      case 'duplicate':
        if (rng.nextFloat() < s.rate) {
          this.duplicated++;
          return [f, { frame: f.frame.slice(), extraDelayUs: f.extraDelayUs + (s.delayUs ?? 0) }];
        }
        return [f];
      case 'reorder':
        if (rng.nextFloat() < s.rate) {
          this.delayed++;
          return [{ frame: f.frame, extraDelayUs: f.extraDelayUs + s.delayUs }];
        }
        return [f];
      case 'jitter': {
        const d = rng.nextInt(s.maxUs + 1);
        if (d > 0) this.delayed++;
        return [{ frame: f.frame, extraDelayUs: f.extraDelayUs + d }];
      }
      case 'corrupt': {
        const minOffset = s.minOffset ?? 0;
        if (f.frame.length <= minOffset || rng.nextFloat() >= s.rate) return [f];
        const out = f.frame.slice();
        const span = out.length - minOffset;
        for (let i = 0; i < (s.bits ?? 1); i++) {
          const at = minOffset + rng.nextInt(span);
          out[at] = out[at]! ^ (1 << rng.nextInt(8));
        }
        this.corrupted++;
        return [{ frame: out, extraDelayUs: f.extraDelayUs }];
      }
      case 'partition':
        this.dropped++;
        return [];
      case 'custom': {
        const out = s.apply(f, rng, nowUs);
        if (out.length === 0) this.dropped++;
        return out;
      }
    }
  }

  /** Counters as a plain object (for traces and reports). */
  stats(): { seen: number; dropped: number; duplicated: number; delayed: number; corrupted: number } {
    return { seen: this.seen, dropped: this.dropped, duplicated: this.duplicated, delayed: this.delayed, corrupted: this.corrupted };
  }
}

function validate(s: FaultSpec): void {
  const rate = (r: number): void => {
    if (!(r >= 0 && r <= 1)) throw new RangeError(`fault ${s.kind}: rate must be in [0, 1], got ${r}`);
  };
  const us = (name: string, v: number | undefined): void => {
    if (v !== undefined && !(Number.isSafeInteger(v) && v >= 0)) {
      throw new RangeError(`fault ${s.kind}: ${name} must be a non-negative integer of microseconds, got ${v}`);
    }
  };
  us('fromUs', s.fromUs);
  us('untilUs', s.untilUs);
  switch (s.kind) {
    case 'loss': rate(s.rate); break;
    case 'duplicate': rate(s.rate); us('delayUs', s.delayUs); break;
    case 'reorder': rate(s.rate); us('delayUs', s.delayUs); break;
    case 'jitter': us('maxUs', s.maxUs); break;
    case 'corrupt':
      rate(s.rate);
      if (s.bits !== undefined && !(Number.isSafeInteger(s.bits) && s.bits >= 1 && s.bits <= 64)) {
        throw new RangeError(`fault corrupt: bits must be an integer in [1, 64], got ${s.bits}`);
      }
      break;
    case 'partition': case 'custom': break;
  }
}

/** A bound on what rules may make of one frame (duplicates of duplicates, custom rules). */
export const MAX_COPIES_PER_FRAME = 64;

/** Runs a frame through a list of rules in order; each rule sees every output of the previous one. */
export function applyRules(rules: readonly FaultRule[], frame: Uint8Array, rng: SeededRng, nowUs: number): InFlight[] {
  let cur: InFlight[] = [{ frame, extraDelayUs: 0 }];
  for (const r of rules) {
    if (cur.length === 0) break;
    const next: InFlight[] = [];
    for (const f of cur) for (const o of r.apply(f, rng, nowUs)) next.push(o);
    if (next.length > MAX_COPIES_PER_FRAME) {
      throw new RangeError(`fault rule ${r.label} made ${next.length} copies of one frame (limit ${MAX_COPIES_PER_FRAME})`);
    }
    cur = next;
  }
  return cur;
}
