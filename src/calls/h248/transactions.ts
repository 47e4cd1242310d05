// The H.248 transaction engine for one peer, sans-IO (RFC 3525 §8 and Annex D): request
// retransmission with backoff, at-most-once delivery with a reply cache, Pending both ways,
// and TransactionResponseAck. Datagrams + time in; datagrams, events and a deadline out.
// It never sees call logic (the user answers requests) and never reads a clock or socket.
//
// Driver order, like the rest of the project: after every handle*/send* call drain
// pollTransmit() and pollEvent(), then arm a timer for pollDeadline() and call
// handleTimeout(now) when it fires (early or spurious calls are harmless).

import type * as M from './model.js';
import { ErrorCodes } from './model.js';
import { parseMessage, type H248ParseError } from './text-parser.js';
import { encodeMessage } from './text-printer.js';
import type { TokenForm } from './text-tokens.js';

export interface TransactionConfig {
  /** Our mId, written in every message header. */
  readonly mId: string;
  readonly version?: number;                 // default 1
  readonly form?: TokenForm;                 // default 'compact'
  /** 'udp' (Annex D.1: we retransmit) or 'tcp' (Annex D.2: the transport is reliable; timers only give up). */
  readonly transport?: 'udp' | 'tcp';
  /** First retransmission timeout before any RTT sample (Annex D.1.3). Default 500 ms. */
  readonly initialRtoUs?: number;
  readonly minRtoUs?: number;                // default 50 ms
  readonly maxRtoUs?: number;                // default 4 s: backoff cap
  /** Retransmissions before a request is given up and reported as 'timeout'. Default 4. */
  readonly maxRetransmits?: number;
  /** LONG-TIMER (Annex D.1.1): how long request ids and replies are remembered. Default 30 s. */
  readonly longTimerUs?: number;
  /** A request not answered by the user within this time gets an automatic Pending (§8.2.3). Default 200 ms; 0 = never. */
  readonly pendingAfterUs?: number;
  /** How long we wait for the final reply after a Pending before trying again (Annex D.1.4 provisional responses). Default 2 s. */
  readonly pendingWaitUs?: number;
  /** Pendings accepted for one request before giving up (root/MGOriginatedPendingLimit style). Default 10. */
  readonly pendingLimit?: number;
  /** Delay before a standalone ResponseAck is sent; acks ride on the next request when one comes sooner (Annex D.1.2.2). Default 20 ms. */
  readonly ackDelayUs?: number;
  /** Acknowledge replies with TransactionResponseAck (three-way handshake). Default true. */
  readonly ackReplies?: boolean;
  /** Bounds. */
  readonly maxOutstanding?: number;          // our requests awaiting replies, default 10_000
  readonly maxInProgress?: number;           // peer requests awaiting the user's reply, default 10_000
  readonly maxCachedReplies?: number;        // remembered replies/ids, default 50_000
  readonly maxDatagramBytes?: number;        // default 8_192 (UDP); a larger reply becomes Error 533
  /**
   * Where request ids come from (default: our own counter). Engines of one endpoint that
   * talk to many peers share one source, so an id names one request of the endpoint.
   */
  readonly idSource?: (() => number) | undefined;
}

type Cfg = Required<Omit<TransactionConfig, 'idSource'>> & Pick<TransactionConfig, 'idSource'>;

/** Bound on the transmit and event queues between two drains. */
const QUEUE_MAX = 100_000;

export function transactionDefaults(mId: string): Cfg {
  return {
    mId, version: 1, form: 'compact', transport: 'udp',
    initialRtoUs: 500_000, minRtoUs: 50_000, maxRtoUs: 4_000_000, maxRetransmits: 4,
    longTimerUs: 30_000_000, pendingAfterUs: 200_000, pendingWaitUs: 2_000_000, pendingLimit: 10,
    ackDelayUs: 20_000, ackReplies: true,
    maxOutstanding: 10_000, maxInProgress: 10_000, maxCachedReplies: 50_000, maxDatagramBytes: 8_192,
  };
}

