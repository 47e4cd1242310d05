// The CRAFT splicer box (DESIGN §CRAFT): a FrameEndpoint holding one Host at the
// service address. It terminates the client's handshake, reads the request head,
// routes, connects to a back end with compatible TCP options, sends the request,
// and once the back end has acknowledged it, splices the two connections: from then
// on it forwards packets with rewritten headers (splice.ts) and keeps only the splice
// state. Replication hooks (hold until a peer has the state; install replicas; take over)
// are here; the control channel and failure detection are node.ts's.
import type { FrameEndpoint, OutgoingFrame } from '../stack/endpoint.js';
import { Host } from '../stack/host.js';
import type { HostStreamConnection, HostStreamService } from '../stack/tcp-demux.js';
import type { StreamApp } from '../stack/app.js';
import type { TcpEngineFactory } from '../stack/tcp-engine.js';
import type { Rng } from '../util/rng.js';
import { TcpConnection, type TcpConfig } from '../tcp/connection.js';
import { tupleKey, type FourTuple } from '../tcp/four-tuple.js';
import { seqDiff } from '../tcp/seq.js';
import { macEquals, parseIpv4, parseMac, formatIpv4 } from '../wire/addr.js';
import { ETHERNET_HEADER_LEN } from '../wire/ethernet.js';
import { foldChecksum, internetChecksum, onesSum, pseudoHeaderSum } from '../wire/checksum.js';
import { parseIpv4Packet } from '../wire/ipv4.js';
import { parseTcpSegment, tcpFlags, type TcpRepr } from '../wire/tcp.js';
import { RequestHeadParser, errorResponse, parseResponseHeadPrefix, REASON, type RequestHead } from './http-head.js';
import { REQUEST_MAX_CHARS, type SetupRecord } from './replication.js';
import { Router, type BackendSpec, type RouteConfig } from './routes.js';
import { BackendFailover, type FailoverContext } from './backend-failover.js';
import { SpliceEngine, concatBytes, keyOf, type FrameKey } from './splice-engine.js';
import { ClientCloser } from './client-closer.js';
import { KeepAliveRouter } from './keepalive.js';
import { encodeControl } from './replication.js';
import { sealControl } from './control-auth.js';
import { SPLIT_CONTROL_PORT } from './split-backend.js';
import { rewriteSegment, type SpliceState, type TeardownTimers } from './splice.js';

/** Ticks a replica's probe TSval runs ahead of the estimate of the client's latest (see probeTsVal). */
const PROBE_TS_MARGIN_TICKS = 1000;

export interface SplicerConfig {
  name: string;
  serviceIp: string;
  serviceMac: string;
  prefixLen: number;
  gateway?: string;
  servicePort: number;
  routes: RouteConfig;
  rng: Rng;
  /**
   * TCP settings of the client-facing connections. Its `mss` is the MSS we advertise to
   * clients: it must not exceed any back end's MSS (client segments are forwarded as they are).
   */
  tcp?: Partial<TcpConfig>;
  headLimitBytes?: number;
  /** A client that has not sent a complete head by then gets 408 and a close. */
  headTimeoutUs?: number;
  /** SYN retransmissions towards a back end before it counts as failed (then the next one is tried). */
  backendSynRetries?: number;
  /** A back end that failed a connect is skipped for this long. */
  backendDownUs?: number;
  maxSessions?: number;
  maxSplices?: number;
  /**
   * A splice with a direction silent this long is dropped (idle, or half-dead: one end gone
   * while the other retransmits); later packets then meet our host, which answers RST.
   */
  idleTimeoutUs?: number;
  /** Idle time after one side's FIN (a half-dead splice). */
  halfClosedTimeoutUs?: number;
  finLingerUs?: number;
  rstLingerUs?: number;
  sweepIntervalUs?: number;
  txQueueMax?: number;
  onEvent?: (e: SplicerEvent) => void;
  /** Called with the splice state as it is installed (tests, observers). */
  onSplice?: (sp: Readonly<SpliceState>) => void;
  /**
   * Replication (CRAFT §1): called when a splice is installed. Returning true holds the
   * splice's packets until replicated(id) is called (the peer has the state) or
   * holdTimeoutUs passes, so no data flows through a splice a peer could not continue.
   */
  replicate?: (sp: Readonly<SpliceState>) => boolean;
  /** Called when a splice learns its response framing (replication: the peer needs it to re-splice). */
  onSpliceUpdated?: (sp: Readonly<SpliceState>) => void;
  /** Called when splice state is removed (replication: tell the peer). */
  onSpliceRemoved?: (sp: Readonly<SpliceState>) => void;
  /** Several active splicers: the splices this box carries, every quarter idle timeout (see sweep). */
  onSplicesAlive?: (sps: ReadonlyArray<Readonly<SpliceState>>) => void;
  holdTimeoutUs?: number;
  /**
   * Replication of splice setup (crash safety before the splice): called when a client's SYN
   * is accepted. Returning true holds everything sent to that client (the SYN-ACK first)
   * until replicated(rec.id), and our stack acknowledges none of the client's request until
   * the splice, so a peer holding the record can rebuild the connection and read the request
   * again from the client's retransmission.
   */
  replicateSetup?: (rec: Readonly<SetupRecord>) => boolean;
  /** A replicated setup ended without a splice (error answer, client gone): tell the peer. */
  onSetupRemoved?: (rec: Readonly<SetupRecord>) => void;
  /** Start as a standby: no sweeps (replicas are not expired) until activate(). */
  standby?: boolean;
  /**
   * Back-end health checks (ICMP echo every interval; no reply for healthTimeoutUs = down).
   * A back end that goes down has its splices re-spliced to another back end from the byte
   * the client has acknowledged (HTTP Range). Undefined: off.
   */
  healthIntervalUs?: number;
  healthTimeoutUs?: number;
  /**
   * Where the echo requests come from: by default the service address. Several splicers
   * active at once send them from each one's own address, since the back ends' replies to
   * the shared service address would all reach one of them (shared-node.ts).
   */
  healthHost?: Pick<Host, 'ping' | 'onEchoReply'>;
  /**
   * HTTP keep-alive: each later request on a spliced connection is routed by the rules, and
   * re-spliced to another back end when they choose one (keepalive.ts). Default true.
   */
  perRequestRouting?: boolean;
  /** Split splice towards back ends marked `split`: the key and sender id its state messages are sealed with. */
  split?: { key?: Uint8Array; sender?: number; epoch?: number; port?: number };
  /**
   * Several splicers active at once (shared-node.ts): replicas are forwarded whenever a packet
   * of theirs arrives here; one this box does not carry expires only when no box has named it
   * in an 'alive' message for two idle timeouts (onSplicesAlive, replicasAlive); a client
   * connection still in setup at a failed peer is rebuilt when its first packet arrives here.
   */
  shared?: boolean;
  /** Ephemeral ports of this splicer's back-end connections (each shared splicer owns a range). */
  ephemeralPorts?: [number, number];
}

export interface SplicerEvent { tUs: number; kind: 'spliced' | 'splice-removed' | 'error-response' | 'backend-failed'; text: string }

type Phase = 'head' | 'connecting' | 'awaiting-ack' | 'error-sent' | 'spliced' | 'closed';

/** One client connection before (and until) its splice. */
interface Session {
  id: number;
  client: HostStreamConnection;
  clientEngine: SpliceEngine;
  clientKey: string;
  phase: Phase;
  startUs: number;
  parser: RequestHeadParser;
  head: RequestHead | undefined;
  /** Client bytes not yet accepted by the back-end connection (head and anything after it). */
  pending: Uint8Array[];
  pendingBytes: number;
  clientFin: boolean;
  backendFinQueued: boolean;
  backend: BackendSpec | undefined;
  backendConn: HostStreamConnection | undefined;
  backendEngine: SpliceEngine | undefined;
  backendKey: string | undefined;
  /** Bytes accepted by the back-end connection's send buffer. */
  written: number;
  tried: Set<string>;
  /** Client bytes written to the current back-end connection (resent to another one if it fails before the splice). */
  sent: Uint8Array[];
  /** The request head as received (latin1), for a Range re-request after a back-end failure. */
  requestText: string | undefined;
}

const PENDING_MAX_BYTES = 64 * 1024;
const HELD_FRAMES_MAX = 256;
/** Probes (one per sweep) to the client of a peer's replica whose back end is down (see sweep). */
const DOWN_PROBES_MAX = 8;
/** At most one challenge ACK per splice in this time (RFC 5961 §7: challenge ACKs are rate-limited). */
const CHALLENGE_ACK_INTERVAL_US = 100_000;
const EMPTY = new Uint8Array(0);

