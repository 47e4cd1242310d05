// Several splicers active at once for one service (DESIGN §CRAFT, addition 2): each box has
// its own address for the control channel and a Splicer at the shared service address; a
// flow distributor in front (ECMP-like: testing/flow-distributor.ts in the simulator) gives
// each packet to one of them. Every splice, and every setup in progress, is replicated to all
// live peers before it carries data, so any box forwards any connection whose packets reach
// it (one map lookup per packet, as alone). A box that falls silent is dropped from the
// waiting sets; the others already hold its connections. A box that comes up (or back)
// gets every splice its peers hold, and drops rather than resets segments of connections
// it holds nothing of until they have all been sent. Control datagrams are sealed
// (control-auth.ts) when keyed. Who receives a lost box's flows is the distributor's
// decision, or with adoptPeerAddresses (the lab) the lowest live box answers for the lost
// box's own address until it returns. Sans-IO FrameEndpoint.
import type { FrameEndpoint, OutgoingFrame } from '../stack/endpoint.js';
import { Host } from '../stack/host.js';
import type { Rng } from '../util/rng.js';
import { BROADCAST_MAC, macEquals, parseIpv4, parseMac } from '../wire/addr.js';
import { Splicer, type SplicerConfig } from './splicer.js';
import type { SpliceState } from './splice.js';
import { ALIVE_PER_MESSAGE, encodeControl, parseControl, type ControlMessage } from './replication.js';
import { openControl, ReplayGuard, sealControl } from './control-auth.js';

export interface SharedNodeConfig {
  name: string;
  nodeId: number;
  epoch: number;
  ownIp: string;
  ownMac: string;
  /** The other splicers' own addresses. */
  peers: string[];
  prefixLen: number;
  controlPort?: number;
  rng: Rng;
  key?: Uint8Array;
  splicer: Omit<SplicerConfig, 'name' | 'rng' | 'replicate' | 'onSpliceRemoved' | 'onSpliceUpdated' | 'standby' | 'prefixLen'
    | 'replicateSetup' | 'onSetupRemoved' | 'shared' | 'healthHost'>;
  heartbeatUs?: number;
  deadAfterUs?: number;
  replicationRetryUs?: number;
  replicationRetries?: number;
  /**
   * Next-hop takeover (the lab's distributor is the clients' and back ends' own ECMP routing
   * towards each splicer's own address): when a peer falls silent, the live splicer with the
   * lowest own address answers for the peer's address too and announces it (gratuitous ARP),
   * so the flows hashed to that next hop come here. With this, frames to our own MAC for the
   * service address go to the splicer (the service MAC is then our own MAC).
   */
  adoptPeerAddresses?: boolean;
  /**
   * How long a box that starts (or restarts) waits for its peers' splices before it treats
   * packets of connections it holds nothing of as unknown (RST) again. Default 10 × deadAfterUs, at least 1 s.
   */
  joinTimeoutUs?: number;
  onEvent?: (e: { tUs: number; node: string; kind: 'peer-up' | 'peer-lost' | 'replication-failed' | 'peer-adopted' | 'peer-released' | 'joined'; peer: string }) => void;
}

const CONTROL_PORT = 7701;
const PENDING_MAX = 4096;
/** Splices in flight to a (re)joining peer at once; the rest wait for acknowledgements. */
const SYNC_IN_FLIGHT = 128;

/**
 * A replication waiting for acknowledgements: `waiting`, the peers yet to acknowledge `v`, the
 * version sent last (splices; setups have none); `holding`, those that have acknowledged no
 * version yet — what the splice's held packets wait for (any version lets a peer continue it).
 */
interface Pending { bytes: Uint8Array; v: number | undefined; waiting: Set<number>; holding: Set<number>; left: number; nextUs: number }
/** A peer that came up gets every splice this box holds (its tables are empty). */
interface Sync { queue: SpliceState[]; inFlight: Map<number, { bytes: Uint8Array; left: number; nextUs: number }> }

