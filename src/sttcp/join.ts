// The serving box's side of a backup joining (DESIGN §ST-TCP 8): records of every live
// connection and its application, their chunked transfer, and the catch-up check that
// decides when the pair is in sync (JoinTransfer); and JoinHost, which starts, runs,
// abandons or completes a transfer as the joining backup's heartbeats come and go, and
// makes the backup required again once it holds everything. The backup's side is
// backup-replica.ts's; the encoding and chunking are snapshot-transfer.ts's.
import type { StreamApp } from '../stack/app.js';
import type { HostStreamConnection } from '../stack/tcp-demux.js';
import type { TcpConnection } from '../tcp/connection.js';
import { tupleKey, type FourTuple } from '../tcp/four-tuple.js';
import { seqAdd, seqGe } from '../tcp/seq.js';
import type { ControlMessage } from './control.js';
import type { RetentionBuffer } from './retention.js';
import { appSnapshot } from './app-state.js';
import { encodeRecords, SnapshotSender, type ConnRecord, type SharedRecord } from './snapshot-transfer.js';
import type { NodeCore } from './node-core.js';

/** Per connection on the primary: what the application read, kept until the backup acknowledges it. */
export interface RetentionEntry {
  buf: RetentionBuffer;
  conn: HostStreamConnection;
  paused: boolean;
  lastAckUs: number;
  /** Retention pushes since the backup's acknowledgement last advanced (each waits twice as long). */
  pushes?: number;
  /** Next client byte the application has not read. */
  readSeq: number;
  /** The application has read the client's FIN (at readSeq). */
  ended: boolean;
  app: StreamApp | undefined;
  /** Output bytes the application will write that the client already acknowledged (a taken-over replica behind). */
  skipOut: () => number;
}

/** What a transfer needs from the node. */
export interface JoinContext {
  tcpConnections(): Array<{ tuple: FourTuple; connection: TcpConnection }>;
  readonly retention: ReadonlyMap<string, RetentionEntry>;
  readonly backupAck: ReadonlyMap<string, number>;
  /** The service on this port can restore an application from its snapshot. */
  restorable(port: number): boolean;
  /** The services' shared application state now (SharedAppState), by port. */
  sharedStates(): SharedRecord[];
  send(m: ControlMessage, nowUs: number): void;
  count(name: string, n?: number): void;
  readonly heartbeatUs: number;
  readonly missLimit: number;
}

export class JoinTransfer {
  private lastHeardUs: number;
  /** Connections transferred open, for the catch-up check once every chunk is acknowledged. */
  private readonly openKeys: string[];
  /** Per connection, the client bytes the backup must hold before the pair is in sync (set when the transfer completes). */
  private targets: Map<string, number> | undefined;

  private constructor(
    private readonly ctx: JoinContext,
    /** The joining backup's incarnation. */
    readonly epoch: number,
    private readonly sender: SnapshotSender,
    readonly connections: number,
    openKeys: string[],
    nowUs: number,
  ) {
    this.lastHeardUs = nowUs;
    this.openKeys = openKeys;
  }

  /**
   * Snapshots every live connection and its application and starts sending them. The
   * caller restarts retention at each application's read point first. Throws RangeError
   * when the snapshot cannot be encoded (too large, or an app state that is not plain data).
   */
  static start(ctx: JoinContext, epoch: number, transferId: number, nowUs: number): JoinTransfer {
    const records: ConnRecord[] = [];
    const openKeys: string[] = [];
    for (const e of ctx.tcpConnections()) {
      const rec = recordOf(ctx, e.tuple, e.connection, nowUs);
      if (!rec) continue;
      records.push(rec);
      if (rec.phase === 'open') openKeys.push(tupleKey(e.tuple));
    }
    // In the same instant as the records: the shared state holds exactly the effects of
    // the bytes each record's application has read (rcvNxt), no more, no less.
    const chunks = encodeRecords(records, ctx.sharedStates());
    const t = new JoinTransfer(ctx, epoch, new SnapshotSender(transferId, chunks, 2 * ctx.heartbeatUs, nowUs), records.length, openKeys, nowUs);
    t.pump(nowUs);
    return t;
  }

  get chunks(): number { return this.sender.count; }
  get retransmits(): number { return this.sender.retransmits; }
  progress(): { chunksAcked: number; chunks: number; connections: number; catchingUp: boolean } {
    return { chunksAcked: this.sender.ackedChunks(), chunks: this.sender.count, connections: this.connections, catchingUp: this.targets !== undefined };
  }
  deadline(): number | undefined { return this.sender.deadline(); }