/** RFC 9293 §3.1: the TCP checksum over the pseudo-header and the segment verifies. */
function tcpChecksumOk(f: Uint8Array, k: FrameKey): boolean {
  const src = ((f[k.ipOff + 12]! << 24) | (f[k.ipOff + 13]! << 16) | (f[k.ipOff + 14]! << 8) | f[k.ipOff + 15]!) >>> 0;
  const dst = ((f[k.ipOff + 16]! << 24) | (f[k.ipOff + 17]! << 16) | (f[k.ipOff + 18]! << 8) | f[k.ipOff + 19]!) >>> 0;
  const len = k.tcpEnd - k.tcpOff;
  return foldChecksum(onesSum(f, k.tcpOff, len, pseudoHeaderSum(src, dst, 6, len))) === 0;
}

export { SpliceEngine } from './splice-engine.js';

export class Splicer implements FrameEndpoint {
  readonly name: string;
  readonly host: Host<SpliceEngine>;
  readonly router: Router;
  private readonly serviceIp: number;
  private readonly serviceMac: Uint8Array;
  private readonly frontTcp: Partial<TcpConfig>;
  /** Options of the next back-end connect (set just before host.connect: the factory reads it). */
  private nextConnectCfg: Partial<TcpConfig> | undefined;
  private readonly engines = new Map<string, SpliceEngine>();
  private readonly sessions = new Map<number, Session>();
  /** Sessions whose back end must acknowledge the request: key = back end's "srcIp:srcPort:dstPort". */
  private readonly awaiting = new Map<string, Session>();
  /** Splice state by the key of each side's incoming packets ("srcIp:srcPort:dstPort"). */
  private readonly table = new Map<string, SpliceState>();
  private readonly macByIp = new Map<number, Uint8Array>();
  private readonly txq: Uint8Array[] = [];
  private txHead = 0;
  private nextSessionId = 1;
  private splitSeq = 0n;
  private nextSpliceId = 1;
  private nowUs = 0;
  private nextSweepUs: number | undefined;
  private readonly counter = new Map<string, number>();
  private readonly c: Required<Pick<SplicerConfig, 'headLimitBytes' | 'headTimeoutUs' | 'backendSynRetries' | 'backendDownUs'
    | 'maxSessions' | 'maxSplices' | 'idleTimeoutUs' | 'halfClosedTimeoutUs' | 'sweepIntervalUs' | 'txQueueMax'>>;
  private readonly timers: TeardownTimers;
  private readonly onEvent: ((e: SplicerEvent) => void) | undefined;
  private readonly onSplice: ((sp: Readonly<SpliceState>) => void) | undefined;
  private readonly cfg: SplicerConfig;
  /** Packets of splices whose state is not yet replicated, by splice id (bounded per splice). */
  private readonly held = new Map<number, { frames: Uint8Array[]; deadlineUs: number }>();
  /** When each splice last answered a client's SYN with a challenge ACK (goes with the splice). */
  private readonly challengedUs = new WeakMap<SpliceState, number>();
  /** Probes sent to the client of an untouched replica whose back end is down (sweep). */
  private readonly downProbes = new WeakMap<SpliceState, number>();
  /** Frames to clients whose setup record is not yet acknowledged by the peer, by client key; and id → key. */
  private readonly setupHeld = new Map<string, { id: number; frames: Uint8Array[]; deadlineUs: number }>();
  private readonly setupIds = new Map<number, string>();
  /** Replicated setups of this box's sessions not yet spliced (to tell the peer when they end). */
  private readonly setupOf = new Map<string, SetupRecord>();
  /** Setups replicated from the peer (standby): rebuilt as connections on takeover. */
  private readonly replicaSetups = new Map<string, SetupRecord>();
  /** When each replica was installed or last updated (its TSval towards the client dates from then). */
  private readonly replicaAtUs = new WeakMap<SpliceState, number>();
  /** Several active splicers: when a peer last said it carries a copy this box does not (replicasAlive). */
  private readonly aliveAtUs = new WeakMap<SpliceState, number>();
  private nextAliveUs = 0;
  /**
   * Replicas no packet has reached here yet, or released as idle here (shared mode: another
   * box may carry them; they expire only when no box has named them for two idle timeouts).
   */
  private readonly untouched = new Set<SpliceState>();
  private standby: boolean;
  private readonly failover: BackendFailover;
  /** Splices whose back end died after the whole response: we close the client's side (FIN, final ACK). */
  private readonly closer: ClientCloser;
  /** Later requests on kept-alive spliced connections. */
  private readonly keepAlive: KeepAliveRouter;

  constructor(cfg: SplicerConfig) {
    this.name = cfg.name;
    const ip = parseIpv4(cfg.serviceIp);
    const mac = parseMac(cfg.serviceMac);
    if (ip === undefined || mac === undefined) throw new Error(`${cfg.name}: bad service address`);
    this.serviceIp = ip;
    this.serviceMac = mac;
    this.frontTcp = cfg.tcp ?? {};
    this.router = new Router(cfg.routes);
    this.onEvent = cfg.onEvent;
    this.onSplice = cfg.onSplice;
    this.cfg = cfg;
    this.standby = cfg.standby ?? false;
    this.c = {
      headLimitBytes: cfg.headLimitBytes ?? 16 * 1024, headTimeoutUs: cfg.headTimeoutUs ?? 30_000_000,
      backendSynRetries: cfg.backendSynRetries ?? 2, backendDownUs: cfg.backendDownUs ?? 10_000_000,
      maxSessions: cfg.maxSessions ?? 4096, maxSplices: cfg.maxSplices ?? 65_536,
      idleTimeoutUs: cfg.idleTimeoutUs ?? 300_000_000, halfClosedTimeoutUs: cfg.halfClosedTimeoutUs ?? 60_000_000,
      sweepIntervalUs: cfg.sweepIntervalUs ?? 1_000_000, txQueueMax: cfg.txQueueMax ?? 4096,
    };
    // Several active splicers: the sweep also sends the 'alive' messages, every quarter idle
    // timeout, which the other boxes' copies live on (two idle timeouts without one: expired).
    if (cfg.shared === true) this.c.sweepIntervalUs = Math.min(this.c.sweepIntervalUs, Math.max(1, Math.floor(this.c.idleTimeoutUs / 4)));
    this.timers = { finLingerUs: cfg.finLingerUs ?? 5_000_000, rstLingerUs: cfg.rstLingerUs ?? 1_000_000 };
    const factory: TcpEngineFactory<SpliceEngine> = {
      connect: (tuple, isn, nowUs) => this.register(tuple, TcpConnection.connect(this.nextConnectCfg ?? this.frontTcp, tuple, isn, nowUs)),
      accept: (tuple, syn, isn, nowUs) => {
        const conn = TcpConnection.accept(this.frontTcp, tuple, syn, isn, nowUs);
        if (this.cfg.replicateSetup !== undefined) this.setupAccepted(tuple, syn, isn, conn);
        return this.register(tuple, conn);
      },
    };
    this.host = new Host<SpliceEngine>({
      name: cfg.name, mac: cfg.serviceMac, ip: cfg.serviceIp, prefixLen: cfg.prefixLen, rng: cfg.rng, tcpFactory: factory,
      ...(cfg.ephemeralPorts !== undefined ? { tcpLimits: { ephemeralLow: cfg.ephemeralPorts[0], ephemeralHigh: cfg.ephemeralPorts[1] } } : {}),
      ...(cfg.gateway !== undefined ? { gateway: cfg.gateway } : {}),
    });
    this.host.listen(cfg.servicePort, (conn) => this.onClient(conn));
    // Splice ids are unique across splicers with high probability (replicas keep the origin's id).
    this.nextSpliceId = 1 + (cfg.rng.nextU32() & 0x3fffffff);
    this.closer = new ClientCloser({
      serviceIp: this.serviceIp, serviceMac: this.serviceMac, finLingerUs: this.timers.finLingerUs, nowUs: () => this.nowUs,
      send: (f) => { if (this.txq.length - this.txHead < this.c.txQueueMax) this.txq.push(f); else this.inc('drop-tx-queue-full'); },
      removeSplice: (sp, why) => this.removeSplice(sp, why), inc: (n) => this.inc(n),
    });
    this.keepAlive = new KeepAliveRouter({
      host: this.host, router: this.router, headLimitBytes: this.c.headLimitBytes, serviceIp: this.serviceIp, serviceMac: this.serviceMac,
      nowUs: () => this.nowUs,
      connect: (ip, port, o, makeApp) => this.connectFrom(ip, port,
        { ...this.frontTcp, mss: o.mss, windowScale: o.ws, sack: o.sack, timestamps: o.ts, synRetries: this.c.backendSynRetries, nagle: false }, makeApp),
      engineOf: (tuple) => this.engines.get(tupleKey(tuple)),
      forgetEngine: (tuple) => { this.engines.delete(tupleKey(tuple)); },
      detachBackend: (sp) => { this.table.delete(keyOf(sp.backend.ip, sp.backend.port, sp.backend.localPort)); },
      attachBackend: (sp, key) => { this.table.set(key, sp); },
      removeSplice: (sp, why) => this.removeSplice(sp, why),
      forward: (sp, k, frame, nowUs) => this.forward(sp, k, frame, nowUs),
      send: (f) => { if (this.txq.length - this.txHead < this.c.txQueueMax) this.txq.push(f); else this.inc('drop-tx-queue-full'); },
      inc: (n) => this.inc(n),
      event: (kind, text) => this.event(kind, text),
      replicateHold: (sp) => this.replicateHold(sp),
      sendAfterHeld: (sp, f) => {
        const h = this.held.get(sp.id);
        if (h !== undefined && h.frames.length < HELD_FRAMES_MAX) h.frames.push(f);
        else if (this.txq.length - this.txHead < this.c.txQueueMax) this.txq.push(f);
      },
    });
    this.failover = new BackendFailover(this.failoverContext(),
      cfg.healthIntervalUs === undefined ? undefined : { intervalUs: cfg.healthIntervalUs, timeoutUs: cfg.healthTimeoutUs ?? 3 * cfg.healthIntervalUs });
  }