export class SharedSplicerNode implements FrameEndpoint {
  readonly name: string;
  readonly own: Host;
  readonly splicer: Splicer;
  private readonly ownMac: Uint8Array;
  private readonly serviceMac: Uint8Array;
  private readonly port: number;
  private readonly hbUs: number;
  private readonly deadUs: number;
  private readonly retryUs: number;
  private readonly retries: number;
  /** Peers by their own address: when last heard (undefined: not live). */
  private readonly peers = new Map<number, { ip: string; lastUs: number | undefined; seen: boolean; epoch: number | undefined }>();
  private readonly pending = new Map<number, Pending>();
  private readonly replay = new ReplayGuard();
  private readonly counter = new Map<string, number>();
  private readonly serviceIp: number;
  private readonly ownIpNum: number;
  /** Adopted peer addresses and how many more announcements each gets. */
  private readonly adopted = new Map<string, number>();
  private txSeq = 0n;
  /** Version of the latest splice state sent for replication (see replicate). */
  private nextVersion = 0;
  private nowUs = 0;
  private nextHbUs = 0;
  private readonly syncs = new Map<number, Sync>();
  /**
   * From start until every live peer has sent what it holds ('synced') or joinTimeoutUs:
   * packets of unknown connections are dropped, not reset (their splices are on the way).
   */
  private joining = true;
  private joinDeadlineUs: number | undefined;
  private readonly joinUs: number;
  private readonly syncedFrom = new Set<number>();

  constructor(private readonly cfg: SharedNodeConfig) {
    this.name = cfg.name;
    this.port = cfg.controlPort ?? CONTROL_PORT;
    this.hbUs = cfg.heartbeatUs ?? 20_000;
    this.deadUs = cfg.deadAfterUs ?? 100_000;
    this.retryUs = cfg.replicationRetryUs ?? 5_000;
    this.retries = cfg.replicationRetries ?? 8;
    this.joinUs = cfg.joinTimeoutUs ?? Math.max(1_000_000, 10 * this.deadUs);
    const own = parseMac(cfg.ownMac);
    const svc = parseMac(cfg.splicer.serviceMac);
    if (own === undefined || svc === undefined) throw new Error(`${cfg.name}: bad MAC`);
    this.ownMac = own;
    this.serviceMac = svc;
    const sip = parseIpv4(cfg.splicer.serviceIp);
    const oip = parseIpv4(cfg.ownIp);
    if (sip === undefined || oip === undefined) throw new Error(`${cfg.name}: bad address`);
    this.serviceIp = sip;
    this.ownIpNum = oip;
    for (const p of cfg.peers) {
      const ip = parseIpv4(p);
      if (ip === undefined) throw new Error(`${cfg.name}: bad peer address ${p}`);
      this.peers.set(ip, { ip: p, lastUs: undefined, seen: false, epoch: undefined });
    }
    this.own = new Host({ name: `${cfg.name}-own`, mac: cfg.ownMac, ip: cfg.ownIp, prefixLen: cfg.prefixLen, rng: cfg.rng });
    this.own.udpBind(this.port, (src, _port, data, nowUs) => this.onControl(src, data, nowUs));
    const id = cfg.nodeId;
    this.splicer = new Splicer({
      ...cfg.splicer, name: `${cfg.name}-splicer`, rng: cfg.rng, prefixLen: cfg.prefixLen, standby: false, shared: true,
      // Each box checks the back ends from its own address: replies to the service address
      // would reach whichever box the back end's route picks (in the lab, always the same one).
      healthHost: this.own,
      replicate: (sp) => this.replicate(sp.id, (v) => ({ t: 'splice', node: id, s: sp as SpliceState, v }), true),
      onSpliceUpdated: (sp) => { this.replicate(sp.id, (v) => ({ t: 'splice', node: id, s: sp as SpliceState, v }), false); },
      onSpliceRemoved: (sp) => this.broadcast(encodeControl({ t: 'remove', node: id, clientIp: sp.client.ip, clientPort: sp.client.port, localPort: sp.client.localPort })),
      replicateSetup: (r) => this.replicate(r.id, { t: 'setup', node: id, r }, true),
      onSetupRemoved: (r) => this.broadcast(encodeControl({ t: 'remove', node: id, clientIp: r.clientIp, clientPort: r.clientPort, localPort: r.localPort })),
      // Unacknowledged: sent every quarter idle timeout, and a copy lasts two idle timeouts.
      onSplicesAlive: (sps) => {
        for (let i = 0; i < sps.length; i += ALIVE_PER_MESSAGE) {
          const c = sps.slice(i, i + ALIVE_PER_MESSAGE).flatMap((sp) => [sp.client.ip, sp.client.port, sp.client.localPort]);
          this.broadcast(encodeControl({ t: 'alive', node: id, c }));
        }
      },
    });
    this.splicer.quietUnknown = true;
  }

