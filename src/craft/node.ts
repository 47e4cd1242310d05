// A CRAFT splicer box with a peer (DESIGN §CRAFT, addition 1): its own address for
// the control channel (heartbeats, splice-state replication) plus a Splicer at the
// service address. The active box replicates each splice before the splice carries
// data; the standby installs replicas and, when the active box falls silent, takes the
// service address over (gratuitous ARP) and forwards every replicated connection.
// Sans-IO FrameEndpoint. The control channel is authenticated (HMAC, replay window:
// control-auth.ts) when a key is configured. Fencing: an active box serves only while
// its lease (renewed by the peer's messages) holds; cut off from its peer it stops sending
// as the service address, and either sees the peer's takeover announcement (it then becomes
// a standby) or, when none comes within soloAfterUs, concludes the peer is gone and serves alone.
import type { FrameEndpoint, OutgoingFrame } from '../stack/endpoint.js';
import { Host } from '../stack/host.js';
import type { Rng } from '../util/rng.js';
import { BROADCAST_MAC, macEquals, parseIpv4, parseMac } from '../wire/addr.js';
import { Splicer, type SplicerConfig } from './splicer.js';
import type { SpliceState } from './splice.js';
import { encodeControl, parseControl, type ControlMessage, type SetupRecord } from './replication.js';
import { openControl, ReplayGuard, sealControl } from './control-auth.js';

export interface CraftNodeConfig {
  name: string;
  nodeId: number;
  epoch: number;
  role: 'active' | 'standby';
  ownIp: string;
  ownMac: string;
  peerIp: string;
  prefixLen: number;
  controlPort?: number;
  rng: Rng;
  splicer: Omit<SplicerConfig, 'name' | 'rng' | 'replicate' | 'onSpliceRemoved' | 'onSpliceUpdated' | 'standby' | 'prefixLen' | 'replicateSetup' | 'onSetupRemoved'>;
  /** Replicate client connections still being set up, so a crash before the splice loses none (default true). */
  replicateSetup?: boolean;
  heartbeatUs?: number;
  /** The peer is considered gone after this long without a heartbeat. */
  deadAfterUs?: number;
  replicationRetryUs?: number;
  replicationRetries?: number;
  /** Shared key of the control channel (HMAC-SHA256 + replay window). Undefined: unauthenticated. */
  key?: Uint8Array;
  /** Fencing with a lease (default true). */
  fencing?: boolean;
  /** The active box's lease after the peer's last message; at most deadAfterUs - 2 heartbeats (default). */
  leaseUs?: number;
  /** Fenced this long without seeing the peer announce the service address: serve alone (default deadAfterUs). */
  soloAfterUs?: number;
  onEvent?: (e: CraftNodeEvent) => void;
}

export interface CraftNodeEvent {
  tUs: number; node: string;
  kind: 'takeover' | 'peer-up' | 'peer-lost' | 'replication-failed' | 'fenced' | 'solo' | 'unfenced' | 'demoted';
  text: string;
}

const CONTROL_PORT = 7701;
const PENDING_REPLICATIONS_MAX = 4096;

export class CraftNode implements FrameEndpoint {
  readonly name: string;
  readonly own: Host;
  /** The splicer at the service address (replaced by a fresh standby one when this box is demoted). */
  splicer: Splicer;
  private readonly ownMac: Uint8Array;
  private readonly serviceMac: Uint8Array;
  private readonly cfg: CraftNodeConfig;
  private readonly port: number;
  private readonly hbUs: number;
  private readonly deadUs: number;
  private readonly retryUs: number;
  private readonly retries: number;
  private active: boolean;
  private nowUs = 0;
  private nextHbUs = 0;
  private lastPeerUs: number | undefined;
  /** When the peer was last heard, kept across its loss (observers measure takeover time from it). */
  private lastHeardUs: number | undefined;
  private readonly pending = new Map<number, { bytes: Uint8Array; left: number; nextUs: number }>();
  private readonly counter = new Map<string, number>();
  takeoverUs: number | undefined;
  private readonly fencing: boolean;
  private readonly leaseUs: number;
  private readonly soloAfterUs: number;
  private readonly serviceIp: number;
  private readonly replay = new ReplayGuard();
  private txSeq = 0n;
  /** Ever heard a peer in this role (the lease applies only then). */
  private hadPeer = false;
  /** Serving without a peer (after a takeover, or after fencing found no peer takeover). */
  private solo = false;
  private leaseUntilUs: number | undefined;
  private fencedSinceUs: number | undefined;
  /** Bumped at each takeover or solo start: on a conflict the higher term keeps the service. */
  private term = 0;
  private announceLeft = 0;
  private nextAnnounceUs = 0;