  /** The splicer's side of back-end failover (backend-failover.ts). */
  private failoverContext(): FailoverContext {
    return {
      host: this.host, healthHost: this.cfg.healthHost ?? this.host, router: this.router, headLimitBytes: this.c.headLimitBytes,
      nowUs: () => this.nowUs,
      // A peer's replica that this box has not forwarded yet is the peer's to move.
      splices: () => (this.untouched.size === 0 ? this.splices() : this.splices().filter((sp) => !this.untouched.has(sp))),
      connect: (ip, port, o, makeApp) => this.connectFrom(ip, port,
        { ...this.frontTcp, mss: o.mss, windowScale: o.ws, sack: o.sack, timestamps: o.ts, synRetries: this.c.backendSynRetries, nagle: false }, makeApp),
      engineOf: (tuple) => this.engines.get(tupleKey(tuple)),
      forgetEngine: (tuple) => { this.engines.delete(tupleKey(tuple)); },
      detachBackend: (sp) => { this.table.delete(keyOf(sp.backend.ip, sp.backend.port, sp.backend.localPort)); },
      // The new back end reaches a peer splicer too (it would otherwise resume the old one).
      attachBackend: (sp, key) => { this.table.set(key, sp); this.cfg.onSpliceUpdated?.(sp); },
      removeSplice: (sp, why) => this.removeSplice(sp, why),
      forward: (sp, k, frame, nowUs) => this.forward(sp, k, frame, nowUs),
      inc: (name) => this.inc(name),
      event: (kind, text) => this.event(kind, text),
      finishClient: (sp) => {
        this.table.delete(keyOf(sp.backend.ip, sp.backend.port, sp.backend.localPort));
        sp.resplicing = false;
        this.closer.start(sp);
      },
      backendDown: (id) => {
        // Sessions still setting up on it: abort that connection; onClose moves them to another back end.
        for (const s of [...this.sessions.values()]) {
          if (s.backend?.id === id && (s.phase === 'connecting' || s.phase === 'awaiting-ack')) s.backendConn?.destroy();
        }
      },
    };
  }

  /**
   * Active open towards a back end with `cfg` (the factory reads it during the call). An
   * ephemeral port a splice still uses towards that back end is skipped before the stack
   * makes a connection for it. (Opening one and destroying it, as this once did, let the
   * discarded connection's close reach the caller's application: a re-splice took it for
   * its own and gave up, and the client was reset.)
   */
  private connectFrom(ip: string, port: number, cfg: Partial<TcpConfig>, makeApp: HostStreamService): HostStreamConnection | undefined {
    this.nextConnectCfg = cfg;
    try {
      return this.host.connect(ip, port, makeApp, this.nowUs, (t) => {
        if (!this.table.has(keyOf(t.remoteIp, t.remotePort, t.localPort))) return true;
        this.inc('ephemeral-port-in-splice');
        return false;
      });
    } catch {
      return undefined;                        // connection table full, no port
    } finally {
      this.nextConnectCfg = undefined;
    }
  }

  /** A client's SYN accepted with a peer present: replicate the setup; hold our answers and ACKs until it is acknowledged. */
  private setupAccepted(tuple: FourTuple, syn: TcpRepr, isn: number, conn: TcpConnection): void {
    const key = keyOf(tuple.remoteIp, tuple.remotePort, tuple.localPort);
    const o = syn.options;
    const rec: SetupRecord = {
      id: this.nextSpliceId++, clientIp: tuple.remoteIp, clientPort: tuple.remotePort, localPort: tuple.localPort, irs: syn.seq, iss: isn >>> 0,
      window: syn.window, mss: o.mss, ws: o.windowScale, sack: o.sackPermitted === true, tsVal: o.timestamp?.value,
    };
    if (this.cfg.replicateSetup?.(rec) !== true) return;
    // Nothing the client sends is acknowledged before the splice: if we fail, it is sent again to the peer.
    conn.setAckLimit((syn.seq + 1) >>> 0);
    this.setupOf.set(key, rec);
    if (!this.setupHeld.has(key)) {
      this.setupHeld.set(key, { id: rec.id, frames: [], deadlineUs: this.nowUs + (this.cfg.holdTimeoutUs ?? 100_000) });
      this.setupIds.set(rec.id, key);
    }
  }

  /** The session of `key` ends without a splice: the peer's setup record goes. */
  private setupEnded(key: string): void {
    const rec = this.setupOf.get(key);
    if (rec === undefined) return;
    this.setupOf.delete(key);
    this.cfg.onSetupRemoved?.(rec);
  }

  private register(tuple: FourTuple, conn: TcpConnection): SpliceEngine {
    const e = new SpliceEngine(conn);
    this.engines.set(tupleKey(tuple), e);
    return e;
  }

  // ---- FrameEndpoint ---------------------------------------------------------

  handleFrame(ifIndex: number, frame: Uint8Array, nowUs: number): void {
    this.nowUs = nowUs;
    const k = ifIndex === 0 ? this.classify(frame) : undefined;
    if (k !== undefined) {
      this.learnMac(k.srcIp, frame);
      const sp = this.table.get(k.key);
      if (sp !== undefined) {
        if (!this.isClientSyn(sp, k, frame)) { this.forward(sp, k, frame, nowUs); return; }
        if (this.synOnSplice(sp, k, frame, nowUs)) return;
        // The splice ended and went: the SYN opens a new connection below.
      }
      // Shared mode: a client whose setup a failed peer had replicated reaches us first.
      if (this.replicaSetups.size > 0 && !this.standby && this.replicaSetups.has(k.key)) this.restoreSetup(k.key, nowUs);
      const s = this.awaiting.get(k.key);
      if (s !== undefined && this.trySplice(s, k, frame, nowUs)) return;
      if (this.failover.waiting(k.key) && this.failover.trySwitch(k, frame, nowUs)) return;
      if (this.keepAlive.waiting(k.key) && this.keepAlive.trySwitch(k, frame, nowUs)) return;
      if (this.quietUnknown && !this.hostHolds(k, frame)) { this.inc('drop-joining'); return; }
    }
    this.host.handleFrame(ifIndex, frame, nowUs);
  }

  /**
   * While a splicer joins the others (shared-node.ts), a segment of a connection it holds
   * nothing of yet is dropped, not answered with a RST: its splice is on the way from a peer,
   * and the sender retransmits. A client's SYN still opens a connection here.
   */
  quietUnknown = false;

  private hostHolds(k: FrameKey, f: Uint8Array): boolean {
    if ((f[k.tcpOff + 13]! & 0x12) === 0x02) return true;
    const localPort = (f[k.tcpOff + 2]! << 8) | f[k.tcpOff + 3]!;
    const remotePort = (f[k.tcpOff]! << 8) | f[k.tcpOff + 1]!;
    return this.engines.has(tupleKey({ localIp: this.serviceIp, localPort, remoteIp: k.srcIp, remotePort }));
  }

  handleTimeout(nowUs: number): void {
    this.nowUs = nowUs;
    this.host.handleTimeout(nowUs);
    if (this.nextSweepUs !== undefined && nowUs >= this.nextSweepUs) this.sweep(nowUs);
    for (const [id, h] of this.held) {
      if (nowUs >= h.deadlineUs) { this.inc('replication-hold-timeout'); this.replicated(id); }
    }
    for (const h of this.setupHeld.values()) {
      if (nowUs >= h.deadlineUs) { this.inc('setup-hold-timeout'); this.replicated(h.id); }
    }
    if (!this.standby) this.failover.handleTimeout(nowUs);
    this.closer.handleTimeout(nowUs);
  }

  pollTransmit(): OutgoingFrame | undefined {
    if (this.txHead < this.txq.length) {
      const frame = this.txq[this.txHead]!;
      this.txq[this.txHead++] = EMPTY;
      if (this.txHead === this.txq.length) { this.txq.length = 0; this.txHead = 0; }
      return { ifIndex: 0, frame };
    }
    return this.pollHost();
  }