export type TransactionEvent =
  /** The peer asks; answer with sendReply(reply(transactionId, ...)). */
  | { readonly type: 'request'; readonly transactionId: number; readonly mId: string; readonly actions: readonly M.ActionRequest[] }
  /** The final answer to one of our requests (rttUs when it was not retransmitted). */
  | { readonly type: 'reply'; readonly transactionId: number; readonly reply: M.TransactionReply; readonly rttUs?: number }
  /** The peer is still working on our request. */
  | { readonly type: 'pending'; readonly transactionId: number }
  /** No reply after all retransmissions (or too many Pendings): the peer may be down. */
  | { readonly type: 'timeout'; readonly transactionId: number; readonly actions: readonly M.ActionRequest[]; readonly reason: 'no-reply' | 'pending-limit' }
  /** The peer rejected a whole message (messageBody = errorDescriptor). */
  | { readonly type: 'message-error'; readonly mId: string; readonly error: M.ErrorDescriptor }
  /** A datagram we could not parse; an error reply was sent when it could be addressed. */
  | { readonly type: 'parse-error'; readonly error: H248ParseError };

export type SendResult =
  | { readonly ok: true; readonly transactionId: number }
  | { readonly ok: false; readonly reason: 'outstanding-limit' | 'too-large' | 'unencodable'; readonly detail?: string };

export interface TransactionCounters {
  datagramsIn: number; datagramsOut: number; parseErrors: number;
  requestsSent: number; retransmits: number; timeouts: number; repliesReceived: number; duplicateReplies: number; unknownReplies: number;
  requestsReceived: number; duplicateRequests: number; duplicatesAfterAck: number; pendingsSent: number; pendingsReceived: number;
  acksSent: number; acksReceived: number; repliesSent: number; repliesTooLarge: number; overloadRejects: number; cacheEvictions: number; queueDrops: number; encodeErrors: number;
}

interface Outstanding {
  readonly actions: readonly M.ActionRequest[];
  readonly bytes: Uint8Array;
  readonly firstSentUs: number;
  deadlineUs: number;
  rtoUs: number;
  retransmits: number;
  pendings: number;
}

interface InProgress { readonly key: string; readonly transactionId: number; pendingAtUs: number }

/** A remembered transaction we answered: the reply bytes until acked, then just the id (Annex D.1.1). */
interface Answered { bytes: Uint8Array | undefined; readonly expiresUs: number }

export class TransactionEngine {
  private readonly cfg: Cfg;
  private nextId: number;
  private readonly outstanding = new Map<number, Outstanding>();
  private readonly completed = new Map<number, number>();          // our finished request ids → expiry (to re-ack duplicate replies)
  private readonly inProgress = new Map<number, InProgress>();     // peer requests the user has not answered yet
  private readonly answered = new Map<string, Answered>();         // `${mId} ${tid}` → cached reply (insertion order = expiry order)
  private readonly ackQueue: number[] = [];
  private ackDeadlineUs: number | undefined;
  private readonly tx: Uint8Array[] = [];
  private readonly events: TransactionEvent[] = [];
  private srttUs: number | undefined;
  private rttvarUs = 0;
  private lastHeard: number | undefined;
  /** pollDeadline's last answer, valid until an input changes the timers. */
  private deadline: number | undefined;
  private deadlineStale = true;
  private peerMid: string | undefined;
  readonly counters: TransactionCounters = {
    datagramsIn: 0, datagramsOut: 0, parseErrors: 0, requestsSent: 0, retransmits: 0, timeouts: 0, repliesReceived: 0,
    duplicateReplies: 0, unknownReplies: 0, requestsReceived: 0, duplicateRequests: 0, duplicatesAfterAck: 0, pendingsSent: 0,
    pendingsReceived: 0, acksSent: 0, acksReceived: 0, repliesSent: 0, repliesTooLarge: 0, overloadRejects: 0, cacheEvictions: 0, queueDrops: 0, encodeErrors: 0,
  };