  constructor(cfg: CraftNodeConfig) {
    this.cfg = cfg;
    this.name = cfg.name;
    this.port = cfg.controlPort ?? CONTROL_PORT;
    this.hbUs = cfg.heartbeatUs ?? 20_000;
    this.deadUs = cfg.deadAfterUs ?? 100_000;
    this.retryUs = cfg.replicationRetryUs ?? 5_000;
    this.retries = cfg.replicationRetries ?? 8;
    this.active = cfg.role === 'active';
    this.fencing = cfg.fencing ?? true;
    this.leaseUs = cfg.leaseUs ?? this.deadUs - 2 * this.hbUs;
    this.soloAfterUs = cfg.soloAfterUs ?? this.deadUs;
    if (this.fencing && !(this.leaseUs > 0 && this.leaseUs + this.hbUs < this.deadUs)) {
      throw new Error(`${cfg.name}: the lease (${this.leaseUs} µs) must end a heartbeat before the peer may take over (${this.deadUs} µs)`);
    }
    const sip = parseIpv4(cfg.splicer.serviceIp);
    if (sip === undefined) throw new Error(`${cfg.name}: bad service address`);
    this.serviceIp = sip;
    const own = parseMac(cfg.ownMac);
    const svc = parseMac(cfg.splicer.serviceMac);
    if (own === undefined || svc === undefined) throw new Error(`${cfg.name}: bad MAC`);
    this.ownMac = own;
    this.serviceMac = svc;
    this.own = new Host({ name: `${cfg.name}-own`, mac: cfg.ownMac, ip: cfg.ownIp, prefixLen: cfg.prefixLen, rng: cfg.rng });
    this.own.udpBind(this.port, (_src, _port, data, nowUs) => this.onControl(data, nowUs));
    this.splicer = this.makeSplicer(!this.active);
  }

  private makeSplicer(standby: boolean): Splicer {
    const cfg = this.cfg;
    return new Splicer({
      ...cfg.splicer, name: `${cfg.name}-splicer`, rng: cfg.rng, prefixLen: cfg.prefixLen, standby,
      replicate: (sp) => this.replicate(sp),
      // Response framing learned after the splice: the peer needs it to re-splice after a back-end failure.
      onSpliceUpdated: (sp) => { if (this.lastPeerUs !== undefined) this.replicate(sp, false); },
      onSpliceRemoved: (sp) => this.send({ t: 'remove', node: cfg.nodeId, clientIp: sp.client.ip, clientPort: sp.client.port, localPort: sp.client.localPort }),
      ...(cfg.replicateSetup === false ? {} : {
        replicateSetup: (rec: Readonly<SetupRecord>) => this.replicateMessage(rec.id, { t: 'setup', node: cfg.nodeId, r: rec }),
        onSetupRemoved: (rec: Readonly<SetupRecord>) => this.send({ t: 'remove', node: cfg.nodeId, clientIp: rec.clientIp, clientPort: rec.clientPort, localPort: rec.localPort }),
      }),
    });
  }

  isActive(): boolean { return this.active; }
  /** The last time a valid control message from the peer arrived (µs), also after the peer was declared lost. */
  peerLastHeardUs(): number | undefined { return this.lastHeardUs; }
  /** Active but cut off from the peer: sending nothing as the service address. */
  isFenced(): boolean { return this.fencedSinceUs !== undefined; }
  private serving(): boolean { return this.active && this.fencedSinceUs === undefined; }
  counters(): Record<string, number> { return Object.fromEntries(this.counter); }
  private inc(k: string): void { this.counter.set(k, (this.counter.get(k) ?? 0) + 1); }

  handleFrame(ifIndex: number, frame: Uint8Array, nowUs: number): void {
    this.nowUs = nowUs;
    if (frame.length < 14) return;
    const dst = frame.subarray(0, 6);
    if (macEquals(dst, this.ownMac)) { this.own.handleFrame(ifIndex, frame, nowUs); return; }
    const bcast = macEquals(dst, BROADCAST_MAC);
    if (bcast) {
      this.own.handleFrame(ifIndex, frame, nowUs);
      if (this.active && this.fencing) this.watchClaims(frame, nowUs);
    }
    // A standby (or a fenced box) leaves the service address alone (not even ARP).
    if (this.serving() && (bcast || macEquals(dst, this.serviceMac))) this.splicer.handleFrame(ifIndex, frame, nowUs);
  }