  /** Our stack's next frame, holding those to clients whose setup the peer does not hold yet. */
  private pollHost(): OutgoingFrame | undefined {
    for (;;) {
      const out = this.host.pollTransmit();
      if (out === undefined || this.setupHeld.size === 0) return out;
      // Our stack's segments to a client whose setup the peer does not hold yet wait (SYN-ACK first).
      const f = out.frame;
      if (f.length < ETHERNET_HEADER_LEN + 40 || f[12] !== 0x08 || f[13] !== 0x00 || f[ETHERNET_HEADER_LEN + 9] !== 6) return out;
      const t = ETHERNET_HEADER_LEN + (f[ETHERNET_HEADER_LEN]! & 0x0f) * 4;
      const dst = ((f[30]! << 24) | (f[31]! << 16) | (f[32]! << 8) | f[33]!) >>> 0;
      const h = this.setupHeld.get(keyOf(dst, (f[t + 2]! << 8) | f[t + 3]!, (f[t]! << 8) | f[t + 1]!));
      if (h === undefined) return out;
      if (h.frames.length < HELD_FRAMES_MAX) h.frames.push(f.slice());
      else this.inc('drop-setup-held-full');
    }
  }

  pollDeadline(): number | undefined {
    const h = this.host.pollDeadline();
    const needSweep = !this.standby && (this.table.size > 0 || this.sessions.size > 0);
    if (needSweep && this.nextSweepUs === undefined) this.nextSweepUs = this.nowUs + this.c.sweepIntervalUs;
    if (!needSweep) this.nextSweepUs = undefined;
    let s = this.nextSweepUs;
    for (const x of this.held.values()) s = s === undefined ? x.deadlineUs : Math.min(s, x.deadlineUs);
    for (const x of this.setupHeld.values()) s = s === undefined ? x.deadlineUs : Math.min(s, x.deadlineUs);
    const cl = this.closer.deadline();
    if (cl !== undefined) s = s === undefined ? cl : Math.min(s, cl);
    const f = this.standby ? undefined : this.failover.deadline();
    if (f !== undefined) s = s === undefined ? f : Math.min(s, f);
    if (h === undefined) return s;
    if (s === undefined) return h;
    return Math.min(h, s);
  }

  // ---- observation -----------------------------------------------------------

  spliceCount(): number { return this.table.size / 2; }
  /** This splice is still the one held for its client (not removed or replaced since). */
  isCurrent(sp: SpliceState): boolean { return this.table.get(keyOf(sp.client.ip, sp.client.port, sp.client.localPort)) === sp; }
  sessionCount(): number { return this.sessions.size; }
  splices(): SpliceState[] { return [...new Set(this.table.values())]; }
  counters(): Record<string, number> {
    return Object.fromEntries([...this.counter.entries()].sort(([a], [b]) => (a < b ? -1 : 1)));
  }
  private inc(name: string, n = 1): void { this.counter.set(name, (this.counter.get(name) ?? 0) + n); }

  // ---- the hot path ------------------------------------------------------------

  /** Fixed-offset look at a frame: TCP to the service address, unfragmented? Returns the table key. */
  private classify(f: Uint8Array): FrameKey | undefined {
    if (f.length < ETHERNET_HEADER_LEN + 40) return undefined;
    if (f[12] !== 0x08 || f[13] !== 0x00) return undefined;
    for (let i = 0; i < 6; i++) if (f[i] !== this.serviceMac[i]) return undefined;
    const ipOff = ETHERNET_HEADER_LEN;
    if ((f[ipOff]! >>> 4) !== 4 || f[ipOff + 9] !== 6) return undefined;
    const ihl = (f[ipOff]! & 0x0f) * 4;
    const total = (f[ipOff + 2]! << 8) | f[ipOff + 3]!;
    if (ihl < 20 || total < ihl + 20 || ipOff + total > f.length) return undefined;
    if ((((f[ipOff + 6]! << 8) | f[ipOff + 7]!) & 0x3fff) !== 0) return undefined;      // a fragment: the host drops it
    const dst = ((f[ipOff + 16]! << 24) | (f[ipOff + 17]! << 16) | (f[ipOff + 18]! << 8) | f[ipOff + 19]!) >>> 0;
    if (dst !== this.serviceIp) return undefined;
    const srcIp = ((f[ipOff + 12]! << 24) | (f[ipOff + 13]! << 16) | (f[ipOff + 14]! << 8) | f[ipOff + 15]!) >>> 0;
    const tcpOff = ipOff + ihl;
    const doff = (f[tcpOff + 12]! >>> 4) * 4;
    if (doff < 20 || tcpOff + doff > ipOff + total) return undefined;
    const srcPort = (f[tcpOff]! << 8) | f[tcpOff + 1]!;
    const dstPort = (f[tcpOff + 2]! << 8) | f[tcpOff + 3]!;
    return { key: `${srcIp}:${srcPort}:${dstPort}`, srcIp, ipOff, tcpOff, tcpEnd: ipOff + total };
  }

  private learnMac(ip: number, frame: Uint8Array): void {
    const known = this.macByIp.get(ip);
    if (known !== undefined && macEquals(known, frame.subarray(6, 12))) return;
    if (known === undefined && this.macByIp.size >= 65_536) this.macByIp.delete(this.macByIp.keys().next().value!);
    this.macByIp.set(ip, frame.slice(6, 12));
  }

  private forward(sp: SpliceState, k: FrameKey, frame: Uint8Array, nowUs: number): void {
    if (this.txq.length - this.txHead >= this.c.txQueueMax) { this.inc('drop-tx-queue-full'); return; }
    const dir = k.key === keyOf(sp.client.ip, sp.client.port, sp.client.localPort) ? 'c2b' : 'b2c';
    if (sp.resplicing) {
      // The back end is being replaced: nothing to deliver the client's packets to (it retransmits).
      if (dir === 'c2b') this.inc('drop-c2b-resplicing');
      return;
    }
    // Splice state is updated from header fields, so a damaged packet must not reach it: the
    // 20-byte IP header is always checked; the TCP checksum for the client's (small) packets
    // and for any FIN/RST/SYN. Other damaged data segments are forwarded with the damage
    // (RFC 1624 patching preserves it) and the receiver drops them.
    if (internetChecksum(frame, k.ipOff, k.tcpOff - k.ipOff) !== 0) { this.inc('drop-bad-ip-checksum'); return; }
    if (this.untouched.size > 0 && this.untouched.delete(sp)) {
      sp.lastC2BUs = nowUs; sp.lastB2CUs = nowUs; this.inc('replica-forwarded');
      if (!this.router.isUp(sp.backendId, nowUs)) {
        // A peer's connection whose back end this box has found down: it was that peer's to
        // re-splice, and its packets come here now, so it moves here. The replica is as old as
        // the peer's last update: the client's segment (the answer to our probe, typically)
        // goes into the state first, as if forwarded, for where the client is; the dead back
        // end would have dropped it anyway.
        this.inc('replica-backend-down');
        if (dir === 'c2b' && tcpChecksumOk(frame, k)) rewriteSegment(sp, dir, frame.slice(0, k.tcpEnd), k.ipOff, k.tcpOff, k.tcpEnd, this.serviceMac, nowUs, this.timers);
        this.failover.start(sp, new Set([sp.backendId]));
        return;
      }
    }
    if ((dir === 'c2b' || (frame[k.tcpOff + 13]! & 0x07) !== 0) && !tcpChecksumOk(frame, k)) { this.inc(`drop-${dir}-bad-checksum`); return; }
    if (this.closer.has(sp)) { if (dir === 'c2b') this.closer.input(sp, frame, k, nowUs); return; }
    // The response's framing comes from its first segment, before that segment's own FIN/RST is
    // judged: a back end that dies right after writing the head closes with it.
    if (dir === 'b2c' && sp.respHeadLen === undefined) this.learnResponseFraming(sp, frame, k);
    if (dir === 'b2c' && (frame[k.tcpOff + 13]! & 0x01) !== 0 && sp.respHeadLen === undefined && sp.split !== true
      && seqDiff(sp.clientAcked, sp.respStart) <= 0 && this.beyondResponseStart(sp, frame, k)) {
      // A FIN after response bytes whose head has not come by yet (lost on the way; the client
      // has none of it either): the response may be cut short, and that cannot be told yet.
      // Not forwarded; the back end sends it again after the head, which gives the framing.
      this.inc('drop-fin-before-head');
      return;
    }
    if (dir === 'b2c' && (frame[k.tcpOff + 13]! & 0x05) !== 0 && this.closedEarly(sp, frame, k)) {
      // The back end's process died (its kernel closed the socket) before the whole
      // response: a back-end failure like a silent one, so the client is not told.
      if ((frame[k.tcpOff + 13]! & 0x01) !== 0 && !this.failover.canDecide(sp)) {
        // The client's ACK of the head is still on the way: the FIN comes again (the back
        // end's kernel retransmits it), and by then the client's position is known.
        this.inc('drop-fin-client-position-unknown');
        return;
      }
      this.inc('backend-closed-early');
      this.event('backend-failed', `${sp.backendId} closed #${sp.id} before the end of the response`);
      this.router.markDown(sp.backendId, nowUs + this.c.backendDownUs);
      this.failover.start(sp, new Set([sp.backendId]));
      return;
    }
    // A later request on a kept-alive connection is read before it goes anywhere (keepalive.ts).
    if (dir === 'c2b' && sp.reqEnd !== undefined && this.keepAlive.intercepts(sp, frame, k)) { this.keepAlive.intercept(sp, k, frame, nowUs); return; }
    // The driver may reuse its buffer: rewrite a copy (link padding beyond the IP packet is cut).
    const out = frame.slice(0, k.tcpEnd);
    const capped = sp.capAcks === true;
    const open = sp.expiresUs === undefined;
    const sentBefore = sp.b2cNxt;
    rewriteSegment(sp, dir, out, k.ipOff, k.tcpOff, k.tcpEnd, this.serviceMac, nowUs, this.timers);
    // Peers hear when a splice has ended (they would take it over as open, probe its client
    // and hold its ports), and when capping stops (one that forwards only its client side).
    // While capping, a shared box that forwards only the client's side caps the client's ACKs
    // at the b2cNxt it was last told: each advance of the replacement goes to the peers, or
    // they hold its ACKs at its first byte and it stalls. Bounded: the cap ends at capUntil,
    // what the failed back end had sent (without SACK there is no end, and no update).
    if ((open && sp.expiresUs !== undefined) || (capped && sp.capAcks !== true)
      || (this.cfg.shared === true && capped && sp.capUntil !== undefined && sp.b2cNxt !== sentBefore)) this.cfg.onSpliceUpdated?.(sp);
    this.inc(`forward-${dir}`);
    if (dir === 'c2b' && this.keepAlive.size() > 0) this.keepAlive.poke(sp, nowUs);
    const h = this.held.size > 0 ? this.held.get(sp.id) : undefined;
    if (h === undefined) this.txq.push(out);
    else if (h.frames.length < HELD_FRAMES_MAX) h.frames.push(out);
    else this.inc('drop-held-full');                  // TCP retransmits it
  }

