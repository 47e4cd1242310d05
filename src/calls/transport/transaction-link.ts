// H.248 transactions over datagrams for one endpoint (controller or gateway):
// request ids, retransmission with backoff, duplicate requests answered from a
// reply cache, replies matched to requests (RFC 3525 Annex D.1). Sans-IO: bytes,
// peers and time in; bytes out. The text codec is injected; call logic is the user's.
import type { Message, ActionRequest, TransactionReply, TransactionRequest } from '../h248/model.js';
import type { ParseResult } from '../../wire/result.js';

export interface H248Codec {
  encode(m: Message): Uint8Array;
  decode(bytes: Uint8Array): ParseResult<Message>;
}

/** Where the link delivers what arrives. Requests are answered synchronously. */
export interface LinkUser {
  onRequest(peer: string, mId: string, req: TransactionRequest, nowUs: number): TransactionReply;
  /** `reply` undefined = no answer after all retransmissions (Annex D.1.3 give-up). */
  onReply(peer: string, transactionId: number, reply: TransactionReply | undefined, nowUs: number): void;
}

export interface LinkConfig {
  readonly mId: string;
  readonly version: number;
  readonly codec: H248Codec;
  /** First retransmission timer (Annex D.1.3 initial estimate). */
  readonly retransmitUs: number;
  /** Retransmissions before the request is reported as timed out. */
  readonly retransmitsMax: number;
  /** How long a reply is kept to answer a retransmitted request (Annex D.1.2). */
  readonly replyCacheUs: number;
  readonly outstandingMax: number;
  readonly replyCacheMax: number;
  /**
   * First transaction id. A restarted endpoint must not reuse the ids of its previous
   * incarnation (the peer's reply cache would answer them), so drivers pass a random start.
   */
  readonly firstTransactionId?: number;
}

export function defaultLinkConfig(mId: string, codec: H248Codec): LinkConfig {
  return { mId, version: 1, codec, retransmitUs: 60_000, retransmitsMax: 3, replyCacheUs: 5_000_000, outstandingMax: 50_000, replyCacheMax: 50_000 };
}

interface Outstanding {
  peer: string;
  bytes: Uint8Array;
  deadlineUs: number;
  intervalUs: number;
  retransmits: number;
}

export interface LinkCounters {
  sent: number; received: number; retransmits: number; timeouts: number; decodeErrors: number;
  duplicateRequests: number; unmatchedReplies: number; dropped: number; encodeErrors: number;
}

export class TransactionLink {
  private nextTid = 1;
  private readonly outstanding = new Map<number, Outstanding>();
  private readonly replyCache = new Map<string, { bytes: Uint8Array; expiresUs: number }>();
  private readonly tx: { peer: string; bytes: Uint8Array }[] = [];
  readonly counters: LinkCounters = { sent: 0, received: 0, retransmits: 0, timeouts: 0, decodeErrors: 0, duplicateRequests: 0, unmatchedReplies: 0, dropped: 0, encodeErrors: 0 };
  /** Optional tap for captures (pcap): every datagram in or out. */
  tap: ((dir: 'in' | 'out', peer: string, bytes: Uint8Array) => void) | undefined;

  constructor(private readonly cfg: LinkConfig, private readonly user: LinkUser) {
    this.nextTid = Math.min(0xfffffffe, Math.max(1, cfg.firstTransactionId ?? 1));
  }

  /** Drops cached replies to `peer` (a new association with it starts). */
  forgetPeerReplies(peer: string): void {
    for (const k of [...this.replyCache.keys()]) if (k.startsWith(`${peer}|`)) this.replyCache.delete(k);
  }

  get mId(): string { return this.cfg.mId; }

  /** Sends a transaction request; the answer comes back through user.onReply. */
  sendRequest(peer: string, actions: readonly ActionRequest[], nowUs: number): number {
    const transactionId = this.nextTid;
    this.nextTid = this.nextTid >= 0xfffffffe ? 1 : this.nextTid + 1;
    if (this.outstanding.size >= this.cfg.outstandingMax) {
      this.counters.dropped++;
      // Report the refusal like a timeout so the user's continuation still runs.
      queueMicrotaskLike(() => this.user.onReply(peer, transactionId, undefined, nowUs), this.deferred);
      return transactionId;
    }
    const bytes = this.cfg.codec.encode({ version: this.cfg.version, mId: this.cfg.mId, body: { kind: 'transactions', transactions: [{ kind: 'request', transactionId, actions }] } });
    this.outstanding.set(transactionId, { peer, bytes, deadlineUs: nowUs + this.cfg.retransmitUs, intervalUs: this.cfg.retransmitUs, retransmits: 0 });
    this.push(peer, bytes);
    return transactionId;
  }

  private readonly deferred: (() => void)[] = [];

  /** Stop retransmitting one request; its reply, if it comes, is ignored. */
  forgetRequest(transactionId: number): void { this.outstanding.delete(transactionId); }

