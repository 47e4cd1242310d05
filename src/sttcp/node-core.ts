// What the parts of one ST-TCP box share (DESIGN §ST-TCP): its configuration, its two
// hosts, its role in the pair, the control channel's sending side, counters and events.
// The parts — pair liveness (pair-liveness.ts), the primary's replication
// (primary-replication.ts), a joining backup's transfer (join.ts), the backup's shadows
// (backup-replica.ts) and the takeover (takeover.ts) — each hold their own state and
// reach one another through this core; node.ts wires them and drives them.
import type { StreamService } from '../stack/app.js';
import { Host } from '../stack/host.js';
import type { Rng } from '../util/rng.js';
import { parseIpv4, parseMac } from '../wire/addr.js';
import { TcpConnection, type TcpConfig } from '../tcp/connection.js';
import { tupleKey, type FourTuple } from '../tcp/four-tuple.js';
import { normalizeConfig } from '../tcp/config.js';
import { tcpConnectionFactory } from '../stack/tcp-engine.js';
import { emitControl, type ControlMessage } from './control.js';
import { defaultLiveness, type LivenessConfig } from './liveness.js';
import type { AppRestore, SharedAppState } from './app-state.js';
import type { PairLiveness } from './pair-liveness.js';
import type { PrimaryReplication } from './primary-replication.js';
import type { JoinHost } from './join.js';
import type { BackupReplica } from './backup-replica.js';
import type { Takeover } from './takeover.js';

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
  /**
   * The service interface's driver segments for us (TAP offloads): the service host may
   * hand it TCP segments in IPv4 packets up to this size (with tcp.tsoMaxBytes), and
   * takes coalesced ones as large. Default: the MTU.
   */
  tcpOffloadMaxBytes?: number;
  serviceMac: string;
  serviceIp: string;
  /**
   * Listening ports and the (deterministic) application on each. `restore` resumes one
   * session from its snapshot; `shared` moves state all sessions of the port share (a
   * key-value store) to a joining backup together with the sessions.
   */
  services: ReadonlyArray<{ port: number; service: StreamService; restore?: AppRestore; shared?: SharedAppState }>;
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
  /**
   * Sync mode: acknowledgements to the primary at most this often while a stream flows
   * (the first after a quiet spell goes at once); 0 sends one per tapped segment.
   */
  syncAckSpacingUs?: number;
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
/** Shadows the backup keeps at most, by default. */
export const MAX_SHADOWS_DEFAULT = 16_384;
/**
 * Async mode: the backup acknowledges after this many new bytes or this long after the
 * first unacknowledged one, by default (the serve configuration's ackEveryBytes and
 * ackEveryMs defaults are the same). In async mode the client is ACKed at once: these
 * only bound what the primary retains and how soon it resends a tail the tap missed,
 * while each acknowledgement costs both hosts an HMAC and a wakeup (BENCHMARKS.md,
 * sttcp-lab-cost, has what the cadence did to the lab's echo).
 */
export const ASYNC_ACK_EVERY_BYTES = 64 * 1024;
export const ASYNC_ACK_INTERVAL_US = 5_000;
/** Sync mode: the least time between the backup's acknowledgements while a stream flows. */
export const SYNC_ACK_SPACING_US = 200;
/** Sync mode: client segments closer together than this are a burst (their acknowledgements may be spaced). */
export const SYNC_ACK_BURST_GAP_US = 50;

/** The box's shared state and services; every part holds one. */
export class NodeCore {
  readonly cfg: StTcpNodeConfig;
  readonly name: string;
  readonly tcpCfg: TcpConfig;
  readonly live: LivenessConfig;
  readonly mode: DurabilityMode;
  readonly controlPort: number;
  readonly controlIf: number;
  readonly serviceMac: Uint8Array;
  readonly ownMac: Uint8Array;
  readonly serviceIp: number;
  readonly own: Host;
  readonly service: Host<TcpConnection>;
  state: NodeState;
  /** The service host takes frames and transmits (a primary, or a backup after takeover). */
  serving: boolean;
  nowUs = 0;
  /** Last time any frame arrived on the service port (the backup's witness that its LAN works). */
  lastFrameUs = 0;
  private seq = 0n;
  private readonly counters = new Map<string, number>();

  // The parts, wired by StTcpNode's constructor.
  liveness!: PairLiveness;
  replication!: PrimaryReplication;
  joinHost!: JoinHost;
  replica!: BackupReplica;
  takeover!: Takeover;

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
    // The control channel resolves its peer at heartbeat pace: a lost ARP exchange must not
    // hold the pair apart for the default second.
    this.own = new Host({
      name: `${cfg.name}-own`, mac: cfg.ownMac, ip: cfg.ownIp, prefixLen: cfg.prefixLen, rng: cfg.rng,
      arp: { retryUs: this.live.heartbeatUs, maxRetries: 100 },
    });
    this.service = new Host<TcpConnection>({
      name: `${cfg.name}-service`, mac: cfg.serviceMac, ip: cfg.serviceIp, prefixLen: cfg.prefixLen, rng: cfg.rng,
      ...(cfg.tcpOffloadMaxBytes !== undefined ? { tcpOffloadMaxBytes: cfg.tcpOffloadMaxBytes } : {}),
      tcpFactory: tcpConnectionFactory(this.tcpCfg),
    });
    this.state = cfg.role;
    this.serving = cfg.role === 'primary';
  }

  /** Sends one authenticated control message to the peer; returns its envelope seq. */
  send(m: ControlMessage, nowUs: number): bigint {
    this.seq += 1n;
    const bytes = emitControl({ sender: this.cfg.nodeId, epoch: this.cfg.epoch, seq: this.seq, message: m }, this.cfg.key);
    this.own.udpSend(this.cfg.peerIp, this.controlPort, this.controlPort, bytes, nowUs);
    this.count('control-sent');
    return this.seq;
  }

  count(name: string, n = 1): void {
    this.counters.set(name, (this.counters.get(name) ?? 0) + n);
  }

  counterEntries(): Iterable<[string, number]> { return this.counters; }

  emit(kind: StTcpEventKind, text: string): void {
    this.cfg.onEvent?.({ tUs: this.nowUs, node: this.name, kind, text });
  }

  serviceFor(port: number): StTcpNodeConfig['services'][number] | undefined {
    return this.cfg.services.find((x) => x.port === port);
  }

  /** Sessions on this port share application state (moved whole to a joining backup). */
  sharedPort(port: number): boolean { return this.serviceFor(port)?.shared !== undefined; }

  maxShadows(): number { return this.cfg.maxShadows ?? MAX_SHADOWS_DEFAULT; }

  engineFor(tuple: FourTuple): TcpConnection | undefined {
    return this.service.tcpConnection(tuple);
  }
}

function mustMac(s: string): Uint8Array {
  const m = parseMac(s);
  if (!m) throw new Error(`bad MAC ${s}`);
  return m;
}

export function minDefined(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}