  /** A bare SYN (no ACK) from the client side of a splice's tuple. */
  private isClientSyn(sp: SpliceState, k: FrameKey, f: Uint8Array): boolean {
    return (f[k.tcpOff + 13]! & 0x12) === 0x02 && k.srcIp === sp.client.ip && k.key === keyOf(sp.client.ip, sp.client.port, sp.client.localPort);
  }

  /**
   * A client's SYN on the tuple of a splice is never forwarded: the back end would take it
   * for a new connection on the old back-end tuple (its listener accepts it, or its
   * TIME-WAIT does, RFC 9293 §3.10.7.4) and serve it outside the splicer, which drops it
   * with RSTs when the old splice expires. A splice that has ended (both FINs acknowledged,
   * or a RST seen) is in its linger time, the analogue of TIME-WAIT: the client reused the
   * port, so the splice goes and the SYN opens a new connection here (RFC 9293 §3.6.1,
   * RFC 6191). On a splice still open the SYN gets a challenge ACK in the client's space
   * (RFC 5961 §4); a client that has really moved on answers it with a RST, which ends the
   * splice on both sides, and its next SYN finds the splice ended. Returns true when the
   * frame is dealt with here and false when the host should take it as a new connection.
   */
  private synOnSplice(sp: SpliceState, k: FrameKey, frame: Uint8Array, nowUs: number): boolean {
    if (internetChecksum(frame, k.ipOff, k.tcpOff - k.ipOff) !== 0 || !tcpChecksumOk(frame, k)) { this.inc('drop-c2b-bad-checksum'); return true; }
    if (sp.expiresUs !== undefined) {
      this.removeSplice(sp, 'port-reused');
      return false;
    }
    const last = this.challengedUs.get(sp);
    if (last !== undefined && nowUs - last < CHALLENGE_ACK_INTERVAL_US) { this.inc('syn-challenge-limited'); return true; }
    this.challengedUs.set(sp, nowUs);
    this.closer.challengeAck(sp);
    this.inc('syn-challenge-ack');
    return true;
  }

  /**
   * A FIN before the last byte of a response of known length, or a RST while the client
   * still lacks part of it (and has not closed itself): the back end quit mid-response.
   */
  private closedEarly(sp: SpliceState, f: Uint8Array, k: FrameKey): boolean {
    if (sp.respHeadLen === undefined || sp.respHeadLen === 0xffffffff || sp.respBodyLen === undefined || sp.finClient !== undefined) return false;
    const respEnd = sp.respStart + sp.respHeadLen + sp.respBodyLen;
    if ((f[k.tcpOff + 13]! & 0x04) !== 0) return seqDiff(sp.clientAcked, sp.respStart) < sp.respHeadLen + sp.respBodyLen;
    const seq = ((f[k.tcpOff + 4]! << 24) | (f[k.tcpOff + 5]! << 16) | (f[k.tcpOff + 6]! << 8) | f[k.tcpOff + 7]!) >>> 0;
    const payload = k.tcpEnd - k.tcpOff - (f[k.tcpOff + 12]! >>> 4) * 4;
    return seqDiff((seq + sp.seqB2C + payload) >>> 0, respEnd >>> 0) < 0;
  }

  private sweep(nowUs: number): void {
    this.nextSweepUs = nowUs + this.c.sweepIntervalUs;
    for (const sp of this.splices()) {
      if (this.untouched.has(sp)) {                     // another splicer forwards it
        // ... on a back end this box found down. If that splicer is lost too, nothing but the
        // client's answer to a probe brings the connection here to be re-spliced (the client
        // waits in silence for data): probed again, a bounded number of times, in case an
        // answer was lost. A live owner re-splices it itself, and its update ends this.
        if (!sp.rst && !sp.resplicing && !this.router.isUp(sp.backendId, nowUs)) {
          const n = this.downProbes.get(sp) ?? 0;
          if (n < DOWN_PROBES_MAX) { this.downProbes.set(sp, n + 1); this.closer.probe(sp, this.probeTsVal(sp, nowUs)); this.inc('replica-down-probe'); }
        }
        // A copy no box has said it carries for two idle timeouts: silent everywhere. Dropped
        // here only: each box that held it comes to the same end.
        if (this.cfg.shared === true && sp.expiresUs === undefined) {
          const heard = Math.max(this.aliveAtUs.get(sp) ?? 0, this.replicaAtUs.get(sp) ?? 0);
          if (nowUs - heard >= 2 * this.c.idleTimeoutUs) {
            this.removeReplica(sp.client.ip, sp.client.port, sp.client.localPort);
            this.inc('replica-expired');
          }
        }
        continue;
      }
      const halfDead = sp.finClient !== undefined || sp.finBackend !== undefined;
      const idleLimit = halfDead ? this.c.halfClosedTimeoutUs : this.c.idleTimeoutUs;
      if (this.cfg.shared === true && sp.expiresUs === undefined) {
        // With several active splicers a connection's two directions may reach different boxes
        // (flows hashed again after a loss), or both may move on to another box: one that sees
        // neither move for the idle timeout no longer carries it, and leaves it to whichever
        // does (that box's 'alive' messages keep this copy; without them it expires above).
        if (nowUs - Math.max(sp.lastC2BUs, sp.lastB2CUs) >= idleLimit) {
          this.untouched.add(sp);
          this.aliveAtUs.set(sp, nowUs);
          this.inc('splice-released-idle');
        }
        continue;
      }
      // Either direction silent that long: idle, or one end is gone while the other retransmits.
      if ((sp.expiresUs !== undefined && nowUs >= sp.expiresUs) || nowUs - Math.min(sp.lastC2BUs, sp.lastB2CUs) >= idleLimit) {
        this.removeSplice(sp, sp.expiresUs !== undefined && nowUs >= sp.expiresUs ? (sp.rst ? 'rst' : 'fin') : 'idle');
      }
    }
    for (const s of [...this.sessions.values()]) {
      if (s.phase === 'head' && nowUs - s.startUs >= this.c.headTimeoutUs) this.sendError(s, 408, 'request head timeout');
    }
    if (this.cfg.shared === true && nowUs >= this.nextAliveUs) {
      this.nextAliveUs = nowUs + this.c.idleTimeoutUs / 4;
      const carried = this.splices().filter((sp) => !this.untouched.has(sp) && sp.expiresUs === undefined);
      if (carried.length > 0) this.cfg.onSplicesAlive?.(carried);
    }
  }

  /** Several active splicers: a peer carries these splices (by client side: ip, port, local port, ...). */
  replicasAlive(c: readonly number[]): void {
    for (let i = 0; i + 2 < c.length; i += 3) {
      const sp = this.table.get(keyOf(c[i]!, c[i + 1]!, c[i + 2]!));
      if (sp !== undefined && this.untouched.has(sp)) this.aliveAtUs.set(sp, this.nowUs);
    }
  }