  /** A heartbeat from the joining backup. */
  heard(nowUs: number): void { this.lastHeardUs = nowUs; }

  onAck(transferId: number, next: number, nowUs: number): void {
    if (transferId !== this.sender.transferId) return;
    this.sender.onAck(next, nowUs);
    if (this.sender.done() && this.targets === undefined) {
      // Every record is there. The pair is in sync once the backup also holds every client
      // byte we have acknowledged meanwhile (from the tap or the retention buffer).
      this.targets = new Map();
      const live = new Map(this.ctx.tcpConnections().map((e) => [tupleKey(e.tuple), e.connection]));
      for (const key of this.openKeys) {
        const engine = live.get(key);
        if (engine && this.ctx.retention.has(key)) this.targets.set(key, engine.info().rcvNxt);
      }
    }
  }

  /** Sends what is due; 'synced' when the backup holds everything, 'abandoned' when it went silent. */
  tick(nowUs: number): 'synced' | 'abandoned' | undefined {
    if (nowUs - this.lastHeardUs >= this.ctx.missLimit * this.ctx.heartbeatUs) return 'abandoned';
    this.pump(nowUs);
    if (this.targets === undefined) return undefined;
    for (const [key, target] of this.targets) {
      if (!this.ctx.retention.has(key)) { this.targets.delete(key); continue; }
      const acked = this.ctx.backupAck.get(key);
      if (acked === undefined || !seqGe(acked, target)) return undefined;
    }
    return 'synced';
  }

  private pump(nowUs: number): void {
    for (const c of this.sender.poll(nowUs)) {
      this.ctx.send({ type: 'snapshotChunk', transferId: this.sender.transferId, index: c.index, count: this.sender.count, data: c.data }, nowUs);
      this.ctx.count('snapshot-chunks-sent');
      if (c.retransmit) this.ctx.count('snapshot-chunks-retransmitted');
    }
  }
}

/** One connection's state for the joining backup; undefined when it cannot be replicated. */
function recordOf(ctx: JoinContext, tuple: FourTuple, engine: TcpConnection, nowUs: number): ConnRecord | undefined {
  const st = engine.state;
  if (st === 'LISTEN' || st === 'CLOSED' || st === 'TIME-WAIT' || st === 'SYN-SENT') return undefined;
  const info = engine.info();
  const syn = { mss: info.sndMss, windowScale: info.wsOn ? info.sndWndShift : -1, sack: info.sackOn, timestamps: info.tsOn };
  const base: ConnRecord = {
    tuple: { ...tuple }, irs: info.irs, iss: info.iss, syn, phase: 'handshake',
    rcvNxt: seqAdd(info.irs, 1), acked: seqAdd(info.irs, 1), finReceived: false, peerFinSeq: null, sndUna: info.sndUna, outStart: info.sndUna,
    out: new Uint8Array(0), appFin: false, skipOut: 0, wndRaw: 0, wl1: 0, wl2: 0, tsRecent: null, tsVal: null, app: null,
  };
  // The client's SYN TSval: the restored handshake's PAWS check starts from it (RFC 7323 §5.3).
  if (st === 'SYN-RECEIVED') return { ...base, tsRecent: info.tsOn ? engine.snapshot().vars.tsRecent >>> 0 : null };
  const entry = ctx.retention.get(tupleKey(tuple));
  const app = appSnapshot(entry?.app);
  if (!entry || app === undefined || !ctx.restorable(tuple.localPort)) { ctx.count('snapshot-unreplicable'); return undefined; }
  const s = engine.snapshot();
  const v = s.vars;
  return {
    ...base, phase: 'open',
    rcvNxt: entry.ended ? seqAdd(entry.readSeq, 1) : entry.readSeq,
    finReceived: entry.ended,
    acked: v.lastAckSent >>> 0,
    peerFinSeq: entry.ended ? null : v.finReceived ? seqAdd(v.rcvNxt, -1) : (v.peerFinSeq ?? null),
    outStart: s.sendBuffer.startSeq, out: s.sendBuffer.data, appFin: v.finRequested, skipOut: entry.skipOut(),
    wndRaw: Math.min(0xffff, v.sndWnd >>> info.sndWndShift), wl1: v.sndWl1 >>> 0, wl2: v.sndWl2 >>> 0,
    tsRecent: v.tsOn ? v.tsRecent >>> 0 : null,
    // The TSval clock as output.ts forms it (RFC 7323 §5.4): offset + milliseconds.
    tsVal: v.tsOn ? seqAdd(v.tsOffset, Math.floor(nowUs / 1000)) : null,
    app,
  };
}

