// A seeded, realistic call mix as a timetable of phone actions (off-hook, dial,
// flash, hang-up) plus which lines never answer. Shared by the simulation tests and
// `unbroken calls run`; it only plans — whoever runs it presses the buttons.
import type { SeededRng } from '../../util/rng.js';
import { numberOf } from '../common/numbering.js';
import { parseRecord, STABLE_PHASES } from '../record/call-record.js';
import type { CallRecord } from '../record/call-record.js';

export type CallKind = 'basic' | 'hold' | 'blind' | 'attended' | 'conference' | 'no-answer' | 'abandon';
export const CALL_KINDS: readonly CallKind[] = ['basic', 'hold', 'blind', 'attended', 'conference', 'no-answer', 'abandon'];

export interface LineRef { readonly gw: number; readonly line: number; readonly num: string }
export type PhoneOp = 'offhook' | 'onhook' | 'flash' | 'dial';
export interface PhoneAction { readonly atUs: number; readonly gw: number; readonly line: number; readonly op: PhoneOp; readonly digits?: string }
export interface PlannedCall { readonly kind: CallKind; readonly x: LineRef; readonly y: LineRef; readonly z: LineRef; readonly startUs: number }

export interface CallMix {
  readonly calls: PlannedCall[];
  /** Sorted by time. */
  readonly actions: PhoneAction[];
  /** Lines whose user never answers (no-answer and abandoned calls). */
  readonly noAnswer: Set<string>;
}

/** Delay before a phone user answers a ringing line, and hangs up on busy tone. */
export const ANSWER_DELAY_US = 300_000;
export const BUSY_HANGUP_US = 150_000;

/**
 * Plans `calls` calls over `gateways` × `lines`: each uses three distinct lines
 * (caller, callee, third party for transfer/conference). Start times fall in the
 * first 35 % of `durationUs`; features follow 1.5 s+ later; everybody hangs up
 * 2–4 s after the feature.
 */
export function planCallMix(rng: SeededRng, gateways: number, lines: number, calls: number, durationUs: number): CallMix {
  const free: LineRef[] = [];
  for (let g = 1; g <= gateways; g++) for (let l = 1; l <= lines; l++) free.push({ gw: g, line: l, num: numberOf(g, l) });
  const take = (): LineRef => free.splice(rng.nextInt(free.length), 1)[0]!;
  const n = Math.min(calls, Math.floor(free.length / 3));
  const span = Math.max(1, Math.floor(durationUs * 0.35));
  const out: PlannedCall[] = [];
  const acts: PhoneAction[] = [];
  const noAnswer = new Set<string>();
  const r = (lo: number, hi: number): number => lo + rng.nextInt(Math.max(1, hi - lo));
  for (let k = 0; k < n; k++) {
    const kind = CALL_KINDS[k % CALL_KINDS.length]!;
    const p: PlannedCall = { kind, x: take(), y: take(), z: take(), startUs: 200_000 + rng.nextInt(span) };
    out.push(p);
    const { x, y, z } = p;
    const at = (atUs: number, l: LineRef, op: PhoneOp, digits?: string): void => { acts.push({ atUs, gw: l.gw, line: l.line, op, ...(digits ? { digits } : {}) }); };
    const t0 = p.startUs;
    at(t0, x, 'offhook');
    at(t0 + 80_000, x, 'dial', y.num);
    if (kind === 'no-answer' || kind === 'abandon') noAnswer.add(y.num);
    if (kind === 'abandon') { at(t0 + 1_000_000, x, 'onhook'); continue; }
    const tf = t0 + r(1_500_000, Math.floor(durationUs * 0.45));
    if (kind === 'hold') { at(tf, x, 'flash'); at(tf + 800_000, x, 'flash'); }
    if (kind === 'blind' || kind === 'attended' || kind === 'conference') { at(tf, x, 'flash'); at(tf + 100_000, x, 'dial', z.num); }
    if (kind === 'blind') at(tf + 300_000, x, 'onhook');
    if (kind === 'attended') at(tf + 1_200_000, x, 'onhook');
    if (kind === 'conference') at(tf + 1_200_000, x, 'flash');
    const te = tf + r(2_000_000, 4_000_000);
    for (const l of [x, y, z]) at(te + rng.nextInt(200_000), l, 'onhook');
  }
  acts.sort((a, b) => a.atUs - b.atUs);
  return { calls: out, actions: acts, noAnswer };
}

/**
 * From the records the gateways hold at one instant: the calls whose freshest
 * record is stable (or a consultation ringing over a held call, whose held part is stable).
 */
export function stableCalls(recordTexts: Iterable<string>): string[] {
  const best = new Map<string, CallRecord>();
  for (const t of recordTexts) {
    const p = parseRecord(t); if (!p.ok) continue;
    const cur = best.get(p.value.callId);
    if (!cur || p.value.seq > cur.seq) best.set(p.value.callId, p.value);
  }
  return [...best.values()].filter((r) => STABLE_PHASES.has(r.phase) || r.phase === 'consult-ringing').map((r) => r.callId).sort();
}