  /** A back-end segment (not yet rewritten) whose data or FIN lies beyond response byte 0. */
  private beyondResponseStart(sp: SpliceState, f: Uint8Array, k: FrameKey): boolean {
    const seq = ((f[k.tcpOff + 4]! << 24) | (f[k.tcpOff + 5]! << 16) | (f[k.tcpOff + 6]! << 8) | f[k.tcpOff + 7]!) >>> 0;
    const payload = k.tcpEnd - k.tcpOff - (f[k.tcpOff + 12]! >>> 4) * 4;
    return seqDiff((seq + sp.seqB2C + payload) >>> 0, sp.respStart) > 0;
  }

  /** The first response segment (at response byte 0; a back-end frame not yet rewritten) gives the head length and body length, once. */
  private learnResponseFraming(sp: SpliceState, out: Uint8Array, k: { tcpOff: number; tcpEnd: number }): void {
    const doff = (out[k.tcpOff + 12]! >>> 4) * 4;
    if (k.tcpEnd - k.tcpOff - doff <= 0) return;
    const seq = ((out[k.tcpOff + 4]! << 24) | (out[k.tcpOff + 5]! << 16) | (out[k.tcpOff + 6]! << 8) | out[k.tcpOff + 7]!) >>> 0;
    if (((seq + sp.seqB2C) >>> 0) !== sp.respStart) return;
    const info = parseResponseHeadPrefix(out.subarray(k.tcpOff + doff, k.tcpEnd));
    sp.respHeadLen = info?.headLen ?? 0xffffffff;          // 0xffffffff: looked, framing unknown (not resumable)
    if (info !== undefined && info.status === 200 && info.contentLength !== undefined) sp.respBodyLen = info.contentLength;
    if (sp.reqEnd !== undefined) {
      // RFC 9112 §6.3: HEAD, 204 and 304 responses end with the head; otherwise Content-Length
      // frames the body. Anything else (1xx, chunked, close-delimited) keeps the connection on this back end.
      const body = info === undefined || info.status < 200 ? undefined
        : (sp.headOnly === true || info.status === 204 || info.status === 304) ? 0 : info.contentLength;
      if (body === undefined) sp.pinned = true;
      else sp.respEnd = (sp.respStart + info!.headLen + body) >>> 0;
    }
    this.cfg.onSpliceUpdated?.(sp);
  }

  // ---- replication -------------------------------------------------------------

  /** Routing state of a splice changed: hold its packets until the peer has it (replication). */
  private replicateHold(sp: SpliceState): void {
    if (this.cfg.replicate?.(sp) === true && !this.held.has(sp.id)) this.held.set(sp.id, { frames: [], deadlineUs: this.nowUs + (this.cfg.holdTimeoutUs ?? 100_000) });
  }

  /** The peer holds splice `id`: release its held packets in arrival order. */
  replicated(id: number): void {
    const key = this.setupIds.get(id);
    if (key !== undefined) {
      this.setupIds.delete(id);
      const sh = this.setupHeld.get(key);
      this.setupHeld.delete(key);
      for (const f of sh?.frames ?? []) {
        if (this.txq.length - this.txHead >= this.c.txQueueMax) { this.inc('drop-tx-queue-full'); continue; }
        this.txq.push(f);
      }
      return;
    }
    const h = this.held.get(id);
    if (h === undefined) return;
    this.held.delete(id);
    for (const f of h.frames) {
      if (this.txq.length - this.txHead >= this.c.txQueueMax) { this.inc('drop-tx-queue-full'); continue; }
      this.txq.push(f);
    }
  }

  /** Installs a splice replicated from a peer (forwarded once this box is active). */
  installReplica(sp: SpliceState): boolean {
    const ck = keyOf(sp.client.ip, sp.client.port, sp.client.localPort);
    const bk = keyOf(sp.backend.ip, sp.backend.port, sp.backend.localPort);
    const old = this.table.get(ck);
    if (old === undefined && this.table.size / 2 >= this.c.maxSplices) { this.inc('replica-limit'); return false; }
    if (old !== undefined) this.table.delete(keyOf(old.backend.ip, old.backend.port, old.backend.localPort));
    this.table.set(ck, sp);
    this.table.set(bk, sp);
    this.replicaSetups.delete(ck);
    if (old !== undefined) this.untouched.delete(old);
    if (this.cfg.shared === true) this.untouched.add(sp);
    this.replicaAtUs.set(sp, this.nowUs);
    this.inc(old === undefined ? 'replica-installed' : 'replica-updated');
    return true;
  }

  /** Keeps a peer's setup record (standby): the connection is rebuilt from it on takeover unless spliced before. */
  installSetup(rec: SetupRecord): boolean {
    const key = keyOf(rec.clientIp, rec.clientPort, rec.localPort);
    if (this.table.has(key)) return true;
    if (!this.replicaSetups.has(key) && this.replicaSetups.size >= this.c.maxSessions) {
      this.replicaSetups.delete(this.replicaSetups.keys().next().value!);       // the oldest goes
      this.inc('setup-replica-evicted');
    }
    this.replicaSetups.set(key, { ...rec });
    this.inc('setup-replica-installed');
    return true;
  }

  /** Drops a replica by its client side (the peer removed the splice or the setup). */
  removeReplica(clientIp: number, clientPort: number, localPort: number): void {
    if (this.replicaSetups.delete(keyOf(clientIp, clientPort, localPort))) this.inc('setup-replica-removed');
    const sp = this.table.get(keyOf(clientIp, clientPort, localPort));
    if (sp === undefined) return;
    this.table.delete(keyOf(sp.client.ip, sp.client.port, sp.client.localPort));
    this.table.delete(keyOf(sp.backend.ip, sp.backend.port, sp.backend.localPort));
    this.untouched.delete(sp);
    this.inc('replica-removed');
  }

  /** Standby → active (takeover): expire replicas from now on, and claim the service address (gratuitous ARP). */
  activate(nowUs: number): void {
    this.nowUs = nowUs;
    this.standby = false;
    // Replicas carry what the client had acknowledged when they were sent: ask each client for its
    // current ACK (a back-end failure after the takeover re-splices from that byte).
    this.failover.restartHealth(nowUs);
    this.host.announce(nowUs);
    // The gratuitous ARP goes first, so the answers to the probes come to this box.
    for (let f = this.host.pollTransmit(); f !== undefined; f = this.host.pollTransmit()) this.txq.push(f.frame);
    for (const sp of this.splices()) {
      sp.lastC2BUs = nowUs;
      sp.lastB2CUs = nowUs;
      if (sp.expiresUs !== undefined) {
        // Ended (both FINs, or a RST) and lingering at the failed box: it lingers here from now
        // (its deadline was on that box's clock), and its client has nothing left to be asked.
        sp.expiresUs = nowUs + (sp.rst ? this.timers.rstLingerUs : this.timers.finLingerUs);
        continue;
      }
      this.closer.probe(sp, this.probeTsVal(sp, nowUs));
    }
    this.restoreSetups(nowUs);
  }

  /**
   * Takeover: client connections the failed box was still setting up are rebuilt from their
   * SYN and its ISN (same sequence numbers and timestamp offset). Our SYN-ACK, or the client's
   * retransmitted request, completes the handshake; nothing of the request had been acknowledged,
   * so the client sends it again and a fresh session reads it.
   */
  private restoreSetups(nowUs: number): void {
    for (const key of [...this.replicaSetups.keys()]) this.restoreSetup(key, nowUs);
    this.replicaSetups.clear();
  }

  private restoreSetup(key: string, nowUs: number): void {
    const r = this.replicaSetups.get(key);
    this.replicaSetups.delete(key);
    {
      if (r === undefined || this.table.has(key)) return;
      const tuple: FourTuple = { localIp: this.serviceIp, localPort: r.localPort, remoteIp: r.clientIp, remotePort: r.clientPort };
      const syn: TcpRepr = {
        srcPort: r.clientPort, dstPort: r.localPort, seq: r.irs, ack: 0, flags: tcpFlags({ syn: true }), window: r.window, urgentPointer: 0,
        options: {
          ...(r.mss !== undefined ? { mss: r.mss } : {}), ...(r.ws !== undefined ? { windowScale: r.ws } : {}),
          ...(r.sack ? { sackPermitted: true } : {}), ...(r.tsVal !== undefined ? { timestamp: { value: r.tsVal, echo: 0 } } : {}),
        },
        payload: EMPTY,
      };
      try {
        const engine = this.register(tuple, TcpConnection.accept(this.frontTcp, tuple, syn, r.iss, nowUs));
        this.host.adoptTcp(tuple, engine, (c) => this.onClient(c), nowUs);
        // Our SYN-ACK goes out now: the client's segment in hand acknowledges it (RFC 9293 §3.10.7.3).
        for (let f = this.pollHost(); f !== undefined; f = this.pollHost()) this.txq.push(f.frame);
        this.inc('setup-restored');
      } catch {
        this.engines.delete(tupleKey(tuple));
        this.inc('setup-restore-failed');
      }
    }
  }

