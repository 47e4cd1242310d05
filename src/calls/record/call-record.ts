// The compact call-state record a controller asks each gateway to keep per call
// party, and its text form. Carrier (see DESIGN): the TerminationState property
// `ubcs/rec` of the party's line termination, set with Add/Modify and returned by
// AuditValue. The text uses only H.248 SafeChars, so it is a valid VALUE unquoted.
import { fail, ok } from '../../wire/result.js';
import type { ParseResult } from '../../wire/result.js';

/** Package/property name of the record (our private package "ubcs" = unbroken call state). */
export const RECORD_PROPERTY = 'ubcs/rec';
const VERSION_TAG = 'r1';
const LAYER = 'call-record';
/** Bound on the record text (it travels in every Modify and audit reply). */
export const RECORD_TEXT_MAX = 400;

/**
 * Call phases as the controller sees them. Stable: talking, held, consult-talking,
 * conference — these survive a controller failure. The others are released.
 */
export const CALL_PHASES = ['ringing', 'talking', 'held', 'consult-ringing', 'consult-talking', 'conference'] as const;
export type CallPhase = (typeof CALL_PHASES)[number];
export const STABLE_PHASES: ReadonlySet<CallPhase> = new Set(['talking', 'held', 'consult-talking', 'conference']);

export interface CallRecord {
  readonly callId: string;
  /** Increases at every change; the freshest half wins when two disagree after a crash. */
  readonly seq: number;
  readonly phase: CallPhase;
  readonly startUs: number;
  readonly answerUs: number | null;
  /** Calling party number. */
  readonly caller: string;
  /** Number the caller dialled. */
  readonly callee: string;
  /** Numbers of the parties in the call now (2, or 3 during consultation/conference). */
  readonly parties: readonly string[];
  /** Party that has the call on hold / is consulting (the one who flashed), or null. */
  readonly controller: string | null;
  /** Features used so far. */
  readonly features: readonly string[];
}

const SAFE = /^[A-Za-z0-9._\-]+$/;

function field(s: string): string {
  if (!SAFE.test(s)) throw new RangeError(`record field ${JSON.stringify(s)} has unsafe characters`);
  return s;
}

export function printRecord(r: CallRecord): string {
  const list = (xs: readonly string[]): string => (xs.length === 0 ? '~' : xs.map(field).join('+'));
  const text = [
    VERSION_TAG, field(r.callId), String(r.seq), r.phase, String(r.startUs),
    r.answerUs === null ? '~' : String(r.answerUs), field(r.caller), field(r.callee),
    list(r.parties), r.controller === null ? '~' : field(r.controller), list(r.features),
  ].join('!');
  if (text.length > RECORD_TEXT_MAX) throw new RangeError('record too long');
  return text;
}

const INT = /^[0-9]{1,16}$/;

export function parseRecord(text: string): ParseResult<CallRecord> {
  // The codec may hand the value back quoted.
  const t = text.length >= 2 && text.startsWith('"') && text.endsWith('"') ? text.slice(1, -1) : text;
  if (t.length > RECORD_TEXT_MAX) return fail('malformed', LAYER, 'record too long');
  const f = t.split('!');
  if (f[0] !== VERSION_TAG) return fail('unsupported', LAYER, `tag ${f[0]}`);
  if (f.length !== 11) return fail('malformed', LAYER, `${f.length} fields`);
  const [, callId, seq, phase, start, answer, caller, callee, parties, ctl, features] = f as [string, string, string, string, string, string, string, string, string, string, string];
  if (!SAFE.test(callId) || !SAFE.test(caller) || !SAFE.test(callee)) return fail('malformed', LAYER, 'bad identifier');
  if (!INT.test(seq) || !INT.test(start) || (answer !== '~' && !INT.test(answer))) return fail('malformed', LAYER, 'bad number');
  if (!(CALL_PHASES as readonly string[]).includes(phase)) return fail('malformed', LAYER, `phase ${phase}`);
  const list = (s: string): string[] | undefined => {
    if (s === '~') return [];
    const xs = s.split('+');
    return xs.every((x) => SAFE.test(x)) ? xs : undefined;
  };
  const ps = list(parties); const fs = list(features);
  if (!ps || !fs || ps.length < 1 || ps.length > 3) return fail('malformed', LAYER, 'bad list');
  if (ctl !== '~' && !SAFE.test(ctl)) return fail('malformed', LAYER, 'bad controller');
  return ok({
    callId, seq: Number(seq), phase: phase as CallPhase, startUs: Number(start),
    answerUs: answer === '~' ? null : Number(answer), caller, callee, parties: ps,
    controller: ctl === '~' ? null : ctl, features: fs,
  });
}