  constructor(config: TransactionConfig, firstTransactionId = 1) {
    this.cfg = { ...transactionDefaults(config.mId), ...config };
    this.nextId = Math.min(Math.max(1, Math.floor(firstTransactionId)), 0xfffffffe);
  }

  // ------------------------------------------------------------------ inputs

  /** One datagram (UDP) or one de-framed TPKT message (TCP) from the peer. */
  handle(datagram: Uint8Array, nowUs: number): void {
    this.deadlineStale = true;
    this.counters.datagramsIn++;
    this.lastHeard = nowUs;
    this.expire(nowUs);
    const r = parseMessage(datagram, { maxMessageBytes: Math.max(this.cfg.maxDatagramBytes, 65_535) });
    if (!r.ok) {
      this.counters.parseErrors++;
      this.answerParseError(r.error, datagram, nowUs);
      this.pushEvent({ type: 'parse-error', error: r.error });
      return;
    }
    const m = r.value;
    this.peerMid = m.mId;
    if (m.body.kind === 'error') {
      this.pushEvent({ type: 'message-error', mId: m.mId, error: m.body.error });
      return;
    }
    for (const t of m.body.transactions) {
      switch (t.kind) {
        case 'request': this.onRequest(m.mId, t, nowUs); break;
        case 'reply': this.onReply(t, nowUs); break;
        case 'pending': this.onPending(t.transactionId, nowUs); break;
        case 'responseAck': this.onResponseAck(m.mId, t.acks); break;
      }
    }
  }

  /** Send a transaction request; the answer arrives as a 'reply' (or 'timeout') event. */
  sendRequest(actions: readonly M.ActionRequest[], nowUs: number): SendResult {
    this.deadlineStale = true;
    this.expire(nowUs);
    if (this.outstanding.size >= this.cfg.maxOutstanding) return { ok: false, reason: 'outstanding-limit' };
    const transactionId = this.allocateId();
    const req: M.TransactionRequest = { kind: 'request', transactionId, actions };
    let bytes: Uint8Array;
    try {
      bytes = this.encode([req]);
    } catch (e) {
      // Our own caller built a model with no text form (H248EncodeError): refuse, never throw on the call path.
      this.counters.encodeErrors++;
      return { ok: false, reason: 'unencodable', detail: String(e) };
    }
    if (bytes.length > this.cfg.maxDatagramBytes) return { ok: false, reason: 'too-large' };
    const rtoUs = this.currentRto();
    this.outstanding.set(transactionId, { actions, bytes, firstSentUs: nowUs, deadlineUs: nowUs + rtoUs, rtoUs, retransmits: 0, pendings: 0 });
    this.counters.requestsSent++;
    // Annex D.1.2.2: acknowledgements may travel in the same message as a request.
    if (this.ackQueue.length > 0) {
      const withAcks = this.encode([this.takeAcks(), req]);
      if (withAcks.length <= this.cfg.maxDatagramBytes) { this.transmit(withAcks); return { ok: true, transactionId }; }
      this.transmit(this.encode([this.ackTransactionFromQueue()]));
    }
    this.transmit(bytes);
    return { ok: true, transactionId };
  }