  handleTimeout(nowUs: number): void {
    this.nowUs = nowUs;
    this.own.handleTimeout(nowUs);
    if (this.fencing && this.active) this.checkLease(nowUs);
    if (this.serving()) this.splicer.handleTimeout(nowUs);
    if (this.serving() && this.announceLeft > 0 && nowUs >= this.nextAnnounceUs) {
      // Repeated, so a cut-off former active box sees the claim even if one frame is lost.
      this.announceLeft--;
      this.nextAnnounceUs = nowUs + this.hbUs;
      this.splicer.host.announce(nowUs);
    }
    if (nowUs >= this.nextHbUs) {
      this.nextHbUs = nowUs + this.hbUs;
      this.send({ t: 'hb', node: this.cfg.nodeId, epoch: this.cfg.epoch, active: this.active, term: this.term });
    }
    for (const [id, p] of this.pending) {
      if (nowUs < p.nextUs) continue;
      if (p.left <= 0) {
        this.pending.delete(id);
        this.inc('replication-failed');
        this.cfg.onEvent?.({ tUs: nowUs, node: this.name, kind: 'replication-failed', text: `splice #${id}` });
        continue;
      }
      p.left--;
      p.nextUs = nowUs + this.retryUs;
      this.transmit(p.bytes);
    }
    if (this.lastPeerUs !== undefined && nowUs - this.lastPeerUs >= this.deadUs) {
      this.lastPeerUs = undefined;
      this.cfg.onEvent?.({ tUs: nowUs, node: this.name, kind: 'peer-lost', text: '' });
      if (!this.active) this.takeOver(nowUs);
    }
  }

  pollTransmit(): OutgoingFrame | undefined {
    return this.own.pollTransmit() ?? (this.serving() ? this.splicer.pollTransmit() : undefined);
  }

  pollDeadline(): number | undefined {
    let d = this.nextHbUs;
    const o = this.own.pollDeadline();
    if (o !== undefined) d = Math.min(d, o);
    if (this.serving()) { const s = this.splicer.pollDeadline(); if (s !== undefined) d = Math.min(d, s); }
    if (this.serving() && this.announceLeft > 0) d = Math.min(d, this.nextAnnounceUs);
    if (this.fencing && this.active && this.hadPeer && !this.solo && this.fencedSinceUs === undefined && this.leaseUntilUs !== undefined) d = Math.min(d, this.leaseUntilUs);
    if (this.fencedSinceUs !== undefined) d = Math.min(d, this.fencedSinceUs + this.soloAfterUs);
    for (const p of this.pending.values()) d = Math.min(d, p.nextUs);
    if (this.lastPeerUs !== undefined) d = Math.min(d, this.lastPeerUs + this.deadUs);
    return d;
  }

  /** The active box's lease: cut off from the peer, stop serving; fenced long enough with no claim seen, serve alone. */
  private checkLease(nowUs: number): void {
    if (this.fencedSinceUs !== undefined) {
      if (nowUs >= this.fencedSinceUs + this.soloAfterUs) {
        this.fencedSinceUs = undefined;
        this.solo = true;
        this.term++;
        this.inc('solo');
        this.splicer.host.announce(nowUs);
        this.cfg.onEvent?.({ tUs: nowUs, node: this.name, kind: 'solo', text: 'no takeover seen: the peer is gone' });
      }
      return;
    }
    if (!this.hadPeer || this.solo || this.leaseUntilUs === undefined || nowUs < this.leaseUntilUs) return;
    this.fencedSinceUs = nowUs;
    this.inc('fenced');
    this.cfg.onEvent?.({ tUs: nowUs, node: this.name, kind: 'fenced', text: `no word from the peer for ${this.leaseUs} µs` });
  }

  /** A gratuitous ARP for the service address from another MAC: the peer has taken over. */
  private watchClaims(f: Uint8Array, nowUs: number): void {
    if (this.fencedSinceUs === undefined) return;
    if (f.length < 42 || f[12] !== 0x08 || f[13] !== 0x06) return;
    const spa = ((f[28]! << 24) | (f[29]! << 16) | (f[30]! << 8) | f[31]!) >>> 0;
    if (spa !== this.serviceIp || macEquals(f.subarray(22, 28), this.serviceMac)) return;
    this.demote(nowUs, 'the peer announced the service address');
  }

  /** Back to standby with a fresh splicer (this box's state is stale: the peer serves now). */
  private demote(nowUs: number, why: string): void {
    this.active = false;
    this.fencedSinceUs = undefined;
    this.solo = false;
    // A standby takes over only after hearing the peer and then losing it again.
    this.lastPeerUs = undefined;
    this.announceLeft = 0;
    this.splicer = this.makeSplicer(true);
    this.inc('demoted');
    this.cfg.onEvent?.({ tUs: nowUs, node: this.name, kind: 'demoted', text: why });
  }

