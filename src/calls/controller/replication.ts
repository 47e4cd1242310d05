// The baseline the call-preserving design is measured against (`unbroken bench
// calls-failover`): the primary controller copies every call-state change to the
// alternate over the network, and the alternate keeps the copies so that after a
// failover it owns the calls without auditing anyone. It is a complete, reliable
// replication — each change is one datagram, acknowledged by the alternate and
// retransmitted until it is — so the comparison counts what such a design really sends.
// Sans-IO like the rest: datagrams and time in, datagrams out.
import type { ParseResult } from '../../wire/result.js';
import { fail, ok } from '../../wire/result.js';
import type { CallPhase } from '../record/call-record.js';
import type { Call, Edge, Party } from './call-model.js';
import type { CallObserver, CallReplica } from './controller.js';

/** What is copied: the controller's whole view of one call. */
export interface CallSnapshot {
  readonly id: string;
  readonly seq: number;
  readonly phase: CallPhase;
  readonly startUs: number;
  readonly answerUs: number | null;
  readonly caller: string;
  readonly callee: string;
  readonly parties: readonly Party[];
  readonly edges: readonly Edge[];
  readonly controller: string | null;
  readonly features: readonly string[];
}

type ReplicationMessage =
  | { readonly s: number; readonly op: 'put'; readonly c: CallSnapshot }
  | { readonly s: number; readonly op: 'del'; readonly id: string };

export function snapshotOf(call: Call): CallSnapshot {
  return {
    id: call.id, seq: call.seq, phase: call.phase, startUs: call.startUs, answerUs: call.answerUs, caller: call.caller, callee: call.callee,
    parties: call.parties.map((p) => ({ ...p })), edges: call.edges.map((e) => ({ ...e })), controller: call.controller, features: [...call.features],
  };
}