  /** Answer a peer request delivered as a 'request' event. False if no such request awaits an answer. */
  sendReply(reply: M.TransactionReply, nowUs: number): boolean {
    this.deadlineStale = true;
    this.expire(nowUs);
    const ip = this.inProgress.get(reply.transactionId);
    if (!ip) return false;
    this.inProgress.delete(reply.transactionId);
    let bytes: Uint8Array;
    try {
      bytes = this.encode([reply]);
    } catch {
      // The user's reply has no text form: the peer still gets an answer (500 Internal software failure).
      this.counters.encodeErrors++;
      bytes = this.encode([{ kind: 'reply', transactionId: reply.transactionId, error: { code: ErrorCodes.internalFailure, text: 'Internal software failure' }, actions: [] }]);
    }
    if (bytes.length > this.cfg.maxDatagramBytes) {
      // H.248.8 533: Response exceeds maximum transport PDU size.
      this.counters.repliesTooLarge++;
      bytes = this.encode([{ kind: 'reply', transactionId: reply.transactionId, error: { code: ErrorCodes.responseTooLarge, text: 'Response exceeds maximum transport PDU size' }, actions: [] }]);
    }
    this.remember(ip.key, bytes, nowUs);
    this.counters.repliesSent++;
    this.transmit(bytes);
    return true;
  }

  /** Timers: retransmissions, automatic Pendings, delayed acks, cache expiry. */
  handleTimeout(nowUs: number): void {
    this.deadlineStale = true;
    this.expire(nowUs);
    for (const [tid, o] of this.outstanding) {
      if (o.deadlineUs > nowUs) continue;
      const limit = this.cfg.maxRetransmits;
      if (o.retransmits >= limit) { this.giveUp(tid, o, 'no-reply', nowUs); continue; }
      o.retransmits++;
      // Annex D.1.3: exponential backoff of the retransmission timer, bounded.
      o.rtoUs = Math.min(o.rtoUs * 2, this.cfg.maxRtoUs);
      o.deadlineUs = nowUs + o.rtoUs;
      if (this.cfg.transport === 'udp') {
        this.counters.retransmits++;
        this.transmit(o.bytes);
      }
    }
    if (this.cfg.pendingAfterUs > 0) {
      for (const ip of this.inProgress.values()) {
        if (ip.pendingAtUs > nowUs) continue;
        this.sendPending(ip.transactionId);
        ip.pendingAtUs = nowUs + this.cfg.pendingAfterUs;
      }
    }
    if (this.ackDeadlineUs !== undefined && this.ackDeadlineUs <= nowUs) this.flushAcks();
  }

  // ------------------------------------------------------------------ outputs

  pollTransmit(): Uint8Array | undefined {
    return this.tx.shift();
  }

  pollEvent(): TransactionEvent | undefined {
    return this.events.shift();
  }

  /** Earliest time handleTimeout has work to do, or undefined when idle. */
  pollDeadline(): number | undefined {
    // Drivers ask after every step, far more often than the state changes: the answer is
    // kept until one of the inputs above (each marks it stale) changes the timers.
    if (!this.deadlineStale) return this.deadline;
    let d = this.ackDeadlineUs ?? Infinity;
    for (const o of this.outstanding.values()) if (o.deadlineUs < d) d = o.deadlineUs;
    if (this.cfg.pendingAfterUs > 0) for (const ip of this.inProgress.values()) if (ip.pendingAtUs < d) d = ip.pendingAtUs;
    const firstAnswered = this.answered.values().next();
    if (!firstAnswered.done && firstAnswered.value.expiresUs < d) d = firstAnswered.value.expiresUs;
    const firstCompleted = this.completed.values().next();
    if (!firstCompleted.done && firstCompleted.value < d) d = firstCompleted.value;
    this.deadline = d === Infinity ? undefined : d;
    this.deadlineStale = false;
    return this.deadline;
  }

  /** Last time any datagram arrived from the peer (for liveness / failover detection). */
  lastHeardUs(): number | undefined {
    return this.lastHeard;
  }

  /** The mId the peer last used. */
  peerMId(): string | undefined {
    return this.peerMid;
  }

  outstandingCount(): number {
    return this.outstanding.size;
  }

  inProgressCount(): number {
    return this.inProgress.size;
  }

  /** Smoothed round-trip time from unretransmitted requests, if measured. */
  srtt(): number | undefined {
    return this.srttUs;
  }

