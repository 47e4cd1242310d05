// H.248 transactions of one endpoint (controller or gateway) with many peers: one
// Annex D transaction engine per peer (h248/transactions.ts — retransmission with
// backoff and an adaptive timer, duplicate detection, Pending, response
// acknowledgement), request ids unique across the endpoint, and requests handed to the
// user who answers them at once. Sans-IO: bytes, peers and time in; bytes out.
import type { ActionRequest, TransactionReply, TransactionRequest } from '../h248/model.js';
import { TransactionEngine } from '../h248/transactions.js';
import type { TransactionCounters } from '../h248/transactions.js';
import { Fifo } from '../common/fifo.js';

/** Where the link delivers what arrives. Requests are answered synchronously. */
export interface LinkUser {
  onRequest(peer: string, mId: string, req: TransactionRequest, nowUs: number): TransactionReply;
  /** `reply` undefined = no answer after all retransmissions (Annex D.1.3 give-up) or refused locally. */
  onReply(peer: string, transactionId: number, reply: TransactionReply | undefined, nowUs: number): void;
}

export interface LinkConfig {
  readonly mId: string;
  readonly version: number;
  /** 'udp': Annex D.1, we retransmit; 'tcp': Annex D.2, the transport is reliable and timers only give up. */
  readonly transport: 'udp' | 'tcp';
  /** First retransmission timer before any round trip is measured (Annex D.1.3 initial estimate). */
  readonly retransmitUs: number;
  /** Retransmissions before the request is reported as timed out. */
  readonly retransmitsMax: number;
  /** How long a reply (then its id) is kept to answer a retransmitted request (Annex D.1.1 LONG-TIMER). */
  readonly replyCacheUs: number;
  /** Outstanding requests per peer. */
  readonly outstandingMax: number;
  /** Remembered replies per peer. */
  readonly replyCacheMax: number;
  /** Peers we keep an engine for; datagrams from more are dropped (counted). */
  readonly peersMax: number;
  /**
   * First transaction id. A restarted endpoint must not reuse the ids of its previous
   * incarnation (the peer's reply cache would answer them), so drivers pass a random start.
   */
  readonly firstTransactionId?: number;
}

export function defaultLinkConfig(mId: string): LinkConfig {
  return {
    mId, version: 1, transport: 'udp', retransmitUs: 60_000, retransmitsMax: 3, replyCacheUs: 5_000_000,
    outstandingMax: 50_000, replyCacheMax: 50_000, peersMax: 10_000,
  };
}

export interface LinkCounters {
  sent: number; received: number; retransmits: number; timeouts: number; decodeErrors: number;
  duplicateRequests: number; unmatchedReplies: number; dropped: number; encodeErrors: number;
  pendingsSent: number; pendingsReceived: number; acksSent: number; acksReceived: number;
}

/** Largest UDP payload (a message must fit one datagram, Annex D.1). */
const UDP_PAYLOAD_MAX = 65_507;

export class TransactionLink {
  private nextTid: number;
  private readonly engines = new Map<string, TransactionEngine>();
  private readonly tx = new Fifo<{ peer: string; bytes: Uint8Array }>();
  private readonly deferred: (() => void)[] = [];
  private refusedTid = 0;
  private droppedPeers = 0;
  private localDrops = 0;
  /** Optional tap for captures (pcap): every message in or out. */
  tap: ((dir: 'in' | 'out', peer: string, bytes: Uint8Array) => void) | undefined;

  constructor(private readonly cfg: LinkConfig, private readonly user: LinkUser) {
    this.nextTid = Math.min(0xfffffffe, Math.max(1, Math.floor(cfg.firstTransactionId ?? 1)));
  }

  get mId(): string { return this.cfg.mId; }

  private readonly idSource = (): number => {
    const id = this.nextTid;
    this.nextTid = id >= 0xfffffffe ? 1 : id + 1;
    return id;
  };

  private engine(peer: string): TransactionEngine | undefined {
    let e = this.engines.get(peer);
    if (e) return e;
    if (this.engines.size >= this.cfg.peersMax) { this.droppedPeers++; return undefined; }
    e = new TransactionEngine({
      mId: this.cfg.mId, version: this.cfg.version, transport: this.cfg.transport,
      initialRtoUs: this.cfg.retransmitUs, minRtoUs: Math.min(50_000, this.cfg.retransmitUs), maxRetransmits: this.cfg.retransmitsMax,
      longTimerUs: this.cfg.replyCacheUs, maxOutstanding: this.cfg.outstandingMax, maxCachedReplies: this.cfg.replyCacheMax,
      maxDatagramBytes: UDP_PAYLOAD_MAX, pendingAfterUs: 0, idSource: this.idSource,
    });
    this.engines.set(peer, e);
    return e;
  }