export function callOfSnapshot(s: CallSnapshot): Call {
  return {
    id: s.id, seq: s.seq + 1, phase: s.phase, startUs: s.startUs, answerUs: s.answerUs, caller: s.caller, callee: s.callee,
    parties: s.parties.map((p) => ({ ...p })), edges: s.edges.map((e) => ({ ...e })), controller: s.controller,
    features: new Set(s.features), busy: false, queue: [], noAnswerAtUs: undefined, ended: false,
  };
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Parses one replication datagram (a put, a delete or an ack); never throws. */
export function parseReplication(bytes: Uint8Array): ParseResult<ReplicationMessage | { readonly a: number }> {
  let v: unknown;
  try { v = JSON.parse(dec.decode(bytes)); } catch { return fail('malformed', 'replication', 'not JSON'); }
  if (typeof v !== 'object' || v === null) return fail('malformed', 'replication', 'not an object');
  const o = v as Record<string, unknown>;
  if (typeof o.a === 'number') return ok({ a: o.a });
  if (typeof o.s !== 'number') return fail('malformed', 'replication', 'no sequence number');
  if (o.op === 'del' && typeof o.id === 'string') return ok({ s: o.s, op: 'del', id: o.id });
  if (o.op === 'put' && typeof o.c === 'object' && o.c !== null) {
    const c = o.c as Record<string, unknown>;
    if (typeof c.id !== 'string' || typeof c.seq !== 'number' || typeof c.phase !== 'string' || !Array.isArray(c.parties) || !Array.isArray(c.edges) || !Array.isArray(c.features)) {
      return fail('malformed', 'replication', 'incomplete call snapshot');
    }
    return ok({ s: o.s, op: 'put', c: c as unknown as CallSnapshot });
  }
  return fail('malformed', 'replication', 'unknown operation');
}

export interface ReplicationCounters { messages: number; bytes: number; retransmits: number; acks: number; ackBytes: number; dropped: number; malformed: number }

/** The primary's side: one datagram per change to `peer`, retransmitted until acknowledged. */
export class ReplicationSender implements CallObserver {
  private nextSeq = 1;
  /** In send order, hence in deadline order. */
  private readonly unacked = new Map<number, { bytes: Uint8Array; deadlineUs: number; tries: number }>();
  private readonly tx: Uint8Array[] = [];
  readonly counters: ReplicationCounters = { messages: 0, bytes: 0, retransmits: 0, acks: 0, ackBytes: 0, dropped: 0, malformed: 0 };

  constructor(private readonly cfg: { retransmitUs: number; maxUnacked: number; maxTries: number }) {}

  changed(call: Call, nowUs: number): void { this.send({ s: this.nextSeq++, op: 'put', c: snapshotOf(call) }, nowUs); }
  ended(call: Call, nowUs: number): void { this.send({ s: this.nextSeq++, op: 'del', id: call.id }, nowUs); }

  private send(m: ReplicationMessage, nowUs: number): void {
    if (this.unacked.size >= this.cfg.maxUnacked) { this.counters.dropped++; return; }
    const bytes = enc.encode(JSON.stringify(m));
    this.unacked.set(m.s, { bytes, deadlineUs: nowUs + this.cfg.retransmitUs, tries: 1 });
    this.push(bytes);
  }

  private push(bytes: Uint8Array): void {
    if (this.tx.length >= this.cfg.maxUnacked) { this.counters.dropped++; return; }
    this.counters.messages++;
    this.counters.bytes += bytes.length;
    this.tx.push(bytes);
  }

  handleDatagram(bytes: Uint8Array): void {
    const r = parseReplication(bytes);
    if (!r.ok || !('a' in r.value)) { this.counters.malformed++; return; }
    this.unacked.delete(r.value.a);
  }

  handleTimeout(nowUs: number): void {
    for (const [s, u] of this.unacked) {
      if (u.deadlineUs > nowUs) break;
      this.unacked.delete(s);
      if (u.tries >= this.cfg.maxTries) { this.counters.dropped++; continue; }
      u.tries++;
      u.deadlineUs = nowUs + this.cfg.retransmitUs;
      this.unacked.set(s, u);
      this.counters.retransmits++;
      this.push(u.bytes);
    }
  }

  pollDeadline(): number | undefined { const f = this.unacked.values().next(); return f.done ? undefined : f.value.deadlineUs; }
  pollTransmit(): Uint8Array | undefined { return this.tx.shift(); }
  unackedCount(): number { return this.unacked.size; }
}

/** The alternate's side: the copies, newest first per call, and an ack for every datagram. */
export class ReplicaStore implements CallReplica {
  private readonly calls = new Map<string, CallSnapshot>();
  /** Highest message seen per call id (deletions included, so a late put cannot resurrect an ended call). */
  private readonly lastSeq = new Map<string, number>();
  private readonly byGateway = new Map<string, Set<string>>();
  private readonly tx: Uint8Array[] = [];
  readonly counters: ReplicationCounters = { messages: 0, bytes: 0, retransmits: 0, acks: 0, ackBytes: 0, dropped: 0, malformed: 0 };

  constructor(private readonly maxCalls: number) {}

  handleDatagram(bytes: Uint8Array): void {
    const r = parseReplication(bytes);
    if (!r.ok || 'a' in r.value) { this.counters.malformed++; return; }
    const m = r.value;
    const id = m.op === 'put' ? m.c.id : m.id;
    if ((this.lastSeq.get(id) ?? 0) < m.s) {
      this.unindex(id);
      this.lastSeq.delete(id);
      this.lastSeq.set(id, m.s);
      if (this.lastSeq.size > 2 * this.maxCalls) { const first = this.lastSeq.keys().next(); if (!first.done) this.lastSeq.delete(first.value); }
      if (m.op === 'put') {
        if (this.calls.size < this.maxCalls || this.calls.has(id)) {
          this.calls.set(id, m.c);
          for (const p of m.c.parties) { let s = this.byGateway.get(p.mgId); if (!s) { s = new Set(); this.byGateway.set(p.mgId, s); } s.add(id); }
        } else this.counters.dropped++;
      }
    }
    // Acknowledge duplicates too: the first ack may have been lost.
    const ack = enc.encode(JSON.stringify({ a: m.s }));
    if (this.tx.length < 4 * this.maxCalls) { this.counters.acks++; this.counters.ackBytes += ack.length; this.tx.push(ack); }
  }

  private unindex(id: string): void {
    const old = this.calls.get(id);
    if (!old) return;
    this.calls.delete(id);
    for (const p of old.parties) this.byGateway.get(p.mgId)?.delete(id);
  }

  callsOn(mgId: string): Call[] {
    return [...(this.byGateway.get(mgId) ?? [])].flatMap((id) => { const s = this.calls.get(id); return s ? [callOfSnapshot(s)] : []; });
  }

  size(): number { return this.calls.size; }

  /** Phase of the replicated call the line `termId` of `mgId` is in (for checks). */
  phaseOfLine(mgId: string, termId: string): string | undefined {
    for (const id of this.byGateway.get(mgId) ?? []) {
      const s = this.calls.get(id);
      if (s?.parties.some((p) => p.mgId === mgId && p.termId === termId)) return s.phase;
    }
    return undefined;
  }
  pollTransmit(): Uint8Array | undefined { return this.tx.shift(); }
}
