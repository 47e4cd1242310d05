// The controller's in-memory view of calls: parties (a line in a context on some
// gateway), media edges (a pair of RTP terminations pointing at each other) and
// the phase. Plain data plus small pure helpers; no messages are built here.
import type { CallPhase, CallRecord } from '../record/call-record.js';
import type { ReleaseReason } from '../cdr/record.js';

export interface RtpEnd {
  readonly termId: string;
  /** The Local SDP text the gateway chose for this termination. */
  readonly sdp: string;
}

export interface Party {
  readonly num: string;
  readonly mgId: string;
  readonly termId: string;
  ctx: number | undefined;
}

/** Media between two parties: `a`'s RTP termination lives in a's context, `b`'s in b's. */
export interface Edge {
  a: string;
  b: string;
  aRtp: RtpEnd | undefined;
  bRtp: RtpEnd | undefined;
}

export interface Call {
  readonly id: string;
  seq: number;
  phase: CallPhase;
  readonly startUs: number;
  answerUs: number | null;
  readonly caller: string;
  readonly callee: string;
  /** In record order: the party being rung, if any, is last. */
  parties: Party[];
  edges: Edge[];
  /** The party who flashed (holder / consulting / conference host). */
  controller: string | null;
  features: Set<string>;
  /** An operation is in flight; events wait in `queue`. */
  busy: boolean;
  queue: { num: string; event: string; params: Record<string, string> }[];
  noAnswerAtUs: number | undefined;
  /** A step got no answer from this gateway: the call waits for the controller to learn why. */
  stalledOn?: string;
  /** Set when the call was rebuilt after a failover. */
  preservedAtUs?: number;
  ended: boolean;
}

export function recordOf(c: Call): CallRecord {
  return {
    callId: c.id, seq: c.seq, phase: c.phase, startUs: c.startUs, answerUs: c.answerUs,
    caller: c.caller, callee: c.callee, parties: c.parties.map((p) => p.num), controller: c.controller,
    features: [...c.features].sort(),
  };
}

export function partyOf(c: Call, num: string): Party | undefined { return c.parties.find((p) => p.num === num); }

export function edgeBetween(c: Call, x: string, y: string): Edge | undefined {
  return c.edges.find((e) => (e.a === x && e.b === y) || (e.a === y && e.b === x));
}

/** The RTP end of `edge` that lives in `num`'s context. */
export function endOf(e: Edge, num: string): RtpEnd | undefined { return e.a === num ? e.aRtp : e.bRtp; }

export interface CallEnd {
  readonly call: Call;
  readonly reason: ReleaseReason;
  readonly endUs: number;
}
