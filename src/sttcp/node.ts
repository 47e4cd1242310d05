// One ST-TCP box, primary or backup (DESIGN §ST-TCP). It holds two hosts on one
// interface: its own address (the control channel to its peer) and the service address
// (IP + MAC) clients connect to. The primary serves and announces connections; the
// backup taps the client's frames, shadows every connection with a replica application,
// and takes the service over when the primary fails and its lease has lapsed.
// Sans-IO: a FrameEndpoint driven by the simulator or a TAP driver.
import type { FrameEndpoint, OutgoingFrame } from '../stack/endpoint.js';
import type { StreamApp, StreamConnection, StreamService } from '../stack/app.js';
import { Host } from '../stack/host.js';
import type { HostStreamConnection } from '../stack/tcp-demux.js';
import type { Rng } from '../util/rng.js';
import { BROADCAST_MAC, formatIpv4, macEquals, parseIpv4, parseMac } from '../wire/addr.js';
import { emitEthernetHeader, ETHERNET_HEADER_LEN, ETHERTYPE, parseEthernetFrame } from '../wire/ethernet.js';
import { ARP_PACKET_LEN, emitArpPacket } from '../wire/arp.js';
import { IP_PROTOCOL, parseIpv4Packet } from '../wire/ipv4.js';
import { parseTcpSegment, TCP_FIELD_OFFSET, type TcpRepr } from '../wire/tcp.js';
import { checksumUpdate32 } from '../wire/checksum.js';
import { TcpConnection, type TcpConfig } from '../tcp/connection.js';
import { tupleKey, type FourTuple } from '../tcp/four-tuple.js';
import { normalizeConfig } from '../tcp/config.js';
import { seqAdd, seqDiff, seqGt, seqMax } from '../tcp/seq.js';
import {
  emitControl, parseControl, ReplayWindow, CONTROL_MAX_PAYLOAD,
  type ControlMessage, type NodeRole,
} from './control.js';
import { Lease, PeerMonitor, takeoverNotBefore, defaultLiveness, type LivenessConfig } from './liveness.js';
import { RetentionBuffer } from './retention.js';
import { ShadowConnection, tupleText, type ShadowFault } from './shadow.js';
import type { AppRestore } from './app-state.js';
import { decodeRecords, SnapshotReceiver } from './snapshot-transfer.js';
import { JoinTransfer, type JoinContext, type RetentionEntry } from './join.js';
import { tcpConnectionFactory } from '../stack/tcp-engine.js';

export type DurabilityMode = 'sync' | 'async';

export interface StTcpNodeConfig {
  role: 'primary' | 'backup';
  name: string;
  /** Stable id of this box on the control channel. */
  nodeId: number;
  /** Incarnation; a restarted box uses a higher one (replay protection resets with it). */
  epoch: number;
  ownMac: string;
  ownIp: string;
  prefixLen: number;
  peerIp: string;
  controlPort?: number;
  /**
   * The interface of a dedicated control link to the peer (DESIGN §ST-TCP: the control
   * channel apart from the service LAN, so heartbeats never queue behind tapped traffic).
   * The box's own address lives there. Default: the service interface (0), shared.
   */
  controlIfIndex?: number;
  serviceMac: string;
  serviceIp: string;
  /** Listening ports and the (deterministic) application on each. */
  services: ReadonlyArray<{ port: number; service: StreamService; restore?: AppRestore }>;
  /** Shared HMAC key of the control channel. */
  key: Uint8Array;
  mode?: DurabilityMode;
  liveness?: Partial<LivenessConfig>;
  tcp?: Partial<TcpConfig>;
  rng: Rng;
  /** Async mode: acknowledge to the primary after this many new bytes … */
  ackEveryBytes?: number;
  /** … or this long after the first unacknowledged byte. */
  ackIntervalUs?: number;
  /** Per-connection retention on the primary; reading pauses when it is full. */
  retentionBytesMax?: number;
  /** Shadows the backup keeps at most. */
  maxShadows?: number;
  /**
   * Makes the peer's death certain before this box acts on it (power off, kill, link
   * down). Returns true when the peer is fenced. Without it, a primary that loses its
   * backup stops serving rather than risk two hosts using the service address.
   */
  fence?: () => boolean;
  /**
   * Set when the services' state cannot be moved to a joining backup (the relay app: an
   * unmodified server's state is its own): the reason. A backup asking to join is then
   * refused and reported (counter joins-refused, event backup.join-abandoned) and this
   * box keeps serving alone, degraded, instead of claiming a protection it lacks.
   */
  joinRefusal?: string;
  onEvent?: (e: StTcpEvent) => void;
}

export type StTcpEventKind =
  | 'backup.synced' | 'connection.shadowed' | 'connection.closed' | 'range.requested'
  | 'failover.detected' | 'fence.done' | 'takeover.complete' | 'takeover.fault'
  | 'lease.lapsed' | 'lease.restored' | 'backup.lost' | 'stepped.down'
  | 'backup.joining' | 'backup.join-abandoned' | 'snapshot.applied' | 'protection.changed'
  | 'output.diverged';

/**
 * What an operator needs to know: `protected` (a backup holds every connection and the
 * pair survives a crash), `degraded` (serving alone: a crash now loses the connections),
 * `standby` (this box is the backup), `down` (stepped down, not serving).
 */
export type Protection = 'protected' | 'degraded' | 'standby' | 'down';

export interface StTcpEvent { tUs: number; node: string; kind: StTcpEventKind; text: string }

/** After a takeover a box is 'primary' (serving alone until a backup joins: see protection()). */
export type NodeState = 'primary' | 'backup' | 'takeover-pending' | 'stepped-down';

const CONTROL_PORT = 7700;
const SEEN_HEARTBEATS = 64;
const NEIGHBORS_MAX = 4096;
/** Heartbeats an apparently isolated backup waits before fencing, so a healthy primary fences it first. */
const ISOLATED_DEFER_HEARTBEATS = 3;
/** Clients a backup asks (ARP) to show its LAN works before taking over after a quiet spell. */
const WITNESS_PROBES = 4;
/** How long after takeover stray segments of a closed, taken-over connection are dropped silently. */
const STRAY_GRACE_US = 10_000_000;
/** Tapped segments a joining backup holds for connections whose records have not arrived (the newest are kept). */
const UNTAPPED_MAX = 4096;
/** Gaps of one connection the backup asks for in one round. */
const RANGES_PER_REQUEST_ROUND = 8;
/** Bytes of retention the primary sends in answer to one range request. */
const RANGE_REPLY_MAX = 64 * CONTROL_MAX_PAYLOAD;
/** Bytes a backup has asked for and not yet received, per connection. */
const RANGE_ASK_WINDOW = 4 * RANGE_REPLY_MAX;
/** Async mode: the backup's default acknowledgement delay. */
const ASYNC_ACK_INTERVAL_US = 1_000;
/** The shortest wait before the primary resends retained bytes the backup has not acknowledged. */
const PUSH_DELAY_MIN_US = 1_000;
/** Bytes the primary pushes unasked in one round, over all connections. */
const PUSH_ROUND_BYTES_MAX = 4 * RANGE_ASK_WINDOW;

