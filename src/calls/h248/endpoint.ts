// Many peers behind one socket: an H.248 endpoint (controller or gateway) keyed by the peer's
// transport address ("10.0.0.11:2944"), one TransactionEngine each, created on first contact.
// Same sans-IO contract as the engine; outputs carry the peer they belong to.

import type * as M from './model.js';
import { TransactionEngine, type SendResult, type TransactionConfig, type TransactionEvent } from './transactions.js';

export interface EndpointConfig extends TransactionConfig {
  /** Most peers tracked at once; datagrams from further new peers are dropped and counted. Default 4_096. */
  readonly maxPeers?: number;
}

export interface PeerTransmit { readonly peer: string; readonly bytes: Uint8Array }
export interface PeerEvent { readonly peer: string; readonly event: TransactionEvent }

export class H248Endpoint {
  private readonly peers = new Map<string, TransactionEngine>();
  private readonly maxPeers: number;
  private nextFirstId = 1;
  /** Datagrams dropped because maxPeers was reached. */
  droppedNewPeers = 0;

  constructor(private readonly config: EndpointConfig) {
    this.maxPeers = config.maxPeers ?? 4_096;
  }

  /** The engine for `peer`, creating it (undefined only when the peer table is full). */
  engine(peer: string): TransactionEngine | undefined {
    let e = this.peers.get(peer);
    if (!e) {
      if (this.peers.size >= this.maxPeers) return undefined;
      // Distinct id ranges per peer keep transaction ids unique across the endpoint's logs.
      e = new TransactionEngine(this.config, this.nextFirstId);
      this.nextFirstId = (this.nextFirstId + 100_000_000) % 0xfffffffe || 1;
      this.peers.set(peer, e);
    }
    return e;
  }

  /** Forget a peer entirely (e.g. a gateway that registered with another controller). */
  removePeer(peer: string): boolean {
    return this.peers.delete(peer);
  }

  peerAddresses(): string[] {
    return [...this.peers.keys()];
  }

  handle(peer: string, datagram: Uint8Array, nowUs: number): void {
    const e = this.engine(peer);
    if (!e) { this.droppedNewPeers++; return; }
    e.handle(datagram, nowUs);
  }

  sendRequest(peer: string, actions: readonly M.ActionRequest[], nowUs: number): SendResult {
    const e = this.engine(peer);
    if (!e) return { ok: false, reason: 'outstanding-limit' };
    return e.sendRequest(actions, nowUs);
  }

  sendReply(peer: string, reply: M.TransactionReply, nowUs: number): boolean {
    return this.peers.get(peer)?.sendReply(reply, nowUs) ?? false;
  }

  handleTimeout(nowUs: number): void {
    for (const e of this.peers.values()) {
      const d = e.pollDeadline();
      if (d !== undefined && d <= nowUs) e.handleTimeout(nowUs);
    }
  }

  pollTransmit(): PeerTransmit | undefined {
    for (const [peer, e] of this.peers) {
      const bytes = e.pollTransmit();
      if (bytes) return { peer, bytes };
    }
    return undefined;
  }

  pollEvent(): PeerEvent | undefined {
    for (const [peer, e] of this.peers) {
      const event = e.pollEvent();
      if (event) return { peer, event };
    }
    return undefined;
  }

  pollDeadline(): number | undefined {
    let d: number | undefined;
    for (const e of this.peers.values()) {
      const x = e.pollDeadline();
      if (x !== undefined && (d === undefined || x < d)) d = x;
    }
    return d;
  }
}