  isStandby(): boolean { return this.standby; }

  /** Asks the clients of replicas no packet has reached yet for their current ACK (a peer failed). */
  probeReplicas(): void {
    for (const sp of this.untouched) if (!sp.rst && sp.expiresUs === undefined) this.closer.probe(sp, this.probeTsVal(sp, this.nowUs));
  }

  /**
   * TSval for a probe to the client of a replica. The replica's last TSval towards the client
   * is as old as the replica, and the client drops a segment whose TSval is older than the
   * last one it saw (RFC 7323 §5.3, PAWS) — Linux silently, for a pure ACK. The back end's
   * clock ran on meanwhile: add the time since (1 ms ticks, the fastest common clock; slower
   * clocks come out ahead, which is harmless) and a margin. A probe below the window never
   * becomes the client's TS.Recent (§4.3: only segments at or before Last.ACK.sent do).
   */
  private probeTsVal(sp: SpliceState, nowUs: number): number | undefined {
    if (sp.tsToClient === undefined) return undefined;
    const at = this.replicaAtUs.get(sp);
    if (at === undefined) return undefined;
    return (sp.tsToClient + Math.ceil(Math.max(0, nowUs - at) / 1000) + PROBE_TS_MARGIN_TICKS) >>> 0;
  }

  private removeSplice(sp: SpliceState, why: string): void {
    this.table.delete(keyOf(sp.client.ip, sp.client.port, sp.client.localPort));
    this.table.delete(keyOf(sp.backend.ip, sp.backend.port, sp.backend.localPort));
    this.held.delete(sp.id);
    this.untouched.delete(sp);
    this.closer.forget(sp);
    if (sp.resplicing) this.failover.cancel(sp);
    if (this.keepAlive.size() > 0) this.keepAlive.cancel(sp);
    this.cfg.onSpliceRemoved?.(sp);
    if (sp.split === true) this.sendSplit(sp.backend.ip, encodeControl({ t: 'remove', node: 0, clientIp: sp.client.ip, clientPort: sp.client.port, localPort: sp.client.localPort }), this.nowUs);
    this.inc(`splice-removed-${why}`);
    this.event('splice-removed', `#${sp.id} ${why}`);
  }

  private event(kind: SplicerEvent['kind'], text: string): void {
    this.onEvent?.({ tUs: this.nowUs, kind, text });
  }

  // ---- before the splice: sessions -------------------------------------------

  private onClient(conn: HostStreamConnection): StreamApp {
    const engine = this.engines.get(tupleKey(conn.tuple))!;
    const s: Session = {
      id: this.nextSessionId++, client: conn, clientEngine: engine, clientKey: keyOf(conn.tuple.remoteIp, conn.tuple.remotePort, conn.tuple.localPort),
      phase: 'head', startUs: this.nowUs, parser: new RequestHeadParser(this.c.headLimitBytes), head: undefined,
      pending: [], pendingBytes: 0, clientFin: false, backendFinQueued: false, backend: undefined, backendConn: undefined,
      backendEngine: undefined, backendKey: undefined, written: 0, tried: new Set(), requestText: undefined, sent: [],
    };
    if (this.sessions.size >= this.c.maxSessions) {
      this.inc('session-limit');
      engine.conn.setAckLimit(undefined);
      this.setupEnded(keyOf(conn.tuple.remoteIp, conn.tuple.remotePort, conn.tuple.localPort));
      s.phase = 'error-sent';
      conn.write(errorResponse(503, REASON[503]!, 'too many connections'));
      conn.end();
      return { onData: () => undefined, onEnd: () => undefined, onClose: () => this.engines.delete(tupleKey(conn.tuple)) };
    }
    this.sessions.set(s.id, s);
    return {
      onData: (d) => this.onClientData(s, d),
      onEnd: () => this.onClientEnd(s),
      onClose: () => this.onClientClose(s),
    };
  }

  private onClientData(s: Session, d: Uint8Array): void {
    if (s.phase === 'error-sent' || s.phase === 'closed') return;
    if (s.pendingBytes + d.length > PENDING_MAX_BYTES) {
      // More than a head plus a bounded body before the splice: stop reading (the client's window closes).
      s.client.pauseReading();
    }
    s.pending.push(d.slice());
    s.pendingBytes += d.length;
    if (s.phase === 'head') {
      const st = s.parser.push(d);
      if (st.kind === 'error') { this.sendError(s, st.error.status, `${st.error.code}: ${st.error.detail}`); return; }
      if (st.kind === 'incomplete') return;
      s.head = st.head;
      const all = concatBytes(s.pending);
      const resumable = s.head.method === 'GET' && !s.head.headers.some((h) => /^(range|if-range|transfer-encoding|content-length)$/i.test(h.name));
      if (resumable && all.length === s.head.headBytes) s.requestText = new TextDecoder('latin1').decode(all);
      this.connectBackend(s);
      return;
    }
    this.pumpToBackend(s);
  }

  private onClientEnd(s: Session): void {
    s.clientFin = true;
    if (s.phase === 'head') { this.sendError(s, 400, 'connection half-closed before a complete request head'); return; }
    this.pumpToBackend(s);
  }

  private onClientClose(s: Session): void {
    this.engines.delete(tupleKey(s.client.tuple));
    if (s.phase === 'spliced') return;
    this.setupEnded(s.clientKey);
    s.phase = 'closed';
    this.sessions.delete(s.id);
    if (s.backendKey !== undefined) this.awaiting.delete(s.backendKey);
    s.backendConn?.destroy();
  }

  private sendError(s: Session, status: number, detail: string): void {
    if (s.phase === 'error-sent' || s.phase === 'closed' || s.phase === 'spliced') return;
    s.phase = 'error-sent';
    s.clientEngine.conn.setAckLimit(undefined);          // the answer acknowledges the request
    this.setupEnded(s.clientKey);
    if (s.backendKey !== undefined) this.awaiting.delete(s.backendKey);
    s.backendConn?.destroy();
    this.inc(`http-${status}`);
    this.event('error-response', `${s.client.id} ${status} ${detail}`);
    s.client.write(errorResponse(status, REASON[status] ?? 'Error', detail));
    s.client.end();
    s.client.resumeReading();
    s.pending = [];
    s.pendingBytes = 0;
  }

  private connectBackend(s: Session): void {
    const decision = this.router.choose(s.head!, this.nowUs, s.tried);
    if (decision.kind !== 'backend') {
      this.sendError(s, 503, decision.kind === 'no-route' ? 'no route for this request' : `no back end up in pool ${decision.pool}`);
      return;
    }
    const b = decision.backend;
    s.tried.add(b.id);
    s.backend = b;
    s.phase = 'connecting';
    s.written = 0;
    const ci = s.clientEngine.conn.info();
    // Options compatible with the client's (so translation is exact): the back end may send
    // segments up to the client's MSS; window scale, SACK and timestamps only if the client has them.
    const conn = this.connectFrom(b.ip, b.port, {
      ...this.frontTcp, mss: ci.sndMss, windowScale: ci.wsOn, sack: ci.sackOn, timestamps: ci.tsOn,
      synRetries: this.c.backendSynRetries, nagle: false,
    }, (bc) => this.backendApp(s, bc));
    if (conn === undefined) { this.sendError(s, 503, 'no local port for a back-end connection'); return; }
    s.backendConn = conn;
    s.backendEngine = this.engines.get(tupleKey(conn.tuple));
    s.backendKey = keyOf(conn.tuple.remoteIp, conn.tuple.remotePort, conn.tuple.localPort);
  }

  private backendApp(s: Session, bc: HostStreamConnection): StreamApp {
    return {
      onOpen: () => {
        const e = s.backendEngine!;
        const bi = e.conn.info();
        const ci = s.clientEngine.conn.info();
        // The back end's response is never acknowledged by our stack before the splice (only its
        // SYN): bytes it sends early are retransmitted by it and reach the client through the splice.
        e.conn.setAckLimit((bi.irs + 1) >>> 0);
        if (bi.tsOn !== ci.tsOn) {
          // Timestamps on one connection only cannot be translated (RFC 7323 §3.2: every segment carries TSopt).
          this.inc('backend-option-mismatch');
          this.sendError(s, 502, 'back end does not negotiate the client\'s TCP timestamps');
          return;
        }
        s.phase = 'awaiting-ack';
        this.awaiting.set(s.backendKey!, s);
        this.pumpToBackend(s);
      },
      onData: () => undefined,          // held unacknowledged by the ACK limit; the back end resends after the splice
      onEnd: () => undefined,
      onClose: (reason) => {
        this.engines.delete(tupleKey(bc.tuple));
        if (s.phase === 'spliced' || s.phase === 'closed' || s.phase === 'error-sent') return;
        if (s.backendConn !== bc) return;
        this.awaiting.delete(s.backendKey!);
        s.backendConn = undefined;
        s.backendEngine = undefined;
        s.backendKey = undefined;
        // The request never reached a response: try another back end (the client saw nothing yet).
        this.inc('backend-failed');
        this.event('backend-failed', `${s.backend!.id} ${reason}`);
        this.router.markDown(s.backend!.id, this.nowUs + this.c.backendDownUs);
        // What the failed back end was sent goes to the next one (bounded: the pre-splice buffer).
        s.pending = [...s.sent, ...s.pending];
        s.pendingBytes = s.pending.reduce((a, c) => a + c.length, 0);
        s.sent = [];
        s.backendFinQueued = false;
        this.connectBackend(s);
      },
    };
  }