/** The serving box's handling of backups that (re)join it while it serves alone. */
export class JoinHost {
  /** A backup joining while we serve alone (DESIGN §ST-TCP 8). */
  private join: JoinTransfer | undefined;
  private transferSeq = 0;
  /** The joining backup's epoch last refused (cfg.joinRefusal), so it is reported once. */
  private refusedJoinEpoch: number | undefined;

  constructor(private readonly core: NodeCore) {}

  active(): boolean { return this.join !== undefined; }
  /** Every record is at the backup; it is catching up on the bytes since. */
  catchingUp(): boolean { return this.join?.progress().catchingUp ?? false; }
  progress(): { chunksAcked: number; chunks: number; connections: number; catchingUp: boolean } | undefined {
    return this.join?.progress();
  }
  deadline(): number | undefined { return this.join?.deadline(); }

  /** A backup's heartbeat while we serve alone: it is (re)joining. */
  heard(epoch: number, nowUs: number): void {
    const core = this.core;
    if (core.cfg.joinRefusal !== undefined) {
      if (this.refusedJoinEpoch === epoch) return;
      this.refusedJoinEpoch = epoch;
      core.count('joins-refused');
      core.emit('backup.join-abandoned', `backup (epoch ${epoch}) cannot join: ${core.cfg.joinRefusal}`);
      return;
    }
    if (this.join !== undefined) {
      if (epoch === this.join.epoch) { this.join.heard(nowUs); return; }
      if (epoch < this.join.epoch) return;
    }
    this.start(epoch, nowUs);
  }

  /** Snapshots every live connection and its application, and starts sending them. */
  private start(epoch: number, nowUs: number): void {
    const core = this.core;
    const rep = core.replication;
    rep.restartRetention(nowUs);
    const ctx: JoinContext = {
      tcpConnections: () => core.service.tcpConnections(),
      retention: rep.retention, backupAck: rep.backupAck,
      restorable: (port) => core.cfg.services.some((x) => x.port === port && x.restore !== undefined),
      sharedStates: () => core.cfg.services.flatMap((x) => (x.shared ? [{ port: x.port, state: x.shared.snapshot() }] : [])),
      send: (m, t) => { core.send(m, t); },
      count: (name, n) => core.count(name, n),
      heartbeatUs: core.live.heartbeatUs, missLimit: core.live.missLimit,
    };
    try {
      this.join = JoinTransfer.start(ctx, epoch, ++this.transferSeq, nowUs);
    } catch (err) {
      core.count('snapshot-unencodable');
      core.emit('backup.join-abandoned', `snapshot cannot be sent: ${(err as Error).message}`);
      return;
    }
    core.count('snapshot-transfers');
    core.emit('backup.joining', `backup (epoch ${epoch}) joining: ${this.join.connections} connection(s) in ${this.join.chunks} snapshot chunk(s)`);
  }

  onAck(transferId: number, next: number, nowUs: number): void {
    if (!this.join) return;
    this.join.onAck(transferId, next, nowUs);
    this.tick(nowUs);
  }

  tick(nowUs: number): void {
    const r = this.join?.tick(nowUs);
    if (r === 'abandoned') {
      this.join = undefined;
      this.core.replication.restartRetention(nowUs);
      this.core.emit('backup.join-abandoned', 'joining backup went silent: transfer abandoned, still serving alone');
    } else if (r === 'synced') {
      this.joined(nowUs);
    }
  }

  /** The backup holds everything: it is required again (lease, sync ACK gating). */
  private joined(nowUs: number): void {
    const core = this.core;
    const j = this.join!;
    this.join = undefined;
    core.liveness.backupRequired(nowUs);
    if (core.mode === 'sync') core.replication.gateAll(nowUs);
    core.emit('backup.synced', `backup (epoch ${j.epoch}) in sync: ${j.connections} connection(s) transferred, ${j.retransmits} retransmission round(s)`);
    core.liveness.updateProtection();
  }
}