export class StTcpNode implements FrameEndpoint {
  readonly name: string;
  readonly own: Host;
  readonly service: Host<TcpConnection>;
  private readonly cfg: StTcpNodeConfig;
  private readonly tcpCfg: TcpConfig;
  private readonly live: LivenessConfig;
  private readonly mode: DurabilityMode;
  private readonly controlPort: number;
  private readonly controlIf: number;
  private readonly serviceMac: Uint8Array;
  private readonly ownMac: Uint8Array;
  private readonly serviceIp: number;
  private state: NodeState;
  private nowUs = 0;
  private seq = 0n;
  private readonly replay = new ReplayWindow();
  private readonly monitor: PeerMonitor;
  private readonly lease: Lease;
  private nextHeartbeatUs = 0;
  /** Send times of our recent heartbeats, by envelope seq (for lease renewal from echoes). */
  private readonly sentHeartbeats = new Map<bigint, number>();
  private lastPeerHeartbeatSeq = 0n;
  private lastHeartbeatSentUs = 0;
  private peerRole: NodeRole | undefined;
  private readonly counters = new Map<string, number>();
  private serving: boolean;
  private leaseWasHeld = false;
  private fenceRetryUs = 0;
  /** Smoothed round trip of heartbeat and echo (the primary's measure of the control channel). */
  private controlRttUs: number | undefined;
  /** When pushRetention next has work (undefined: nothing retained is waiting). */
  private nextPushUs: number | undefined;

  // primary
  private readonly retention = new Map<string, RetentionEntry>();
  private readonly backupAck = new Map<string, number>();
  /** A backup joining while we serve alone (DESIGN §ST-TCP 8). */
  private join: JoinTransfer | undefined;
  private transferSeq = 0;
  /** The joining backup's epoch last refused (cfg.joinRefusal), so it is reported once. */
  private refusedJoinEpoch: number | undefined;
  /** When we sent the heartbeat the backup's newest heartbeat echoed (lease renewal at resync). */
  private lastEchoSentUs: number | undefined;
  private protectionNow: Protection | undefined;
  private readonly receiver = new SnapshotReceiver();
  private unsyncedFailureReported = false;
  /** This (joining) backup holds the serving box's records of its connections. */
  private snapshotApplied = false;
  /**
   * While the records are on their way, tapped segments of connections we do not shadow
   * yet (both directions), replayed once the records have made shadows of them.
   */
  private readonly untapped: Array<{ ip: Uint8Array; srcMac: Uint8Array }> = [];
  private replaying = false;

  // backup
  private readonly shadows = new Map<string, ShadowConnection>();
  private readonly ackedToPrimary = new Map<string, number>();
  private ackDueUs: number | undefined;
  /** Per shadow: the end of what has been asked of the primary, and when asking began (re-asked a heartbeat later). */
  private readonly rangeAsked = new Map<string, { upTo: number; atUs: number }>();
  private detectedUs: number | undefined;
  private nextExpiryUs = 0;
  /** Last time any frame arrived on the port (the backup's witness that its LAN works). */
  private lastFrameUs = 0;
  /** Connections taken over, with the time until which stray segments for them are dropped once closed. */
  private readonly takenOver = new Map<string, number>();
  /** Clients' MAC addresses seen on the tap (IPv4 → MAC). */
  private readonly neighbors = new Map<number, Uint8Array>();
  /** Handshakes whose ISN was unknown at takeover: completed by the client's first ACK. */
  private readonly pendingIss = new Map<string, ShadowConnection>();
  takeoverUs: number | undefined;
  /** ARP requests from the box's own address to clients seen on the tap (a LAN witness, see takeoverAt). */
  private readonly witnessProbes: Uint8Array[] = [];

  constructor(cfg: StTcpNodeConfig) {
    this.cfg = cfg;
    this.name = cfg.name;
    this.tcpCfg = normalizeConfig(cfg.tcp);
    this.live = { ...defaultLiveness, ...(cfg.liveness ?? {}) };
    this.mode = cfg.mode ?? 'sync';
    this.controlPort = cfg.controlPort ?? CONTROL_PORT;
    this.controlIf = cfg.controlIfIndex ?? 0;
    this.serviceMac = mustMac(cfg.serviceMac);
    this.ownMac = mustMac(cfg.ownMac);
    this.serviceIp = parseIpv4(cfg.serviceIp)!;
    this.monitor = new PeerMonitor(this.live);
    this.lease = new Lease(this.live);
    // The control channel resolves its peer at heartbeat pace: a lost ARP exchange must not
    // hold the pair apart for the default second.
    this.own = new Host({
      name: `${cfg.name}-own`, mac: cfg.ownMac, ip: cfg.ownIp, prefixLen: cfg.prefixLen, rng: cfg.rng,
      arp: { retryUs: this.live.heartbeatUs, maxRetries: 100 },
    });
    this.service = new Host<TcpConnection>({
      name: `${cfg.name}-service`, mac: cfg.serviceMac, ip: cfg.serviceIp, prefixLen: cfg.prefixLen, rng: cfg.rng,
      tcpFactory: tcpConnectionFactory(this.tcpCfg),
    });
    this.own.udpBind(this.controlPort, (src, _port, data, nowUs) => this.onControl(src, data, nowUs));
    this.state = cfg.role;
    this.serving = cfg.role === 'primary';
    if (cfg.role === 'primary') {
      this.listenAll();
    }
  }

  private listenAll(): void {
    for (const s of this.cfg.services) {
      this.service.listen(s.port, (conn) => {
        const irs = this.engineFor(conn.tuple)?.info().irs ?? 0;
        return this.wrapPrimary(conn, () => s.service(conn), seqAdd(irs, 1), false);
      });
    }
  }

  // ---- observation --------------------------------------------------------

  role(): NodeState { return this.state; }
  /** Degraded (serving alone) or protected (a backup in sync); standby on the backup. */
  protection(): Protection {
    if (this.state === 'stepped-down') return 'down';
    if (this.state !== 'primary') return 'standby';
    return !this.lease.isSolo() && this.peerRole === 'backup' ? 'protected' : 'degraded';
  }
  /** A joining backup's progress: chunks acknowledged of the transfer, or undefined when none runs. */
  joinProgress(): { chunksAcked: number; chunks: number; connections: number; catchingUp: boolean } | undefined {
    return this.join?.progress();
  }
  isServing(nowUs: number = this.nowUs): boolean { return this.serving && this.leaseHolds(nowUs); }
  shadowCount(): number { return this.shadows.size; }
  /** Bytes the primary's applications read that the backup has not acknowledged yet (retention fill), over all connections. */
  replicationLagBytes(): number {
    let n = 0;
    for (const e of this.retention.values()) n += e.buf.length();
    return n;
  }
  /** When the peer's last valid heartbeat arrived (this box's clock), if one ever did. */
  peerLastHeardUs(): number | undefined { return this.monitor.lastHeard(); }
  stats(): Record<string, number> {
    const out: Record<string, number> = Object.fromEntries(this.counters);
    for (const [k, v] of Object.entries(this.service.counters())) if (v) out[`service.${k}`] = v;
    return out;
  }

  // ---- FrameEndpoint ------------------------------------------------------