  /** Stop one outstanding request without reporting it; a late reply is acknowledged and ignored. */
  forgetRequest(transactionId: number, nowUs: number): boolean {
    this.deadlineStale = true;
    if (!this.outstanding.delete(transactionId)) return false;
    this.completed.set(transactionId, nowUs + this.cfg.longTimerUs);
    this.boundMap(this.completed);
    return true;
  }

  /** Forget the replies we remember (a new association with the peer starts; its ids may repeat). */
  forgetAnswered(): void {
    this.deadlineStale = true;
    this.answered.clear();
  }

  /** Drop every outstanding request without reporting (e.g. the peer was abandoned for another controller). */
  abandonOutstanding(): number {
    this.deadlineStale = true;
    const n = this.outstanding.size;
    this.outstanding.clear();
    return n;
  }

  // ------------------------------------------------------------------ receiving

  private onRequest(mId: string, t: M.TransactionRequest, nowUs: number): void {
    const key = `${mId} ${t.transactionId}`;
    const done = this.answered.get(key);
    if (done) {
      // Annex D.1.1: a repeated request is not executed again; the reply is repeated.
      if (done.bytes) { this.counters.duplicateRequests++; this.transmit(done.bytes); }
      else this.counters.duplicatesAfterAck++; // acked: the peer has the reply; a stray copy is ignored
      return;
    }
    const ip = this.inProgress.get(t.transactionId);
    if (ip) {
      // Still executing: tell the peer so it stops retransmitting (§8.2.3 TransactionPending).
      this.counters.duplicateRequests++;
      this.sendPending(t.transactionId);
      return;
    }
    if (this.inProgress.size >= this.cfg.maxInProgress) {
      this.counters.overloadRejects++;
      const bytes = this.encode([{ kind: 'reply', transactionId: t.transactionId, error: { code: ErrorCodes.insufficientResources, text: 'Insufficient resources' }, actions: [] }]);
      this.remember(key, bytes, nowUs);
      this.transmit(bytes);
      return;
    }
    this.counters.requestsReceived++;
    this.inProgress.set(t.transactionId, { key, transactionId: t.transactionId, pendingAtUs: nowUs + this.cfg.pendingAfterUs });
    this.pushEvent({ type: 'request', transactionId: t.transactionId, mId, actions: t.actions });
  }

  private onReply(t: M.TransactionReply, nowUs: number): void {
    const o = this.outstanding.get(t.transactionId);
    if (!o) {
      if (this.completed.has(t.transactionId)) {
        // Our ack was lost or the reply was duplicated: acknowledge again, do not redeliver.
        this.counters.duplicateReplies++;
        if (this.cfg.ackReplies) this.queueAck(t.transactionId, nowUs, t.immAckRequired === true);
      } else {
        this.counters.unknownReplies++;
      }
      return;
    }
    this.outstanding.delete(t.transactionId);
    this.completed.set(t.transactionId, nowUs + this.cfg.longTimerUs);
    this.boundMap(this.completed);
    this.counters.repliesReceived++;
    let rttUs: number | undefined;
    if (o.retransmits === 0 && o.pendings === 0) {
      // Karn's rule: only unambiguous samples feed the estimator (Annex D.1.3 adaptive timer).
      rttUs = nowUs - o.firstSentUs;
      this.sampleRtt(rttUs);
    }
    // Annex D.1.2.2: acknowledge; at once if the peer asked (ImmAckRequired).
    if (this.cfg.ackReplies) this.queueAck(t.transactionId, nowUs, t.immAckRequired === true);
    this.pushEvent(rttUs === undefined ? { type: 'reply', transactionId: t.transactionId, reply: t } : { type: 'reply', transactionId: t.transactionId, reply: t, rttUs });
  }