  counters(): Record<string, number> { return Object.fromEntries(this.counter); }
  livePeers(): string[] { return [...this.peers.values()].filter((p) => p.lastUs !== undefined).map((p) => p.ip); }
  private inc(k: string): void { this.counter.set(k, (this.counter.get(k) ?? 0) + 1); }

  handleFrame(ifIndex: number, frame: Uint8Array, nowUs: number): void {
    this.nowUs = nowUs;
    if (frame.length < 14) return;
    const dst = frame.subarray(0, 6);
    if (macEquals(dst, this.ownMac)) {
      if (this.cfg.adoptPeerAddresses === true && this.forService(frame)) this.splicer.handleFrame(ifIndex, frame, nowUs);
      else this.own.handleFrame(ifIndex, frame, nowUs);
      return;
    }
    const bcast = macEquals(dst, BROADCAST_MAC);
    if (this.adopted.size > 0) this.watchOwnerReturn(frame, nowUs);
    if (bcast) this.own.handleFrame(ifIndex, frame, nowUs);
    if (bcast || macEquals(dst, this.serviceMac)) this.splicer.handleFrame(ifIndex, frame, nowUs);
  }

  /** IPv4 to the service address, or ARP asking for it. */
  private forService(f: Uint8Array): boolean {
    const rd = (o: number): number => ((f[o]! << 24) | (f[o + 1]! << 16) | (f[o + 2]! << 8) | f[o + 3]!) >>> 0;
    if (f[12] === 0x08 && f[13] === 0x00) return f.length >= 34 && rd(30) === this.serviceIp;
    if (f[12] === 0x08 && f[13] === 0x06) return f.length >= 42 && rd(38) === this.serviceIp;
    return false;
  }