  /** Forget every outstanding request to `peer` without reporting (used when a peer is abandoned). */
  forgetPeer(peer: string): void {
    for (const [tid, o] of this.outstanding) if (o.peer === peer) this.outstanding.delete(tid);
  }

  handleDatagram(peer: string, bytes: Uint8Array, nowUs: number): void {
    this.counters.received++;
    this.tap?.('in', peer, bytes);
    const r = this.cfg.codec.decode(bytes);
    if (!r.ok) {
      this.counters.decodeErrors++;
      // RFC 3525 §8.2.2 / Annex D: a message that cannot be parsed gets an error descriptor (400).
      this.push(peer, this.cfg.codec.encode({ version: this.cfg.version, mId: this.cfg.mId, body: { kind: 'error', error: { code: 400, text: r.error.detail.slice(0, 80).replace(/"/g, "'") } } }));
      return;
    }
    const msg = r.value;
    if (msg.body.kind === 'error') return;
    for (const t of msg.body.transactions) {
      if (t.kind === 'request') {
        const key = `${peer}|${t.transactionId}`;
        const cached = this.replyCache.get(key);
        if (cached) { this.counters.duplicateRequests++; this.push(peer, cached.bytes); continue; }
        const reply = this.user.onRequest(peer, msg.mId, t, nowUs);
        const out = this.encodeReply(reply);
        if (this.replyCache.size >= this.cfg.replyCacheMax) this.expireReplies(Number.POSITIVE_INFINITY, this.cfg.replyCacheMax / 2);
        this.replyCache.set(key, { bytes: out, expiresUs: nowUs + this.cfg.replyCacheUs });
        this.push(peer, out);
      } else if (t.kind === 'reply') {
        const o = this.outstanding.get(t.transactionId);
        if (!o || o.peer !== peer) { this.counters.unmatchedReplies++; continue; }
        this.outstanding.delete(t.transactionId);
        this.user.onReply(peer, t.transactionId, t, nowUs);
      } else if (t.kind === 'pending') {
        // Annex D.1.3: Pending stops retransmission; wait longer before giving up.
        const o = this.outstanding.get(t.transactionId);
        if (o && o.peer === peer) { o.deadlineUs = nowUs + 4 * o.intervalUs; }
      }
      // responseAck: our replies are cached by time anyway.
    }
    this.runDeferred();
  }

  /** A reply our printer refuses is our bug; the peer still gets an answer (500 Internal failure). */
  private encodeReply(reply: TransactionReply): Uint8Array {
    const wrap = (r: TransactionReply): Message => ({ version: this.cfg.version, mId: this.cfg.mId, body: { kind: 'transactions', transactions: [r] } });
    try { return this.cfg.codec.encode(wrap(reply)); } catch (err) {
      this.counters.encodeErrors++;
      this.lastEncodeError = String(err);
      return this.cfg.codec.encode(wrap({ kind: 'reply', transactionId: reply.transactionId, error: { code: 500, text: 'internal failure' }, actions: [] }));
    }
  }

  lastEncodeError: string | undefined;

  handleTimeout(nowUs: number): void {
    for (const [tid, o] of this.outstanding) {
      if (o.deadlineUs > nowUs) continue;
      if (o.retransmits >= this.cfg.retransmitsMax) {
        this.outstanding.delete(tid);
        this.counters.timeouts++;
        this.user.onReply(o.peer, tid, undefined, nowUs);
        continue;
      }
      // Annex D.1.3: exponential backoff of the retransmission timer.
      o.retransmits++;
      o.intervalUs *= 2;
      o.deadlineUs = nowUs + o.intervalUs;
      this.counters.retransmits++;
      this.push(o.peer, o.bytes);
    }
    this.expireReplies(nowUs, 0);
    this.runDeferred();
  }

  private expireReplies(nowUs: number, keep: number): void {
    for (const [k, v] of this.replyCache) {
      if (this.replyCache.size <= keep) break;
      if (v.expiresUs <= nowUs || nowUs === Number.POSITIVE_INFINITY) this.replyCache.delete(k);
    }
  }

  private runDeferred(): void {
    while (this.deferred.length > 0) this.deferred.shift()!();
  }

  pollDeadline(): number | undefined {
    let d: number | undefined;
    for (const o of this.outstanding.values()) if (d === undefined || o.deadlineUs < d) d = o.deadlineUs;
    if (this.deferred.length > 0) return 0;
    return d;
  }

  pollTransmit(): { peer: string; bytes: Uint8Array } | undefined {
    return this.tx.shift();
  }

  outstandingCount(): number { return this.outstanding.size; }

  private push(peer: string, bytes: Uint8Array): void {
    if (this.tx.length >= this.cfg.outstandingMax) { this.counters.dropped++; return; }
    this.counters.sent++;
    this.tap?.('out', peer, bytes);
    this.tx.push({ peer, bytes });
  }
}

function queueMicrotaskLike(f: () => void, q: (() => void)[]): void { q.push(f); }