  handleFrame(ifIndex: number, frame: Uint8Array, nowUs: number): void {
    this.nowUs = nowUs;
    if (ifIndex !== 0) {
      // The dedicated control link: only the box's own address is there.
      if (ifIndex === this.controlIf) this.own.handleFrame(0, frame, nowUs);
      else this.count('drop-frame-interface');
      this.tick(nowUs);
      return;
    }
    this.lastFrameUs = nowUs;
    const eth = parseEthernetFrame(frame);
    if (!eth.ok) { this.count('drop-frame'); return; }
    const dst = eth.value.dst;
    const broadcast = macEquals(dst, BROADCAST_MAC);
    if (this.controlIf === 0 && (broadcast || macEquals(dst, this.ownMac))) this.own.handleFrame(ifIndex, frame, nowUs);
    const forService = broadcast || macEquals(dst, this.serviceMac);
    if (this.serving) {
      if (forService) {
        if (!broadcast && (this.pendingIss.size > 0 || this.takenOver.size > 0) && !this.beforeService(eth.value.payload, nowUs)) {
          this.count('drop-stray-after-takeover');
        } else {
          this.service.handleFrame(ifIndex, frame, nowUs);
        }
      }
    } else if (this.state === 'backup' || this.state === 'takeover-pending') {
      if (!broadcast && eth.value.ethertype === ETHERTYPE.ipv4
        && (macEquals(dst, this.serviceMac) || macEquals(eth.value.src, this.serviceMac))) {
        this.tap(eth.value.payload, eth.value.src, nowUs);
      }
    }
    this.tick(nowUs);
  }

  handleTimeout(nowUs: number): void {
    this.nowUs = nowUs;
    this.own.handleTimeout(nowUs);
    if (this.serving) this.service.handleTimeout(nowUs);
    this.tick(nowUs);
  }

  pollTransmit(): OutgoingFrame | undefined {
    const w = this.witnessProbes.shift();
    if (w !== undefined) return { ifIndex: 0, frame: w };
    const o = this.own.pollTransmit();
    if (o !== undefined) return { ifIndex: this.controlIf, frame: o.frame };
    if (!this.serving) return undefined;
    for (;;) {
      const f = this.service.pollTransmit();
      if (f === undefined) return undefined;
      if (this.state === 'primary') this.watchOutgoing(f.frame);
      // DESIGN §ST-TCP 6: without a lease the primary does not use the service address.
      if (this.leaseHolds(this.nowUs)) return f;
      this.count('tx-suppressed-no-lease');
    }
  }

  pollDeadline(): number | undefined {
    // Node deadlines already past were acted on in tick(); only future ones wake us.
    const future = (t: number | undefined): number | undefined => (t !== undefined && t > this.nowUs ? t : undefined);
    let d = minDefined(this.own.pollDeadline(), this.serving ? this.service.pollDeadline() : undefined);
    // The first heartbeat is due at once (it starts the pair); later ones are always in the future.
    if (this.state !== 'backup' && this.state !== 'stepped-down') d = minDefined(d, this.nextHeartbeatUs >= this.nowUs ? this.nextHeartbeatUs : undefined);
    if (this.state === 'backup') d = minDefined(d, future(this.monitor.failureDeadline()));
    if (this.state === 'takeover-pending') d = minDefined(d, future(this.takeoverAt()));
    if (this.state === 'primary' && !this.lease.isSolo()) {
      d = minDefined(d, future(this.lease.expiry()));
      d = minDefined(d, future(this.monitor.failureDeadline()));
      d = minDefined(d, future(this.fenceRetryUs));
    }
    if (this.state === 'primary' && this.replicating()) d = minDefined(d, future(this.nextPushUs));
    d = minDefined(d, future(this.ackDueUs));
    if (this.join) d = minDefined(d, future(this.join.deadline()));
    return d;
  }

  // ---- periodic work ------------------------------------------------------

  private tick(nowUs: number): void {
    if (this.state === 'stepped-down') { this.updateProtection(); return; }
    if (this.state === 'primary') this.primaryTick(nowUs);
    if (this.state === 'backup') this.backupTick(nowUs);
    if (this.state === 'takeover-pending' && nowUs >= this.takeoverAt()) {
      if (this.cfg.fence) {
        const fenced = this.cfg.fence();
        this.emit('fence.done', fenced ? 'primary fenced' : 'fencing the primary failed; taking over on the lease alone');
      }
      this.takeOver(nowUs);
    }
    // The backup heartbeats only in answer to the primary's (onHeartbeat), so each
    // renewal of the primary's lease follows its heartbeat by one round trip.
    if (this.state !== 'backup' && this.state !== 'takeover-pending' && nowUs >= this.nextHeartbeatUs) this.sendHeartbeat(nowUs);
    this.updateProtection();
  }

  private updateProtection(): void {
    const p = this.protection();
    if (p === this.protectionNow) return;
    const first = this.protectionNow === undefined;
    this.protectionNow = p;
    if (!first || p === 'degraded') this.emit('protection.changed', p);
  }

  /**
   * When the backup may fence and take over: after the primary's lease has lapsed; and if
   * the backup has heard nothing at all on its port meanwhile (no client frames on the tap
   * either), it is probably the isolated one, so it gives the primary a few heartbeats to
   * fence it first rather than take the service address where no client can reach it.
   */
  private takeoverAt(): number {
    const leaseBound = takeoverNotBefore(this.live, this.lastHeartbeatSentUs);
    const detected = this.detectedUs ?? leaseBound;
    const isolated = detected - this.lastFrameUs > this.live.heartbeatUs;
    return isolated ? Math.max(leaseBound, detected + ISOLATED_DEFER_HEARTBEATS * this.live.heartbeatUs) : leaseBound;
  }

  /**
   * The LAN has been quiet (clients that only receive send nothing once the primary stops):
   * ask a few clients seen on the tap for their MAC from this box's own address. Any
   * answer shows the service LAN works here, so the takeover need not wait for the
   * primary to fence an isolated backup (takeoverAt).
   */
  private probeWitnesses(): void {
    const ownIp = parseIpv4(this.cfg.ownIp)!;
    for (const ip of this.neighbors.keys()) {
      if (this.witnessProbes.length >= WITNESS_PROBES) break;
      const frame = new Uint8Array(ETHERNET_HEADER_LEN + ARP_PACKET_LEN);
      emitEthernetHeader(BROADCAST_MAC, this.ownMac, ETHERTYPE.arp, frame);
      emitArpPacket({ operation: 'request', senderMac: this.ownMac, senderIp: ownIp, targetMac: new Uint8Array(6), targetIp: ip }, frame, ETHERNET_HEADER_LEN);
      this.witnessProbes.push(frame);
      this.count('witness-probes');
    }
  }

  private sendHeartbeat(nowUs: number): void {
    this.nextHeartbeatUs = nowUs + this.live.heartbeatUs;
    const seq = this.send({
      type: 'heartbeat',
      role: this.state === 'backup' ? 'backup' : this.lease.isSolo() ? 'solo' : 'primary',
      connections: this.state === 'backup' ? this.shadows.size : this.service.tcpConnections().length,
      echo: this.lastPeerHeartbeatSeq,
    }, nowUs);
    this.lastHeartbeatSentUs = nowUs;
    this.sentHeartbeats.set(seq, nowUs);
    if (this.sentHeartbeats.size > SEEN_HEARTBEATS) this.sentHeartbeats.delete(this.sentHeartbeats.keys().next().value!);
  }