  /** Sends a transaction request; the answer comes back through user.onReply. */
  sendRequest(peer: string, actions: readonly ActionRequest[], nowUs: number): number {
    const e = this.engine(peer);
    const r = e ? e.sendRequest(actions, nowUs) : undefined;
    if (!r || !r.ok) {
      // Refused here (limits, size, no text form): reported like a timeout, after the caller
      // has stored its continuation, under an id no real request uses.
      this.localDrops++;
      const tid = -(++this.refusedTid);
      this.deferred.push(() => this.user.onReply(peer, tid, undefined, nowUs));
      return tid;
    }
    this.flush(peer, e!, nowUs);
    return r.transactionId;
  }

  /** Stop one request; its reply, if it comes, is acknowledged and ignored. */
  forgetRequest(transactionId: number, nowUs = 0): void {
    for (const e of this.engines.values()) if (e.forgetRequest(transactionId, nowUs)) return;
  }

  /** Forget every outstanding request to `peer` without reporting (a peer abandoned). */
  forgetPeer(peer: string): void { this.engines.get(peer)?.abandonOutstanding(); }

  /** Drop the replies remembered for `peer` (a new association with it starts). */
  forgetPeerReplies(peer: string): void { this.engines.get(peer)?.forgetAnswered(); }

  handleDatagram(peer: string, bytes: Uint8Array, nowUs: number): void {
    this.tap?.('in', peer, bytes);
    const e = this.engine(peer);
    if (!e) return;
    e.handle(bytes, nowUs);
    this.flush(peer, e, nowUs);
    this.runDeferred();
  }

  handleTimeout(nowUs: number): void {
    for (const [peer, e] of this.engines) {
      const d = e.pollDeadline();
      if (d === undefined || d > nowUs) continue;
      e.handleTimeout(nowUs);
      this.flush(peer, e, nowUs);
    }
    this.runDeferred();
  }

  /** Hands the engine's events to the user (answering requests at once) and queues its output. */
  private flush(peer: string, e: TransactionEngine, nowUs: number): void {
    for (let ev = e.pollEvent(); ev; ev = e.pollEvent()) {
      if (ev.type === 'request') {
        const reply = this.user.onRequest(peer, ev.mId, { kind: 'request', transactionId: ev.transactionId, actions: ev.actions }, nowUs);
        e.sendReply(reply, nowUs);
      } else if (ev.type === 'reply') {
        this.user.onReply(peer, ev.transactionId, ev.reply, nowUs);
      } else if (ev.type === 'timeout') {
        this.user.onReply(peer, ev.transactionId, undefined, nowUs);
      }
      // 'pending' only lengthens the engine's wait; message and parse errors are counted by the engine.
    }
    for (let b = e.pollTransmit(); b; b = e.pollTransmit()) {
      if (this.tx.length >= QUEUE_MAX) { this.localDrops++; continue; }
      this.tap?.('out', peer, b);
      this.tx.push({ peer, bytes: b });
    }
  }

  private runDeferred(): void {
    while (this.deferred.length > 0) this.deferred.shift()!();
  }

  pollDeadline(): number | undefined {
    if (this.deferred.length > 0) return 0;
    let d: number | undefined;
    for (const e of this.engines.values()) { const x = e.pollDeadline(); if (x !== undefined && (d === undefined || x < d)) d = x; }
    return d;
  }

  pollTransmit(): { peer: string; bytes: Uint8Array } | undefined { return this.tx.shift(); }

  outstandingCount(): number { let n = 0; for (const e of this.engines.values()) n += e.outstandingCount(); return n; }

  /** Totals over every peer's engine. */
  get counters(): LinkCounters {
    const sum = (k: keyof TransactionCounters): number => { let n = 0; for (const e of this.engines.values()) n += e.counters[k]; return n; };
    return {
      sent: sum('datagramsOut'), received: sum('datagramsIn'), retransmits: sum('retransmits'), timeouts: sum('timeouts'), decodeErrors: sum('parseErrors'),
      duplicateRequests: sum('duplicateRequests'), unmatchedReplies: sum('unknownReplies'), dropped: this.localDrops + this.droppedPeers + sum('queueDrops'),
      encodeErrors: sum('encodeErrors'), pendingsSent: sum('pendingsSent'), pendingsReceived: sum('pendingsReceived'), acksSent: sum('acksSent'), acksReceived: sum('acksReceived'),
    };
  }
}

/** Bound on messages queued between two drains. */
const QUEUE_MAX = 200_000;
