// A CRAFT splicer box with a peer (DESIGN §CRAFT, addition 1): its own address for
// the control channel (heartbeats, splice-state replication) plus a Splicer at the
// service address. The active box replicates each splice before the splice carries
// data; the standby installs replicas and, when the active box falls silent, takes the
// service address over (gratuitous ARP) and forwards every replicated connection.
// Sans-IO FrameEndpoint. Not here: sessions still in setup (they are lost at a crash).
import type { FrameEndpoint, OutgoingFrame } from '../stack/endpoint.js';
import { Host } from '../stack/host.js';
import type { Rng } from '../util/rng.js';
import { BROADCAST_MAC, macEquals, parseMac } from '../wire/addr.js';
import { Splicer, type SplicerConfig } from './splicer.js';
import type { SpliceState } from './splice.js';
import { encodeControl, parseControl, type ControlMessage, type SetupRecord } from './replication.js';

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
  onEvent?: (e: CraftNodeEvent) => void;
}

export interface CraftNodeEvent { tUs: number; node: string; kind: 'takeover' | 'peer-up' | 'peer-lost' | 'replication-failed'; text: string }

const CONTROL_PORT = 7701;
const PENDING_REPLICATIONS_MAX = 4096;

export class CraftNode implements FrameEndpoint {
  readonly name: string;
  readonly own: Host;
  readonly splicer: Splicer;
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
  private readonly pending = new Map<number, { bytes: Uint8Array; left: number; nextUs: number }>();
  private readonly counter = new Map<string, number>();
  takeoverUs: number | undefined;

  constructor(cfg: CraftNodeConfig) {
    this.cfg = cfg;
    this.name = cfg.name;
    this.port = cfg.controlPort ?? CONTROL_PORT;
    this.hbUs = cfg.heartbeatUs ?? 20_000;
    this.deadUs = cfg.deadAfterUs ?? 100_000;
    this.retryUs = cfg.replicationRetryUs ?? 5_000;
    this.retries = cfg.replicationRetries ?? 8;
    this.active = cfg.role === 'active';
    const own = parseMac(cfg.ownMac);
    const svc = parseMac(cfg.splicer.serviceMac);
    if (own === undefined || svc === undefined) throw new Error(`${cfg.name}: bad MAC`);
    this.ownMac = own;
    this.serviceMac = svc;
    this.own = new Host({ name: `${cfg.name}-own`, mac: cfg.ownMac, ip: cfg.ownIp, prefixLen: cfg.prefixLen, rng: cfg.rng });
    this.own.udpBind(this.port, (_src, _port, data, nowUs) => this.onControl(data, nowUs));
    this.splicer = new Splicer({
      ...cfg.splicer, name: `${cfg.name}-splicer`, rng: cfg.rng, prefixLen: cfg.prefixLen, standby: !this.active,
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
  counters(): Record<string, number> { return Object.fromEntries(this.counter); }
  private inc(k: string): void { this.counter.set(k, (this.counter.get(k) ?? 0) + 1); }

  handleFrame(ifIndex: number, frame: Uint8Array, nowUs: number): void {
    this.nowUs = nowUs;
    if (frame.length < 14) return;
    const dst = frame.subarray(0, 6);
    if (macEquals(dst, this.ownMac)) { this.own.handleFrame(ifIndex, frame, nowUs); return; }
    const bcast = macEquals(dst, BROADCAST_MAC);
    if (bcast) this.own.handleFrame(ifIndex, frame, nowUs);
    // A standby leaves the service address alone (not even ARP) until it takes over.
    if (this.active && (bcast || macEquals(dst, this.serviceMac))) this.splicer.handleFrame(ifIndex, frame, nowUs);
  }

  handleTimeout(nowUs: number): void {
    this.nowUs = nowUs;
    this.own.handleTimeout(nowUs);
    if (this.active) this.splicer.handleTimeout(nowUs);
    if (nowUs >= this.nextHbUs) {
      this.nextHbUs = nowUs + this.hbUs;
      this.send({ t: 'hb', node: this.cfg.nodeId, epoch: this.cfg.epoch, active: this.active });
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
      this.own.udpSend(this.cfg.peerIp, this.port, this.port, p.bytes, nowUs);
    }
    if (this.lastPeerUs !== undefined && nowUs - this.lastPeerUs >= this.deadUs) {
      this.lastPeerUs = undefined;
      this.cfg.onEvent?.({ tUs: nowUs, node: this.name, kind: 'peer-lost', text: '' });
      if (!this.active) this.takeOver(nowUs);
    }
  }

  pollTransmit(): OutgoingFrame | undefined {
    return this.own.pollTransmit() ?? (this.active ? this.splicer.pollTransmit() : undefined);
  }

  pollDeadline(): number | undefined {
    let d = this.nextHbUs;
    const o = this.own.pollDeadline();
    if (o !== undefined) d = Math.min(d, o);
    if (this.active) { const s = this.splicer.pollDeadline(); if (s !== undefined) d = Math.min(d, s); }
    for (const p of this.pending.values()) d = Math.min(d, p.nextUs);
    if (this.lastPeerUs !== undefined) d = Math.min(d, this.lastPeerUs + this.deadUs);
    return d;
  }

  private takeOver(nowUs: number): void {
    this.active = true;
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
      this.own.udpSend(this.cfg.peerIp, this.port, this.port, bytes, this.nowUs);
      return false;
    }
    this.pending.set(sp.id, { bytes, left: this.retries, nextUs: this.nowUs + this.retryUs });
    this.own.udpSend(this.cfg.peerIp, this.port, this.port, bytes, this.nowUs);
    return hold;
  }

  /** Sends `m` to the peer until acknowledged (by `id`); true: hold what depends on it. */
  private replicateMessage(id: number, m: ControlMessage): boolean {
    if (this.lastPeerUs === undefined || this.pending.size >= PENDING_REPLICATIONS_MAX) return false;
    const bytes = encodeControl(m);
    this.pending.set(id, { bytes, left: this.retries, nextUs: this.nowUs + this.retryUs });
    this.own.udpSend(this.cfg.peerIp, this.port, this.port, bytes, this.nowUs);
    return true;
  }

  private send(m: ControlMessage): void {
    this.own.udpSend(this.cfg.peerIp, this.port, this.port, encodeControl(m), this.nowUs);
  }

  private onControl(data: Uint8Array, nowUs: number): void {
    const r = parseControl(data);
    if (!r.ok) { this.inc(`control-${r.error.code}`); return; }
    const m = r.value;
    if (m.node === this.cfg.nodeId) return;
    if (this.lastPeerUs === undefined) this.cfg.onEvent?.({ tUs: nowUs, node: this.name, kind: 'peer-up', text: '' });
    this.lastPeerUs = nowUs;
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