  private onPending(transactionId: number, nowUs: number): void {
    const o = this.outstanding.get(transactionId);
    if (!o) return;
    this.counters.pendingsReceived++;
    o.pendings++;
    // root package MGOriginatedPendingLimit / MGCOriginatedPendingLimit: past the limit the transaction has failed.
    if (o.pendings > this.cfg.pendingLimit) { this.giveUp(transactionId, o, 'pending-limit', nowUs); return; }
    // Annex D.1.4: after a Pending the originator waits longer before it repeats the request.
    o.deadlineUs = nowUs + this.cfg.pendingWaitUs;
    o.retransmits = 0;
    this.pushEvent({ type: 'pending', transactionId });
  }

  private onResponseAck(mId: string, acks: readonly M.TransactionAckRange[]): void {
    for (const a of acks) {
      const width = a.last - a.first;
      if (width <= 64) {
        for (let id = a.first; id <= a.last; id++) this.forgetReply(`${mId} ${id}`);
      } else {
        // A wide range: walk our cache instead of the range (bounded work).
        for (const [key] of this.answered) {
          const id = Number(key.slice(key.lastIndexOf(' ') + 1));
          if (key.startsWith(`${mId} `) && id >= a.first && id <= a.last) this.forgetReply(key);
        }
      }
    }
  }

  private forgetReply(key: string): void {
    const a = this.answered.get(key);
    if (a && a.bytes) { a.bytes = undefined; this.counters.acksReceived++; }
  }

  // ------------------------------------------------------------------ helpers

  private answerParseError(e: H248ParseError, datagram: Uint8Array, nowUs: number): void {
    if (e.transactionId !== undefined && e.mId !== undefined) {
      const key = `${e.mId} ${e.transactionId}`;
      if (this.answered.has(key) || this.inProgress.has(e.transactionId)) return;
      const bytes = this.encode([{ kind: 'reply', transactionId: e.transactionId, error: { code: e.h248Code, text: errorText(e) }, actions: [] }]);
      this.remember(key, bytes, nowUs);
      this.transmit(bytes);
      return;
    }
    // A message we cannot attribute to a transaction: answer with a message-level Error
    // (RFC 3525 §8.2.2, code 400/406), but never to something that may itself be an error message.
    const head = Buffer.from(datagram.subarray(0, 300)).toString('latin1');
    if (e.mId !== undefined && !/^[^]*?(?:!|megaco)\/\d+\s+\S+\s+(?:er|error)\s*=/i.test(head)) {
      this.transmit(encodeMessage({ version: this.cfg.version, mId: this.cfg.mId, body: { kind: 'error', error: { code: e.h248Code, text: errorText(e) } } }, { form: this.cfg.form }));
    }
  }

  private sendPending(transactionId: number): void {
    this.counters.pendingsSent++;
    this.transmit(this.encode([{ kind: 'pending', transactionId }]));
  }

  private queueAck(transactionId: number, nowUs: number, immediate: boolean): void {
    if (this.ackQueue.length < 1_000) this.ackQueue.push(transactionId);
    if (immediate || this.ackQueue.length >= 64) { this.flushAcks(); return; }
    if (this.ackDeadlineUs === undefined) this.ackDeadlineUs = nowUs + this.cfg.ackDelayUs;
  }

  private flushAcks(): void {
    if (this.ackQueue.length === 0) { this.ackDeadlineUs = undefined; return; }
    this.transmit(this.encode([this.ackTransactionFromQueue()]));
  }

  private ackTransactionFromQueue(): M.TransactionResponseAck {
    return this.takeAcks();
  }

  /** Empty the ack queue into one TransactionResponseAck with merged ranges. */
  private takeAcks(): M.TransactionResponseAck {
    const ids = [...new Set(this.ackQueue)].sort((a, b) => a - b);
    this.ackQueue.length = 0;
    this.ackDeadlineUs = undefined;
    const acks: M.TransactionAckRange[] = [];
    for (const id of ids) {
      const last = acks[acks.length - 1];
      if (last && last.last + 1 === id) acks[acks.length - 1] = { first: last.first, last: id };
      else acks.push({ first: id, last: id });
    }
    this.counters.acksSent += ids.length;
    return { kind: 'responseAck', acks };
  }