  private leaseHolds(nowUs: number): boolean {
    if (this.state !== 'primary') return this.serving;
    return this.lease.holds(nowUs);
  }

  // ---- primary --------------------------------------------------------------

  private primaryTick(nowUs: number): void {
    const holds = this.lease.holds(nowUs);
    if (!holds && this.leaseWasHeld) this.emit('lease.lapsed', 'lease lapsed: not using the service address');
    if (holds && !this.leaseWasHeld) this.emit('lease.restored', 'lease renewed: serving again');
    this.leaseWasHeld = holds;
    if (!this.lease.isSolo() && this.monitor.status(nowUs) === 'failed' && nowUs >= this.fenceRetryUs) {
      // DESIGN §ST-TCP 6: continue alone only once the backup is certainly dead.
      if (this.cfg.fence?.()) {
        this.lease.goSolo();
        this.monitor.latchFailed();
        this.restartRetention(nowUs);
        for (const e of this.service.tcpConnections()) { e.connection.setAckLimit(undefined); this.service.pokeTcp(e.tuple, nowUs); }
        this.emit('backup.lost', 'backup failed and fenced: serving alone (degraded, no ACK gating)');
      } else {
        this.fenceRetryUs = nowUs + this.live.heartbeatUs * this.live.missLimit;
      }
    }
    if (this.join) this.joinTick(nowUs);
    this.pushRetention(nowUs);
  }

  /**
   * Wraps the application on the primary: everything it reads is retained for the backup
   * (while one is replicating), and what it has read is tracked for snapshots.
   */
  private wrapPrimary(conn: HostStreamConnection, makeApp: () => StreamApp, readSeq: number, ended: boolean, skipOut?: () => number): StreamApp {
    const key = tupleKey(conn.tuple);
    const entry: RetentionEntry = {
      buf: new RetentionBuffer(readSeq, this.retentionMax()), conn, paused: false, lastAckUs: this.nowUs, readSeq, ended, app: undefined,
      skipOut: skipOut ?? (() => 0),
    };
    this.retention.set(key, entry);
    const app = makeApp();
    entry.app = app;
    return {
      onOpen: () => app.onOpen?.(),
      onData: (d) => {
        entry.readSeq = seqAdd(entry.readSeq, d.length);
        if (this.replicating()) {
          // The backup's acknowledgement is due from now, not from its last one.
          if (entry.buf.length() === 0) {
            entry.lastAckUs = this.nowUs;
            this.nextPushUs = Math.min(this.nextPushUs ?? Infinity, this.nowUs + this.pushDelayUs());
          }
          entry.buf.append(d);
          if (entry.buf.isFull() && !entry.paused) { entry.paused = true; conn.pauseReading(); this.count('retention-full'); }
        }
        app.onData(d);
      },
      onEnd: () => { entry.ended = true; app.onEnd(); },
      onWritable: () => app.onWritable?.(),
      onClose: (r) => {
        this.retention.delete(key);
        this.backupAck.delete(key);
        if (this.replicating()) this.send({ type: 'connClose', tuple: conn.tuple, reason: r }, this.nowUs);
        app.onClose?.(r);
      },
    };
  }

  private retentionMax(): number { return this.cfg.retentionBytesMax ?? 4 << 20; }

  /** A backup holds our connections, or is being given them. */
  private replicating(): boolean { return !this.lease.isSolo() || this.join !== undefined; }

  /** Retention starts afresh at what each application has read (backup lost, or a new one joining). */
  private restartRetention(nowUs: number): void {
    for (const r of this.retention.values()) {
      r.buf = new RetentionBuffer(r.readSeq, this.retentionMax());
      r.lastAckUs = nowUs;
      if (r.paused) { r.paused = false; r.conn.resumeReading(); }
    }
    this.backupAck.clear();
  }

  private engineFor(tuple: FourTuple): TcpConnection | undefined {
    const key = tupleKey(tuple);
    return this.service.tcpConnections().find((e) => tupleKey(e.tuple) === key)?.connection;
  }

  /** Outgoing SYN-ACKs announce a connection to the backup, with the ISN it must use. */
  private watchOutgoing(frame: Uint8Array): void {
    if (frame.length < 14 + 20 + 20 || frame[12] !== 0x08 || frame[13] !== 0x00 || frame[14 + 9] !== IP_PROTOCOL.tcp) return;
    const ihl = (frame[14]! & 0x0f) * 4;
    const flags = frame[14 + ihl + 13]!;
    if ((flags & 0x12) !== 0x12) return; // SYN+ACK
    const ip = parseIpv4Packet(frame.subarray(14));
    if (!ip.ok) return;
    const seg = parseTcpSegment(ip.value.payload, ip.value.src, ip.value.dst, false);
    if (!seg.ok) return;
    const tuple: FourTuple = { localIp: ip.value.src, localPort: seg.value.srcPort, remoteIp: ip.value.dst, remotePort: seg.value.dstPort };
    const engine = this.engineFor(tuple);
    if (engine === undefined || !this.replicating()) return;
    const info = engine.info();
    if (this.mode === 'sync' && !this.lease.isSolo()) engine.setAckLimit(this.backupAck.get(tupleKey(tuple)) ?? seqAdd(info.irs, 1));
    this.send({
      type: 'connOpen', tuple, iss: info.iss, irs: info.irs, mss: info.sndMss,
      sndWscale: info.wsOn ? info.sndWndShift : -1,
      rcvWscale: info.wsOn ? info.rcvWndShift : -1, sack: info.sackOn, timestamps: info.tsOn,
    }, this.nowUs);
  }

  private onRecvAck(acks: Array<{ tuple: FourTuple; rcvNxt: number }>, nowUs: number): void {
    for (const a of acks) {
      const key = tupleKey(a.tuple);
      const prev = this.backupAck.get(key);
      if (prev !== undefined && !seqGt(a.rcvNxt, prev)) continue;
      this.backupAck.set(key, a.rcvNxt);
      const r = this.retention.get(key);
      if (r) {
        r.buf.ackTo(a.rcvNxt);
        r.lastAckUs = nowUs;
        r.pushes = 0;
        if (r.paused && !r.buf.isFull()) { r.paused = false; r.conn.resumeReading(); }
      }
      if (this.mode === 'sync' && !this.lease.isSolo()) {
        this.engineFor(a.tuple)?.setAckLimit(a.rcvNxt);
        this.service.pokeTcp(a.tuple, nowUs);
      }
    }
  }

  private onRangeRequest(tuple: FourTuple, seq: number, length: number, nowUs: number): void {
    const r = this.retention.get(tupleKey(tuple));
    if (!r) { this.count('range-unknown-connection'); return; }
    const end = this.sendRange(tuple, r.buf, seq, Math.min(length, RANGE_REPLY_MAX), nowUs);
    // The client's FIN the application read follows the last retained byte.
    if (r.ended && end === r.readSeq && seqGt(seqAdd(seq, length), end)) {
      this.send({ type: 'rangeData', tuple, seq: end, data: new Uint8Array(0), fin: true }, nowUs);
    }
  }