  handleTimeout(nowUs: number): void {
    this.nowUs = nowUs;
    this.own.handleTimeout(nowUs);
    this.splicer.handleTimeout(nowUs);
    if (this.joining) {
      this.joinDeadlineUs ??= nowUs + this.joinUs;
      if (nowUs >= this.joinDeadlineUs) this.endJoin('timeout', nowUs);
    }
    for (const [ip, sy] of this.syncs) {
      for (const [id, x] of sy.inFlight) {
        if (nowUs < x.nextUs) continue;
        if (x.left <= 0) { sy.inFlight.delete(id); this.inc('sync-splice-failed'); continue; }
        x.left--;
        x.nextUs = nowUs + this.retryUs;
        this.transmit(this.peers.get(ip)!.ip, x.bytes);
      }
      this.pumpSync(ip);
    }
    if (nowUs >= this.nextHbUs) {
      this.nextHbUs = nowUs + this.hbUs;
      // An adopted address is announced on three heartbeats (one gratuitous ARP may be lost).
      for (const [ip, left] of this.adopted) {
        if (left <= 0) continue;
        this.own.announce(nowUs, ip);
        this.adopted.set(ip, left - 1);
      }
      this.broadcast(encodeControl({ t: 'hb', node: this.cfg.nodeId, epoch: this.cfg.epoch, active: true }), true);
    }
    for (const [ip, p] of this.peers) {
      if (p.lastUs === undefined || nowUs - p.lastUs < this.deadUs) continue;
      p.lastUs = undefined;
      this.syncs.delete(ip);
      this.syncedFrom.delete(ip);
      this.inc('peer-lost');
      // Its connections reach us now: stop waiting for its acknowledgements; ask their clients where they are.
      for (const id of [...this.pending.keys()]) this.acked(id, ip, 'lost');
      this.splicer.probeReplicas();
      this.cfg.onEvent?.({ tUs: nowUs, node: this.name, kind: 'peer-lost', peer: p.ip });
      // The lowest live box answers for every lost peer's address — also those a lost peer had
      // adopted itself (when an adopter is lost, its adoptions move on with it).
      if (this.cfg.adoptPeerAddresses === true && this.lowestLive()) {
        for (const q of this.peers.values()) {
          if (q.lastUs !== undefined || !q.seen || this.adopted.has(q.ip)) continue;
          this.own.addAlias(q.ip);
          this.own.announce(nowUs, q.ip);
          this.adopted.set(q.ip, 2);
          this.inc('peer-adopted');
          this.cfg.onEvent?.({ tUs: nowUs, node: this.name, kind: 'peer-adopted', peer: q.ip });
        }
      }
    }
    for (const [id, q] of this.pending) {
      if (nowUs < q.nextUs) continue;
      if (q.left <= 0) {
        this.pending.delete(id);
        this.splicer.replicated(id);
        this.inc('replication-failed');
        this.cfg.onEvent?.({ tUs: nowUs, node: this.name, kind: 'replication-failed', peer: [...q.waiting].map((w) => this.peers.get(w)?.ip).join(',') });
        continue;
      }
      q.left--;
      q.nextUs = nowUs + this.retryUs;
      for (const w of q.waiting) this.transmit(this.peers.get(w)!.ip, q.bytes);
    }
  }

  /** This box has the lowest own address of the live splicers (it adopts a lost peer's address). */
  private lowestLive(): boolean {
    for (const [ip, p] of this.peers) if (p.lastUs !== undefined && ip < this.ownIpNum) return false;
    return true;
  }

  /** Peer addresses this box answers for (next-hop takeover). */
  adoptedPeers(): string[] { return [...this.adopted.keys()]; }

  pollTransmit(): OutgoingFrame | undefined {
    return this.own.pollTransmit() ?? this.splicer.pollTransmit();
  }

  pollDeadline(): number | undefined {
    let d = this.nextHbUs;
    const o = this.own.pollDeadline();
    if (o !== undefined) d = Math.min(d, o);
    const s = this.splicer.pollDeadline();
    if (s !== undefined) d = Math.min(d, s);
    for (const q of this.pending.values()) d = Math.min(d, q.nextUs);
    for (const sy of this.syncs.values()) for (const x of sy.inFlight.values()) d = Math.min(d, x.nextUs);
    if (this.joining) d = Math.min(d, this.joinDeadlineUs ?? this.nowUs);
    for (const p of this.peers.values()) if (p.lastUs !== undefined) d = Math.min(d, p.lastUs + this.deadUs);
    return d;
  }