  private giveUp(tid: number, o: Outstanding, reason: 'no-reply' | 'pending-limit', nowUs: number): void {
    this.outstanding.delete(tid);
    this.completed.set(tid, nowUs + this.cfg.longTimerUs);
    this.boundMap(this.completed);
    this.counters.timeouts++;
    this.pushEvent({ type: 'timeout', transactionId: tid, actions: o.actions, reason });
  }

  private remember(key: string, bytes: Uint8Array, nowUs: number): void {
    this.answered.delete(key);
    this.answered.set(key, { bytes, expiresUs: nowUs + this.cfg.longTimerUs });
    this.boundMap(this.answered);
  }

  /** Keep a cache within its bound by dropping the oldest entries (counted: each weakens at-most-once for one id). */
  private boundMap(m: Map<unknown, unknown>): void {
    const max = this.cfg.maxCachedReplies;
    while (m.size > max) {
      const first = m.keys().next();
      if (first.done) break;
      m.delete(first.value);
      this.counters.cacheEvictions++;
    }
  }

  /** LONG-TIMER expiry of remembered ids (Annex D.1.1); entries are in expiry order. */
  private expire(nowUs: number): void {
    for (const [k, a] of this.answered) {
      if (a.expiresUs > nowUs) break;
      this.answered.delete(k);
    }
    for (const [k, exp] of this.completed) {
      if (exp > nowUs) break;
      this.completed.delete(k);
    }
  }

  private allocateId(): number {
    for (let i = 0; i < 1_000_000; i++) {
      let id = this.nextId;
      if (this.cfg.idSource) id = this.cfg.idSource();
      else this.nextId = id >= 0xfffffffe ? 1 : id + 1;
      if (!this.outstanding.has(id) && !this.completed.has(id)) return id;
    }
    // Unreachable with bounded maps (maxOutstanding + maxCachedReplies < 10^6 by far).
    throw new Error('no free transaction id');
  }

  // Annex D.1.3: adaptive retransmission timer from the average delay and its deviation
  // (the same estimator as RFC 6298: srtt, rttvar, rto = srtt + 4·rttvar, bounded).
  private sampleRtt(rttUs: number): void {
    if (this.srttUs === undefined) {
      this.srttUs = rttUs;
      this.rttvarUs = rttUs / 2;
    } else {
      this.rttvarUs = 0.75 * this.rttvarUs + 0.25 * Math.abs(this.srttUs - rttUs);
      this.srttUs = 0.875 * this.srttUs + 0.125 * rttUs;
    }
  }

  private currentRto(): number {
    const raw = this.srttUs === undefined ? this.cfg.initialRtoUs : this.srttUs + 4 * this.rttvarUs;
    return Math.round(Math.min(this.cfg.maxRtoUs, Math.max(this.cfg.minRtoUs, raw)));
  }

  private encode(transactions: M.Transaction[]): Uint8Array {
    return encodeMessage({ version: this.cfg.version, mId: this.cfg.mId, body: { kind: 'transactions', transactions } }, { form: this.cfg.form });
  }

  private transmit(bytes: Uint8Array): void {
    // Bounded: a driver drains after every call, so hitting this means it stopped draining.
    if (this.tx.length >= QUEUE_MAX) { this.counters.queueDrops++; return; }
    this.counters.datagramsOut++;
    this.tx.push(bytes);
  }

  private pushEvent(e: TransactionEvent): void {
    if (this.events.length >= QUEUE_MAX) { this.counters.queueDrops++; return; }
    this.events.push(e);
  }
}

/** The error text we send: the parser's detail without characters a quotedString cannot carry. */
function errorText(e: H248ParseError): string {
  return e.detail.replace(/["\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\uffff]/g, "'").slice(0, 120);
}