  /** Sends retained bytes from `seq` on; returns where they end. */
  private sendRange(tuple: FourTuple, buf: RetentionBuffer, seq: number, length: number, nowUs: number): number {
    let at = seq;
    for (let sent = 0; sent < length;) {
      const data = buf.slice(at, Math.min(CONTROL_MAX_PAYLOAD, length - sent));
      if (data.length === 0) break;
      this.send({ type: 'rangeData', tuple, seq: at, data }, nowUs);
      this.count('range-bytes-sent', data.length);
      sent += data.length;
      at = seqAdd(at, data.length);
    }
    return at;
  }

  /**
   * Resends retained bytes the backup has not acknowledged for a while: a tail the tap
   * missed, which the backup cannot see is missing (in sync mode the client is not ACKed
   * for it and waits; with a one-way tap the backup never learns of it). "A while" is a
   * few control-channel round trips plus, in async mode, the backup's acknowledgement
   * delay: long enough that bytes the tap did deliver are normally acknowledged first.
   */
  private pushRetention(nowUs: number): void {
    if (!this.replicating()) return;
    // A joining backup has no shadows for these bytes until its snapshot is complete.
    if (this.join !== undefined && !this.join.progress().catchingUp) return;
    if (this.nextPushUs !== undefined && nowUs < this.nextPushUs) return;
    const baseWaitUs = this.pushDelayUs();
    let budget = PUSH_ROUND_BYTES_MAX;
    let next: number | undefined;
    for (const r of this.retention.values()) {
      // The client's FIN the application read, if the backup has not acknowledged it.
      const acked = this.backupAck.get(tupleKey(r.conn.tuple));
      const finDue = r.ended && (acked === undefined || !seqGt(acked, r.readSeq));
      if (r.buf.length() === 0 && !finDue) continue;
      // Repeated pushes that draw no acknowledgement back off, up to two heartbeats apart.
      const waitUs = Math.min(2 * this.live.heartbeatUs, baseWaitUs * 2 ** Math.min(r.pushes ?? 0, 16));
      if (nowUs - r.lastAckUs < waitUs || budget <= 0) {
        next = Math.min(next ?? Infinity, Math.max(r.lastAckUs + waitUs, nowUs + 1));
        continue;
      }
      r.lastAckUs = nowUs;
      r.pushes = (r.pushes ?? 0) + 1;
      next = Math.min(next ?? Infinity, nowUs + Math.min(2 * this.live.heartbeatUs, 2 * waitUs));
      this.count('retention-pushes');
      const length = Math.min(RANGE_REPLY_MAX, budget);
      budget -= length;
      const end = this.sendRange(r.conn.tuple, r.buf, r.buf.startSeq(), length, nowUs);
      if (finDue && end === r.readSeq) {
        this.send({ type: 'rangeData', tuple: r.conn.tuple, seq: r.readSeq, data: new Uint8Array(0), fin: true }, nowUs);
      }
    }
    this.nextPushUs = next;
  }

  private pushDelayUs(): number {
    const rtt = this.controlRttUs ?? this.live.heartbeatUs / 4;
    const ackDelay = this.mode === 'async' ? (this.cfg.ackIntervalUs ?? ASYNC_ACK_INTERVAL_US) : 0;
    return Math.min(2 * this.live.heartbeatUs, Math.max(PUSH_DELAY_MIN_US, 4 * rtt) + ackDelay);
  }

  // ---- a backup joining (DESIGN §ST-TCP 8) ------------------------------------

  /** A backup's heartbeat while we serve alone: it is (re)joining. */
  private joinHeard(epoch: number, nowUs: number): void {
    if (this.cfg.joinRefusal !== undefined) {
      if (this.refusedJoinEpoch === epoch) return;
      this.refusedJoinEpoch = epoch;
      this.count('joins-refused');
      this.emit('backup.join-abandoned', `backup (epoch ${epoch}) cannot join: ${this.cfg.joinRefusal}`);
      return;
    }
    if (this.join !== undefined) {
      if (epoch === this.join.epoch) { this.join.heard(nowUs); return; }
      if (epoch < this.join.epoch) return;
    }
    this.startJoin(epoch, nowUs);
  }

  /** Snapshots every live connection and its application, and starts sending them. */
  private startJoin(epoch: number, nowUs: number): void {
    this.restartRetention(nowUs);
    const ctx: JoinContext = {
      tcpConnections: () => this.service.tcpConnections(),
      retention: this.retention, backupAck: this.backupAck,
      restorable: (port) => this.cfg.services.some((x) => x.port === port && x.restore !== undefined),
      send: (m, t) => { this.send(m, t); },
      count: (name, n) => this.count(name, n),
      heartbeatUs: this.live.heartbeatUs, missLimit: this.live.missLimit,
    };
    try {
      this.join = JoinTransfer.start(ctx, epoch, ++this.transferSeq, nowUs);
    } catch (err) {
      this.count('snapshot-unencodable');
      this.emit('backup.join-abandoned', `snapshot cannot be sent: ${(err as Error).message}`);
      return;
    }
    this.count('snapshot-transfers');
    this.emit('backup.joining', `backup (epoch ${epoch}) joining: ${this.join.connections} connection(s) in ${this.join.chunks} snapshot chunk(s)`);
  }

  private joinTick(nowUs: number): void {
    const r = this.join?.tick(nowUs);
    if (r === 'abandoned') {
      this.join = undefined;
      this.restartRetention(nowUs);
      this.emit('backup.join-abandoned', 'joining backup went silent: transfer abandoned, still serving alone');
    } else if (r === 'synced') {
      this.joined(nowUs);
    }
  }

  /** The backup holds everything: it is required again (lease, sync ACK gating). */
  private joined(nowUs: number): void {
    const j = this.join!;
    this.join = undefined;
    this.lease.requireBackup(this.lastEchoSentUs ?? nowUs);
    this.monitor.heard(nowUs);
    this.fenceRetryUs = 0;
    this.leaseWasHeld = this.lease.holds(nowUs);
    if (this.mode === 'sync') {
      for (const e of this.service.tcpConnections()) {
        if (e.connection.state === 'LISTEN' || e.connection.state === 'CLOSED') continue;
        const acked = this.backupAck.get(tupleKey(e.tuple)) ?? seqAdd(e.connection.info().irs, 1);
        // Never below an ACK already sent: the client was told those bytes are safe
        // before this backup existed, and the tap or retention gives them to it.
        e.connection.setAckLimit(seqMax(acked, e.connection.snapshot().vars.lastAckSent));
        this.service.pokeTcp(e.tuple, nowUs);
      }
    }
    this.emit('backup.synced', `backup (epoch ${j.epoch}) in sync: ${j.connections} connection(s) transferred, ${j.retransmits} retransmission round(s)`);
    this.updateProtection();
  }

  // ---- backup -----------------------------------------------------------------

  private backupTick(nowUs: number): void {
    if (this.monitor.status(nowUs) === 'failed' && this.peerRole !== 'primary' && !(this.cfg.fence && this.snapshotApplied)) {
      // The primary serves alone and has not required us yet (we are not in sync): taking
      // over could neither continue its connections nor be sure it has stopped. With
      // fencing and the records in hand we do take over (below): the connections whose
      // acknowledged input we lack are reset and reported, the rest continue.
      if (!this.unsyncedFailureReported) {
        this.unsyncedFailureReported = true;
        this.emit('takeover.fault', 'peer silent before this backup was in sync: not taking over');
      }
    } else if (this.monitor.status(nowUs) === 'failed') {
      this.detectedUs = nowUs;
      this.state = 'takeover-pending';
      this.monitor.latchFailed();
      if (nowUs - this.lastFrameUs > this.live.heartbeatUs) this.probeWitnesses();
      this.emit('failover.detected', `primary silent for ${this.live.missLimit} heartbeats: failure declared`);
      return;
    }
    this.flushAcks(nowUs, false);
    this.askMissing(nowUs);
    this.expireClosed(nowUs);
  }