  /**
   * Sends to every live peer until each acknowledges `id`; true: hold what depends on it. A
   * splice's update (`splice` builds its message for a version) goes to every live peer, also
   * those that acknowledged an earlier version: when one connection's two directions reach
   * different boxes (flows hashed again after a loss), what one box learns — that capping
   * ended, the new back end — the box forwarding the other direction needs. Only the
   * acknowledgement of the latest version counts.
   */
  private replicate(id: number, msg: ControlMessage | ((v: number) => ControlMessage), hold: boolean): boolean {
    const live = [...this.peers.entries()].filter(([, p]) => p.lastUs !== undefined).map(([ip]) => ip);
    if (live.length === 0) return false;
    const v = typeof msg === 'function' ? (this.nextVersion = (this.nextVersion + 1) >>> 0) : undefined;
    const bytes = encodeControl(typeof msg === 'function' ? msg(v!) : msg);
    const q = this.pending.get(id);
    if (q !== undefined) {
      q.bytes = bytes;                                // an update rides on the retransmissions
      q.v = v;
      for (const ip of live) q.waiting.add(ip);
      q.left = this.retries;
      for (const w of q.waiting) this.transmit(this.peers.get(w)!.ip, bytes);
      return false;
    }
    if (this.pending.size >= PENDING_MAX) return false;
    this.pending.set(id, { bytes, v, waiting: new Set(live), holding: new Set(live), left: this.retries, nextUs: this.nowUs + this.retryUs });
    for (const ip of live) this.transmit(this.peers.get(ip)!.ip, bytes);
    return hold;
  }

  /** `peerIp` acknowledged version `v` of `id` ('lost': it is gone, nothing more to wait for). */
  private acked(id: number, peerIp: number, v: number | undefined | 'lost'): void {
    const q = this.pending.get(id);
    if (q === undefined) return;
    if (q.holding.delete(peerIp) && q.holding.size === 0) this.splicer.replicated(id);
    if ((v !== 'lost' && v !== q.v) || !q.waiting.delete(peerIp) || q.waiting.size > 0) return;
    this.pending.delete(id);
    this.splicer.replicated(id);
  }

  private broadcast(bytes: Uint8Array, all = false): void {
    // A peer whose address we adopted is us now: nothing to send it.
    for (const p of this.peers.values()) if ((all || p.lastUs !== undefined) && !this.adopted.has(p.ip)) this.transmit(p.ip, bytes);
  }

  private transmit(ip: string, body: Uint8Array): void {
    const key = this.cfg.key;
    const bytes = key === undefined ? body : sealControl(body, key, { sender: this.cfg.nodeId, epoch: this.cfg.epoch, seq: this.txSeq++ });
    this.own.udpSend(ip, this.port, this.port, bytes, this.nowUs);
  }

  private onControl(srcIp: string, data: Uint8Array, nowUs: number): void {
    const src = parseIpv4(srcIp);
    const peer = src === undefined ? undefined : this.peers.get(src);
    if (peer === undefined || src === undefined) { this.inc('control-not-a-peer'); return; }
    let body = data;
    if (this.cfg.key !== undefined) {
      const o = openControl(data, this.cfg.key);
      if (!o.ok) { this.inc('control-auth-failed'); return; }
      if (!this.replay.accept(o.value)) { this.inc('control-replayed'); return; }
      body = o.value.body;
    }
    const r = parseControl(body);
    if (!r.ok) { this.inc(`control-${r.error.code}`); return; }
    const m: ControlMessage = r.value;
    if (m.node === this.cfg.nodeId) return;
    // A peer that comes up, or restarted (a new epoch) before it was missed, holds nothing.
    const restarted = m.t === 'hb' && peer.epoch !== undefined && m.epoch !== peer.epoch;
    if (m.t === 'hb') peer.epoch = m.epoch;
    const cameUp = peer.lastUs === undefined || restarted;
    if (cameUp) this.cfg.onEvent?.({ tUs: nowUs, node: this.name, kind: 'peer-up', peer: peer.ip });
    peer.lastUs = nowUs;
    peer.seen = true;
    if (cameUp) this.peerCameUp(src, peer.ip, nowUs);
    const ack = (id: number, v?: number): void => this.transmit(peer.ip, encodeControl({ t: 'ack', node: this.cfg.nodeId, id, ...(v !== undefined ? { v } : {}) }));
    switch (m.t) {
      case 'hb': if (this.joining) this.checkJoined(nowUs); return;
      case 'splice': if (this.splicer.installReplica(m.s)) ack(m.s.id, m.v); return;
      case 'setup': if (this.splicer.installSetup(m.r)) ack(m.r.id); return;
      case 'ack': {
        this.acked(m.id, src, m.v);
        const sy = this.syncs.get(src);
        if (sy !== undefined && sy.inFlight.delete(m.id)) this.pumpSync(src);
        return;
      }
      case 'remove': this.splicer.removeReplica(m.clientIp, m.clientPort, m.localPort); return;
      case 'synced': this.syncedFrom.add(src); if (this.joining) this.checkJoined(nowUs); return;
      case 'alive': this.splicer.replicasAlive(m.c); return;
    }
  }