  /** The active box heard its peer: renew the lease; resolve two active boxes by term. */
  private peerHeard(m: ControlMessage, nowUs: number): void {
    this.leaseUntilUs = nowUs + this.leaseUs;
    if (m.t !== 'hb') return;
    if (m.active && ((m.term ?? 0) > this.term || ((m.term ?? 0) === this.term && m.node > this.cfg.nodeId))) {
      this.demote(nowUs, `the peer serves with term ${m.term ?? 0}`);
      return;
    }
    if (!m.active) {
      this.solo = false;                       // a standby is back: serve under the lease again
      if (this.fencedSinceUs !== undefined) {
        this.fencedSinceUs = undefined;
        this.inc('unfenced');
        this.splicer.host.announce(nowUs);
        this.cfg.onEvent?.({ tUs: nowUs, node: this.name, kind: 'unfenced', text: '' });
      }
    }
  }

  private takeOver(nowUs: number): void {
    this.active = true;
    this.solo = true;
    this.term++;
    this.announceLeft = 3;
    this.nextAnnounceUs = nowUs + this.hbUs;
    this.takeoverUs = nowUs;
    this.inc('takeover');
    this.splicer.activate(nowUs);
    this.cfg.onEvent?.({ tUs: nowUs, node: this.name, kind: 'takeover', text: `${this.splicer.spliceCount()} splices` });
  }

  /** The splicer installed a splice: send it to the peer and hold its packets until acknowledged. */
  private replicate(sp: Readonly<SpliceState>, hold = true): boolean {
    if (this.lastPeerUs === undefined || this.pending.size >= PENDING_REPLICATIONS_MAX) return false;   // no peer: nothing to wait for
    const bytes = encodeControl({ t: 'splice', node: this.cfg.nodeId, s: sp as SpliceState });
    const waiting = this.pending.get(sp.id);
    if (!hold && waiting !== undefined) {
      // Still unacknowledged: retransmissions carry the update, and it goes out once now.
      waiting.bytes = bytes;
      this.transmit(bytes);
      return false;
    }
    this.pending.set(sp.id, { bytes, left: this.retries, nextUs: this.nowUs + this.retryUs });
    this.transmit(bytes);
    return hold;
  }

  /** Sends `m` to the peer until acknowledged (by `id`); true: hold what depends on it. */
  private replicateMessage(id: number, m: ControlMessage): boolean {
    if (this.lastPeerUs === undefined || this.pending.size >= PENDING_REPLICATIONS_MAX) return false;
    const bytes = encodeControl(m);
    this.pending.set(id, { bytes, left: this.retries, nextUs: this.nowUs + this.retryUs });
    this.transmit(bytes);
    return true;
  }

  private send(m: ControlMessage): void {
    this.transmit(encodeControl(m));
  }

  /** One control datagram to the peer: sealed afresh each time (a new sequence number) when keyed. */
  private transmit(body: Uint8Array): void {
    const key = this.cfg.key;
    const bytes = key === undefined ? body : sealControl(body, key, { sender: this.cfg.nodeId, epoch: this.cfg.epoch, seq: this.txSeq++ });
    this.own.udpSend(this.cfg.peerIp, this.port, this.port, bytes, this.nowUs);
  }

  private onControl(data: Uint8Array, nowUs: number): void {
    let body = data;
    let sender: number | undefined;
    if (this.cfg.key !== undefined) {
      const o = openControl(data, this.cfg.key);
      if (!o.ok) { this.inc('control-auth-failed'); return; }
      if (o.value.sender === this.cfg.nodeId) return;
      if (!this.replay.accept(o.value)) { this.inc('control-replayed'); return; }
      body = o.value.body;
      sender = o.value.sender;
    }
    const r = parseControl(body);
    if (!r.ok) { this.inc(`control-${r.error.code}`); return; }
    const m = r.value;
    if (m.node === this.cfg.nodeId || (sender !== undefined && m.node !== sender)) return;
    if (this.lastPeerUs === undefined) this.cfg.onEvent?.({ tUs: nowUs, node: this.name, kind: 'peer-up', text: '' });
    this.lastPeerUs = nowUs;
    this.lastHeardUs = nowUs;
    this.hadPeer = true;
    if (this.active && this.fencing) this.peerHeard(m, nowUs);
    switch (m.t) {
      case 'hb': return;
      case 'splice':
        if (this.active) { this.inc('replica-while-active'); return; }
        if (this.splicer.installReplica(m.s)) this.send({ t: 'ack', node: this.cfg.nodeId, id: m.s.id });
        return;
      case 'setup':
        if (this.active) { this.inc('setup-while-active'); return; }
        if (this.splicer.installSetup(m.r)) this.send({ t: 'ack', node: this.cfg.nodeId, id: m.r.id });
        return;
      case 'ack':
        if (this.pending.delete(m.id)) this.splicer.replicated(m.id);
        return;
      case 'remove':
        if (!this.active) this.splicer.removeReplica(m.clientIp, m.clientPort, m.localPort);
        return;
    }
  }
}