  /** Shadows of connections closed on both sides expire after TIME-WAIT (RFC 9293 §3.6) even without a notice. */
  private expireClosed(nowUs: number): void {
    if (nowUs < this.nextExpiryUs) return;
    this.nextExpiryUs = nowUs + 1_000_000;
    for (const [key, sh] of this.shadows) {
      if (sh.bothClosed() && nowUs - sh.lastActivityUs > this.tcpCfg.timeWaitUs) this.dropShadow(key, 'expired');
    }
  }

  /** A frame seen on the tap (client → service, or service → client on a two-way tap). */
  private tap(ipBytes: Uint8Array, srcMac: Uint8Array, nowUs: number): void {
    const ip = parseIpv4Packet(ipBytes);
    if (!ip.ok || ip.value.protocol !== IP_PROTOCOL.tcp) return;
    if (ip.value.dst === this.serviceIp && !this.neighbors.has(ip.value.src) && this.neighbors.size < NEIGHBORS_MAX) {
      // The clients' MACs, so the first segments after takeover need not wait for ARP.
      this.neighbors.set(ip.value.src, srcMac.slice());
    }
    const seg = parseTcpSegment(ip.value.payload, ip.value.src, ip.value.dst, true);
    if (!seg.ok) { this.count('tap-bad-segment'); return; }
    const s = seg.value;
    if (ip.value.src === this.serviceIp) {
      // Two-way tap: the primary's SYN-ACK tells the ISN (DESIGN §ST-TCP 1).
      const tuple: FourTuple = { localIp: ip.value.src, localPort: s.srcPort, remoteIp: ip.value.dst, remotePort: s.dstPort };
      const sh = this.shadows.get(tupleKey(tuple));
      if (!sh) this.holdUntapped(ipBytes, srcMac);
      if (s.flags.syn && s.flags.ack) sh?.learnIss(s.seq);
      else sh?.notePrimarySegment(s);
      return;
    }
    if (ip.value.dst !== this.serviceIp) return;
    const tuple: FourTuple = { localIp: ip.value.dst, localPort: s.dstPort, remoteIp: ip.value.src, remotePort: s.srcPort };
    const key = tupleKey(tuple);
    let sh = this.shadows.get(key);
    if (sh === undefined) {
      if (!s.flags.syn || s.flags.ack) { this.count('tap-no-shadow'); this.holdUntapped(ipBytes, srcMac); return; }
      sh = this.newShadow(tuple, s.seq, s.options, undefined, nowUs);
      if (!sh) return;
    }
    sh.handleClientSegment(s, nowUs);
    if (sh.phase === 'closed') this.dropShadow(key, 'closed');
    // A finished shadow is dropped in flushAcks, once the primary has its final acknowledgement.
  }

  /** A joining backup (the serving box is alone, its records not here yet) keeps what the tap shows. */
  private holdUntapped(ipBytes: Uint8Array, srcMac: Uint8Array): void {
    if (this.replaying || this.snapshotApplied || this.peerRole !== 'solo') return;
    if (this.untapped.length >= UNTAPPED_MAX) { this.untapped.shift(); this.count('untapped-overflow'); }
    this.untapped.push({ ip: ipBytes.slice(), srcMac: srcMac.slice() });
  }

  private newShadow(tuple: FourTuple, irs: number, opts: TcpRepr['options'], iss: number | undefined, nowUs: number): ShadowConnection | undefined {
    const svc = this.cfg.services.find((x) => x.port === tuple.localPort);
    if (!svc) { this.count('tap-no-service'); return undefined; }
    if (this.shadows.size >= (this.cfg.maxShadows ?? 16_384)) { this.count('shadow-table-full'); return undefined; }
    const sh = new ShadowConnection({ tuple, irs, clientSynOptions: opts, ...(iss !== undefined ? { iss } : {}) }, this.tcpCfg, svc.service, nowUs);
    this.watchDivergence(sh);
    this.shadows.set(tupleKey(tuple), sh);
    this.count('shadows-created');
    this.emit('connection.shadowed', `shadowing ${tupleText(tuple)}`);
    return sh;
  }

  /** DESIGN §ST-TCP 4: a replica whose output differs from the primary's is reported, per connection. */
  private watchDivergence(sh: ShadowConnection): void {
    sh.onDivergence = (offset) => {
      this.count('output-diverged');
      this.emit('output.diverged', `${tupleText(sh.tuple)}: replica output differs from the primary's at stream offset ${offset}`);
    };
  }

  private dropShadow(key: string, why: string): void {
    if (!this.shadows.delete(key)) return;
    this.ackedToPrimary.delete(key);
    this.rangeAsked.delete(key);
    this.count(`shadows-${why}`);
  }

  private flushAcks(nowUs: number, force: boolean): void {
    const due: Array<{ tuple: FourTuple; rcvNxt: number }> = [];
    let pendingBytes = 0;
    for (const [key, sh] of this.shadows) {
      if (sh.phase !== 'open') continue;
      const prev = this.ackedToPrimary.get(key);
      if (prev === sh.rcvNxt) {
        if (sh.isFinished()) this.dropShadow(key, 'finished');
        continue;
      }
      pendingBytes += prev === undefined ? 1 : (sh.rcvNxt - prev) >>> 0;
      due.push({ tuple: sh.tuple, rcvNxt: sh.rcvNxt });
    }
    if (due.length === 0) { this.ackDueUs = undefined; return; }
    const every = this.cfg.ackEveryBytes ?? 16 * 1024;
    if (!force && this.mode === 'async' && pendingBytes < every) {
      this.ackDueUs ??= nowUs + (this.cfg.ackIntervalUs ?? ASYNC_ACK_INTERVAL_US);
      if (nowUs < this.ackDueUs) return;
    }
    this.ackDueUs = undefined;
    for (let i = 0; i < due.length; i += 64) {
      const batch = due.slice(i, i + 64);
      this.send({ type: 'recvAck', acks: batch }, nowUs);
      for (const a of batch) {
        const key = tupleKey(a.tuple);
        this.ackedToPrimary.set(key, a.rcvNxt);
        if (this.shadows.get(key)?.isFinished()) this.dropShadow(key, 'finished');
      }
    }
  }