  /**
   * A peer came up with empty tables: it gets every splice held here (any of them may be a
   * flow that now reaches it), and if this box answered for its address, the address goes
   * back — its own announcement has already moved the clients' and back ends' neighbour
   * entries, and two boxes must not answer ARP for one address.
   */
  private peerCameUp(ip: number, ipText: string, nowUs: number): void {
    this.syncedFrom.delete(ip);
    this.release(ipText, nowUs);
    this.syncs.set(ip, { queue: this.splicer.splices(), inFlight: new Map() });
    this.pumpSync(ip);
  }

  private release(ipText: string, nowUs: number): void {
    if (!this.adopted.delete(ipText)) return;
    this.own.removeAlias(ipText);
    this.inc('peer-released');
    this.cfg.onEvent?.({ tUs: nowUs, node: this.name, kind: 'peer-released', peer: ipText });
  }

  /**
   * A restarted peer announces its own address (gratuitous ARP) before anything else. While
   * this box answers for that address it cannot hear the peer at all (a datagram from one of
   * our own addresses is dropped as a martian), so the announcement itself gives it back.
   */
  private watchOwnerReturn(f: Uint8Array, nowUs: number): void {
    if (f.length < 42 || f[12] !== 0x08 || f[13] !== 0x06) return;
    const sender = f.subarray(22, 28);
    if (macEquals(sender, this.ownMac)) return;
    const ip = `${f[28]}.${f[29]}.${f[30]}.${f[31]}`;
    if (this.adopted.has(ip)) this.release(ip, nowUs);
  }

  /** Sends a joining peer more splices while fewer than SYNC_IN_FLIGHT await its acknowledgement; 'synced' after the last. */
  private pumpSync(ip: number): void {
    const sy = this.syncs.get(ip);
    const peer = this.peers.get(ip);
    if (sy === undefined || peer === undefined) return;
    while (sy.inFlight.size < SYNC_IN_FLIGHT && sy.queue.length > 0) {
      const sp = sy.queue.shift()!;
      if (!this.splicer.isCurrent(sp) || sy.inFlight.has(sp.id)) continue;        // removed (or replaced) meanwhile
      const bytes = encodeControl({ t: 'splice', node: this.cfg.nodeId, s: sp });
      sy.inFlight.set(sp.id, { bytes, left: this.retries, nextUs: this.nowUs + this.retryUs });
      this.transmit(peer.ip, bytes);
      this.inc('sync-splice-sent');
    }
    if (sy.queue.length === 0 && sy.inFlight.size === 0) {
      this.syncs.delete(ip);
      this.transmit(peer.ip, encodeControl({ t: 'synced', node: this.cfg.nodeId }));
    }
  }

  /** Joined once every live peer has sent what it holds. */
  private checkJoined(nowUs: number): void {
    for (const [ip, p] of this.peers) if (p.lastUs !== undefined && !this.syncedFrom.has(ip)) return;
    if (this.syncedFrom.size === 0) return;
    this.endJoin('synced', nowUs);
  }

  private endJoin(why: 'synced' | 'timeout', nowUs: number): void {
    if (!this.joining) return;
    this.joining = false;
    this.splicer.quietUnknown = false;
    this.inc(`joined-${why}`);
    this.cfg.onEvent?.({ tUs: nowUs, node: this.name, kind: 'joined', peer: why });
  }
}