  /** Writes held client bytes (and a half-close) into the back-end connection. */
  private pumpToBackend(s: Session): void {
    if (s.phase !== 'awaiting-ack' || s.backendConn === undefined) return;
    while (s.pending.length > 0) {
      const head = s.pending[0]!;
      const n = s.backendConn.write(head);
      s.written += n;
      s.pendingBytes -= n;
      if (n > 0) s.sent.push(head.subarray(0, n));
      if (n < head.length) { s.pending[0] = head.subarray(n); break; }
      s.pending.shift();
    }
    if (s.pendingBytes <= PENDING_MAX_BYTES / 2) s.client.resumeReading();
    if (s.pending.length === 0 && s.clientFin && !s.backendFinQueued) {
      s.backendFinQueued = true;
      s.backendConn.end();
    }
  }

  /**
   * Split splice: the back end gets the splice state and sends its data straight to the
   * client from then on. Its responses are no longer seen here, so the connection stays on
   * this back end (no per-request routing, no re-splice on its failure).
   */
  private startSplit(sp: SpliceState, nowUs: number): void {
    sp.split = true;
    sp.pinned = true;
    this.sendSplit(sp.backend.ip, encodeControl({ t: 'splice', node: 0, s: sp }), nowUs);
    this.inc('split-started');
  }

  /** A split-splice message to a back end (sealed when keyed; a restarted splicer must use a higher epoch). */
  private sendSplit(ip: number, body: Uint8Array, nowUs: number): void {
    const sc = this.cfg.split;
    const bytes = sc?.key === undefined ? body : sealControl(body, sc.key, { sender: sc.sender ?? 0, epoch: sc.epoch ?? 0, seq: this.splitSeq++ });
    this.host.udpSend(ip, sc?.port ?? SPLIT_CONTROL_PORT, sc?.port ?? SPLIT_CONTROL_PORT, bytes, nowUs);
  }

  /** Where the first request ends in client space (per-request routing), or nothing when that is off or unknown. */
  private requestFraming(s: Session, irs: number): Partial<SpliceState> {
    if (this.cfg.perRequestRouting === false || s.head === undefined) return {};
    const h = (n: string): string | undefined => s.head!.headers.find((x) => x.name.toLowerCase() === n)?.value;
    const cl = Number(h('content-length') ?? '0');
    if (h('transfer-encoding') !== undefined || !Number.isSafeInteger(cl) || cl < 0) return {};
    return { reqEnd: (irs + 1 + s.head.headBytes + cl) >>> 0, headOnly: s.head.method === 'HEAD' };
  }

  /**
   * A frame from the back end of a session waiting for its request to be acknowledged.
   * If it acknowledges every byte we sent, splice now and forward this very frame
   * (its payload is the start of the response). Otherwise the host handles it.
   */
  private trySplice(s: Session, k: FrameKey, frame: Uint8Array, nowUs: number): boolean {
    const be = s.backendEngine;
    if (s.phase !== 'awaiting-ack' || be === undefined || s.pending.length > 0) return false;
    const ip = parseIpv4Packet(frame.subarray(k.ipOff));
    if (!ip.ok) return false;
    const seg = parseTcpSegment(ip.value.payload, ip.value.src, ip.value.dst);
    if (!seg.ok) return false;
    const t = seg.value;
    if (t.flags.syn || t.flags.rst || !t.flags.ack) return false;
    const bi = be.conn.info();
    const expectAck = (bi.iss + 1 + s.written + (s.backendFinQueued ? 1 : 0)) >>> 0;
    if (t.ack !== expectAck || bi.sndMax !== expectAck) return false;
    const ce = s.clientEngine;
    if (ce.readableBytes() > 0) return false;
    const ci = ce.conn.info();
    if (ci.sndMax !== ((ci.iss + 1) >>> 0)) return false;    // we sent the client data: no longer spliceable
    if (this.table.size / 2 >= this.c.maxSplices) { this.inc('splice-limit'); return false; }
    const clientMac = this.macByIp.get(s.client.tuple.remoteIp);
    if (clientMac === undefined) return false;
    const cv = ce.conn.snapshot().vars;
    const bv = be.conn.snapshot().vars;
    const nowMs = Math.floor(nowUs / 1000);
    const backendTsVal = t.options.timestamp?.value ?? bv.tsRecent;
    const backendEcho = t.options.timestamp?.echo ?? 0;
    const sp: SpliceState = {
      id: this.nextSpliceId++,
      serviceIp: this.serviceIp,
      client: { ip: s.client.tuple.remoteIp, port: s.client.tuple.remotePort, mac: clientMac, localPort: s.client.tuple.localPort },
      backend: { ip: s.backendConn!.tuple.remoteIp, port: s.backendConn!.tuple.remotePort, mac: frame.slice(6, 12), localPort: s.backendConn!.tuple.localPort },
      backendId: s.backend!.id,
      // Client byte at ci.rcvNxt is back-end-side byte expectAck; back-end byte irs+1 is client-side iss+1.
      seqC2B: (expectAck - ci.rcvNxt) >>> 0,
      seqB2C: ((ci.iss + 1) - (bi.irs + 1)) >>> 0,
      // RFC 7323 §5.4: each side's TSvals continue from the last value it saw from us, so
      // PAWS (§5.3) accepts them. The client's latest TSval maps to the TSval of ours the back
      // end echoes in this very segment, so its echoes map back to real client TSvals (RTTM §4).
      tsC2B: ci.tsOn ? ((backendEcho !== 0 ? backendEcho : nowMs + bv.tsOffset) - cv.tsRecent) >>> 0 : undefined,
      // Likewise the back end's latest TSval maps to the last TSval we sent the client.
      tsB2C: ci.tsOn ? ((ce.lastTsValSent ?? nowMs + cv.tsOffset) - backendTsVal) >>> 0 : undefined,
      winC2B: { inShift: ci.sndWndShift, outShift: bi.rcvWndShift },
      winB2C: { inShift: bi.sndWndShift, outShift: ci.rcvWndShift },
      sackToBackend: bi.sackOn,
      finClient: s.clientFin ? ci.rcvNxt : undefined,
      finBackend: undefined,
      finClientAcked: s.clientFin,
      finBackendAcked: false,
      rst: false,
      lastC2BUs: nowUs,
      lastB2CUs: nowUs,
      expiresUs: undefined,
      packetsC2B: 0,
      packetsB2C: 0,
      clientAcked: (ci.iss + 1) >>> 0,
      clientNxt: ci.rcvNxt,
      clientTsVal: ci.tsOn ? cv.tsRecent : undefined,
      b2cNxt: (ci.iss + 1) >>> 0,
      tsToClient: ce.lastTsValSent,
      respStart: (ci.iss + 1) >>> 0,
      respHeadLen: undefined,
      respBodyLen: undefined,
      request: s.requestText !== undefined && s.requestText.length <= REQUEST_MAX_CHARS ? s.requestText : undefined,
      clientOpts: { mss: ci.sndMss, ws: ci.wsOn, sack: ci.sackOn, ts: ci.tsOn },
      resplicing: false,
      ...this.requestFraming(s, ci.irs),
    };
    this.table.set(s.clientKey, sp);
    this.table.set(s.backendKey!, sp);
    this.awaiting.delete(s.backendKey!);
    this.sessions.delete(s.id);
    this.setupOf.delete(s.clientKey);                    // the splice replaces the setup record at the peer
    s.phase = 'spliced';
    // Discard both connections: the host forgets them without a segment.
    ce.release();
    be.release();
    this.engines.delete(tupleKey(s.client.tuple));
    this.engines.delete(tupleKey(s.backendConn!.tuple));
    this.host.pokeTcp(s.client.tuple, nowUs);
    this.host.pokeTcp(s.backendConn!.tuple, nowUs);
    this.inc('spliced');
    this.event('spliced', `#${sp.id} ${formatIpv4(sp.client.ip)}:${sp.client.port} <-> ${s.backend!.id} ${formatIpv4(sp.backend.ip)}:${sp.backend.port} via :${sp.backend.localPort}`);
    if (s.backend!.split === true) this.startSplit(sp, nowUs);
    this.onSplice?.(sp);
    if (this.cfg.replicate?.(sp) === true) this.held.set(sp.id, { frames: [], deadlineUs: nowUs + (this.cfg.holdTimeoutUs ?? 100_000) });
    this.forward(sp, k, frame, nowUs);
    return true;
  }
}