  /**
   * Asks the primary for what the tap missed (DESIGN §ST-TCP 2). A range not asked for
   * before goes out at once, so catching up proceeds at the control channel's round trip
   * rather than one range per heartbeat; what was asked and is still missing is asked
   * again after a heartbeat interval (the request or its answer was lost).
   */
  private askMissing(nowUs: number): void {
    for (const [key, sh] of this.shadows) {
      const gaps = sh.missingRanges(RANGES_PER_REQUEST_ROUND);
      if (gaps.length === 0) { this.rangeAsked.delete(key); continue; }
      let asked = this.rangeAsked.get(key);
      if (asked === undefined || nowUs - asked.atUs >= this.live.heartbeatUs) {
        asked = { upTo: gaps[0]!.seq, atUs: nowUs };
        this.rangeAsked.set(key, asked);
      }
      for (const g of gaps) {
        const end = seqAdd(g.seq, g.length);
        // At most RANGE_ASK_WINDOW bytes asked beyond what the replica holds: the rest is
        // asked as the answers arrive, so a long gap is not fetched in one burst.
        for (let from = seqMax(g.seq, asked.upTo); seqGt(end, from) && seqDiff(from, sh.rcvNxt) < RANGE_ASK_WINDOW;) {
          const length = Math.min(seqDiff(end, from), RANGE_REPLY_MAX);
          this.count('range-requests');
          this.send({ type: 'rangeRequest', tuple: sh.tuple, seq: from, length }, nowUs);
          from = seqAdd(from, length);
          asked.upTo = from;
        }
      }
    }
  }

  /** A joining backup's snapshot is complete: shadows continue from the primary's records. */
  private applySnapshot(bytes: Uint8Array, nowUs: number): void {
    const r = decodeRecords(bytes);
    if (!r.ok) { this.count(`snapshot-${r.error.code}`); return; }
    let restored = 0;
    for (const rec of r.value) {
      const key = tupleKey(rec.tuple);
      const svc = this.cfg.services.find((x) => x.port === rec.tuple.localPort);
      if (!svc) { this.count('snapshot-no-service'); continue; }
      const existing = this.shadows.get(key);
      if (rec.phase === 'handshake' && existing) { existing.learnIss(rec.iss); continue; }
      if (!existing && this.shadows.size >= (this.cfg.maxShadows ?? 16_384)) { this.count('shadow-table-full'); continue; }
      const sh = svc.restore ? ShadowConnection.fromRecord(rec, this.tcpCfg, svc.service, svc.restore, nowUs) : undefined;
      if (!sh) { this.count('snapshot-unrestorable'); continue; }
      // The record replaces a shadow built from the tap: the primary retains bytes from
      // the record's point on, not from the tap shadow's.
      if (existing) this.dropShadow(key, 'replaced');
      this.watchDivergence(sh);
      this.shadows.set(key, sh);
      restored++;
    }
    this.count('shadows-restored', restored);
    this.snapshotApplied = true;
    // What the tap showed since the records were made: client bytes and the primary's ACKs.
    this.replaying = true;
    for (const p of this.untapped.splice(0)) this.tap(p.ip, p.srcMac, nowUs);
    this.replaying = false;
    this.emit('snapshot.applied', `snapshot applied: ${restored} of ${r.value.length} connection(s) restored`);
    this.flushAcks(nowUs, true);
  }

  /** DESIGN §ST-TCP 7: shadows become live, the address moves, new connections are accepted. */
  private takeOver(nowUs: number): void {
    // From now on this box is the primary, serving alone until a backup joins.
    this.state = 'primary';
    this.lease.goSolo();
    this.monitor.latchFailed();
    this.peerRole = undefined;
    this.retention.clear();
    this.backupAck.clear();
    this.serving = true;
    this.leaseWasHeld = true;
    this.takeoverUs = nowUs;
    for (const [ip, mac] of this.neighbors) this.service.learnNeighbor(ip, mac, nowUs);
    this.neighbors.clear();
    let live = 0;
    const faults: Array<[string, ShadowFault]> = [];
    for (const [key, sh] of this.shadows) {
      if (sh.phase === 'closed') continue;
      const r = sh.takeOver(nowUs);
      if ('fault' in r) {
        if (r.fault === 'iss-unknown') { this.pendingIss.set(key, sh); continue; }
        faults.push([tupleText(sh.tuple), r.fault]);
        this.count(`connections-reset-${r.fault}`);
        this.resetClient(sh, nowUs);
        continue;
      }
      this.adopt(sh, r);
      if (this.takenOver.size < (this.cfg.maxShadows ?? 16_384)) this.takenOver.set(key, nowUs + STRAY_GRACE_US);
      live++;
    }
    this.shadows.clear();
    this.ackedToPrimary.clear();
    this.rangeAsked.clear();
    this.listenAll();
    this.service.announce(nowUs);
    this.count('takeovers');
    this.count('connections-taken-over', live);
    for (const [id, f] of faults) this.emit('takeover.fault', `${id}: ${f}`);
    const detected = this.detectedUs !== undefined ? ` (${nowUs - this.detectedUs} µs after detection)` : '';
    this.emit('takeover.complete', `took over ${formatIpv4(this.serviceIp)} with ${live} live connection(s)${detected}`);
  }

  /** A taken-over connection goes live, its replica wrapped as any primary application. */
  private adopt(sh: ShadowConnection, r: { connection: TcpConnection; bindApp: (live: StreamConnection) => StreamApp }): void {
    const readSeq = sh.finReceived ? seqAdd(sh.rcvNxt, -1) : sh.rcvNxt;
    this.service.adoptTcp(sh.tuple, r.connection, (live) => this.wrapPrimary(live, () => r.bindApp(live), readSeq, sh.finReceived, () => sh.pendingSkip()), this.nowUs);
  }

  /**
   * Resets a connection that cannot continue exactly (reported, never silently spliced):
   * a restored copy is aborted, so the client gets a RST; if its sequence number is not
   * the exact one the client expects, the client's challenge ACK (RFC 5961 §3) meets no
   * connection and is answered with a RST at the acknowledged sequence number.
   */
  private resetClient(sh: ShadowConnection, nowUs: number): void {
    // The replica hears the end too (a relay closes its upstream socket to the local server).
    sh.close('aborted');
    const r = sh.takeOver(nowUs, true);
    if ('fault' in r) return;
    this.service.adoptTcp(sh.tuple, r.connection, () => ({ onData: () => {}, onEnd: () => {} }), nowUs);
    r.connection.abort();
    this.service.pokeTcp(sh.tuple, nowUs);
  }

  /**
   * After takeover, before the service host sees a segment: a client ACK completing a
   * handshake whose ISN we never learned tells it; and a stray segment for a taken-over
   * connection that has since closed (the client acknowledged more than the tap had seen,
   * so our resent bytes draw duplicate ACKs) is dropped instead of answered with RST.
   * Returns false to drop the frame.
   */
  private beforeService(ipBytes: Uint8Array, nowUs: number): boolean {
    const ip = parseIpv4Packet(ipBytes);
    if (!ip.ok || ip.value.protocol !== IP_PROTOCOL.tcp || ip.value.dst !== this.serviceIp) return true;
    const seg = parseTcpSegment(ip.value.payload, ip.value.src, ip.value.dst, true);
    if (!seg.ok) return true;
    const tuple: FourTuple = { localIp: ip.value.dst, localPort: seg.value.dstPort, remoteIp: ip.value.src, remotePort: seg.value.srcPort };
    const key = tupleKey(tuple);
    const until = this.takenOver.get(key);
    if (until !== undefined) {
      const engine = this.engineFor(tuple);
      if (nowUs > until) this.takenOver.delete(key);
      else if (!seg.value.flags.syn && engine === undefined) return false;
      if (engine !== undefined && seg.value.flags.ack) {
        // The client may have acknowledged output the replica has not produced yet (the
        // primary answered input the backup still lacked). An ACK beyond SND.MAX would make
        // the connection drop the client's segments (RFC 9293 §3.10.7.4), including the
        // retransmitted input the replica needs to catch up: hold the ACK at SND.MAX until
        // the replica's output gets there. The client sees only duplicate data meanwhile.
        const sndMax = engine.info().sndMax;
        if (seqGt(seg.value.ack, sndMax)) {
          clampAck(ipBytes, (ipBytes[0]! & 0x0f) * 4, seg.value.ack, sndMax);
          this.count('ack-clamped-after-takeover');
        }
      }
    }
    const sh = this.pendingIss.get(key);
    if (!sh) return true;
    this.pendingIss.delete(key);
    if (seg.value.flags.syn || !seg.value.flags.ack) return true; // a fresh SYN: the listener takes it
    sh.learnIss(seqAdd(seg.value.ack, -1));
    const r = sh.takeOver(nowUs);
    if ('fault' in r) return true;
    this.adopt(sh, r);
    return true;
  }

  // ---- control channel ----------------------------------------------------------

  private send(m: ControlMessage, nowUs: number): bigint {
    this.seq += 1n;
    const bytes = emitControl({ sender: this.cfg.nodeId, epoch: this.cfg.epoch, seq: this.seq, message: m }, this.cfg.key);
    this.own.udpSend(this.cfg.peerIp, this.controlPort, this.controlPort, bytes, nowUs);
    this.count('control-sent');
    return this.seq;
  }

  private onControl(src: string, data: Uint8Array, nowUs: number): void {
    this.nowUs = nowUs;
    if (src !== this.cfg.peerIp) { this.count('control-foreign'); return; }
    const r = parseControl(data, this.cfg.key);
    if (!r.ok) { this.count(`control-${r.error.code}`); return; }
    const env = r.value;
    if (!this.replay.accept(env.epoch, env.seq)) { this.count('control-replayed'); return; }
    const m = env.message;
    switch (m.type) {
      case 'heartbeat': this.onHeartbeat(m.role, m.echo, env.seq, env.epoch, nowUs); break;
      case 'recvAck': if (this.state === 'primary') this.onRecvAck(m.acks, nowUs); break;
      case 'rangeRequest': if (this.state === 'primary') this.onRangeRequest(m.tuple, m.seq, m.length, nowUs); break;
      case 'rangeData':
        if (this.state === 'backup') this.shadows.get(tupleKey(m.tuple))?.handleRange(m.seq, m.data, nowUs, m.fin === true);
        break;
      case 'connOpen':
        if (this.state === 'backup') this.onConnOpen(m, nowUs);
        break;
      case 'connClose':
        if (this.state === 'backup') {
          const key = tupleKey(m.tuple);
          const sh = this.shadows.get(key);
          if (sh && (m.reason !== 'closed' || sh.isFinished())) { sh.close(m.reason); this.dropShadow(key, 'closed'); }
        }
        break;
      case 'snapshotChunk':
        if (this.state === 'backup') {
          const a = this.receiver.onChunk(m.transferId, m.index, m.count, m.data);
          if (a === undefined) { this.count('snapshot-chunk-ignored'); break; }
          this.send({ type: 'snapshotAck', transferId: m.transferId, next: a.next }, nowUs);
          if (a.complete) this.applySnapshot(a.complete, nowUs);
        }
        break;
      case 'snapshotAck':
        if (this.state === 'primary' && this.join) { this.join.onAck(m.transferId, m.next, nowUs); this.joinTick(nowUs); }
        break;
    }
  }

  private onHeartbeat(role: NodeRole, echo: bigint, seq: bigint, epoch: number, nowUs: number): void {
    this.lastPeerHeartbeatSeq = seq;
    const before = this.peerRole;
    if (this.state === 'primary' && this.lease.isSolo()) {
      // Serving alone (after a takeover, or with the backup fenced): a backup's heartbeat
      // starts its resynchronisation; a peer claiming the service is an old primary that
      // has not yet seen us (it stops on our heartbeats, DESIGN §ST-TCP 6).
      if (role !== 'backup') { this.count('peer-claims-service'); return; }
      this.peerRole = role;
      const sentAt = this.sentHeartbeats.get(echo);
      if (sentAt !== undefined) this.lastEchoSentUs = sentAt;
      this.joinHeard(epoch, nowUs);
      return;
    }
    this.peerRole = role;
    if (this.state === 'primary') {
      if (role !== 'backup') {
        // The peer serves the address: it took over while we were cut off (DESIGN §ST-TCP 6).
        this.state = 'stepped-down';
        this.serving = false;
        this.emit('stepped.down', `peer announces itself ${role}: no longer serving`);
        return;
      }
      this.monitor.heard(nowUs);
      const sentAt = this.sentHeartbeats.get(echo);
      if (sentAt !== undefined) {
        this.lease.renew(sentAt);
        // Control-channel round trip (RFC 6298-style smoothing, gain 1/8).
        const sample = nowUs - sentAt;
        this.controlRttUs = this.controlRttUs === undefined ? sample : Math.round(this.controlRttUs + (sample - this.controlRttUs) / 8);
      }
      if (before === undefined) this.emit('backup.synced', 'backup heartbeats received: replication active');
    } else if (this.state === 'backup') {
      if (role === 'primary' || role === 'solo') {
        this.monitor.heard(nowUs);
        this.sendHeartbeat(nowUs); // the echo that renews the primary's lease
      }
    }
  }

  private onConnOpen(m: Extract<ControlMessage, { type: 'connOpen' }>, nowUs: number): void {
    const key = tupleKey(m.tuple);
    const sh = this.shadows.get(key);
    if (sh) { sh.learnIss(m.iss); return; }
    // Missed the SYN on the tap: rebuild the client's SYN options from the notice.
    this.newShadow(m.tuple, m.irs, {
      mss: m.mss,
      ...(m.sndWscale >= 0 ? { windowScale: m.sndWscale } : {}),
      ...(m.sack ? { sackPermitted: true } : {}),
      ...(m.timestamps ? { timestamp: { value: 0, echo: 0 } } : {}),
    }, m.iss, nowUs);
  }

  // ---- helpers ------------------------------------------------------------------

  private count(name: string, n = 1): void {
    this.counters.set(name, (this.counters.get(name) ?? 0) + n);
  }

  private emit(kind: StTcpEventKind, text: string): void {
    this.cfg.onEvent?.({ tUs: this.nowUs, node: this.name, kind, text });
  }
}

/** Rewrites a TCP segment's ACK field in place, patching the checksum (RFC 1624). */
function clampAck(ipBytes: Uint8Array, ipHeaderLen: number, oldAck: number, newAck: number): void {
  const tcp = ipBytes.subarray(ipHeaderLen);
  const view = new DataView(tcp.buffer, tcp.byteOffset, tcp.byteLength);
  view.setUint32(TCP_FIELD_OFFSET.ack, newAck >>> 0);
  const sum = view.getUint16(TCP_FIELD_OFFSET.checksum);
  view.setUint16(TCP_FIELD_OFFSET.checksum, checksumUpdate32(sum, oldAck >>> 0, newAck >>> 0));
}

function mustMac(s: string): Uint8Array {
  const m = parseMac(s);
  if (!m) throw new Error(`bad MAC ${s}`);
  return m;
}

function minDefined(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}
