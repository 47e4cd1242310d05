// The serving box's side of replication (DESIGN §ST-TCP 2–4): every byte an application
// reads is retained until the backup acknowledges it; sync mode gates the ACKs sent to
// clients at what the backup holds; connections are announced (ISN and options) and
// closed over the control channel; the backup's requests for byte ranges the tap missed
// are answered, and retained bytes it leaves unacknowledged are pushed to it unasked.
import type { StreamApp } from '../stack/app.js';
import type { HostStreamConnection } from '../stack/tcp-demux.js';
import { IP_PROTOCOL, parseIpv4Packet } from '../wire/ipv4.js';
import { parseTcpSegment } from '../wire/tcp.js';
import { tupleKey, type FourTuple } from '../tcp/four-tuple.js';
import type { TcpConnection } from '../tcp/connection.js';
import { seqAdd, seqGt, seqMax } from '../tcp/seq.js';
import { CONTROL_MAX_PAYLOAD } from './control.js';
import { BlockPool, RetentionBuffer } from './retention.js';
import type { RetentionEntry } from './join.js';
import { ASYNC_ACK_INTERVAL_US, type NodeCore } from './node-core.js';

/** Bytes of retention the primary sends in answer to one range request. */
export const RANGE_REPLY_MAX = 64 * CONTROL_MAX_PAYLOAD;
/** Bytes a backup has asked for and not yet received, per connection. */
export const RANGE_ASK_WINDOW = 4 * RANGE_REPLY_MAX;
/** The shortest wait before the primary resends retained bytes the backup has not acknowledged. */
const PUSH_DELAY_MIN_US = 1_000;
/** Bytes the primary pushes unasked in one round, over all connections. */
const PUSH_ROUND_BYTES_MAX = 4 * RANGE_ASK_WINDOW;

/**
 * Free retention blocks (16 KB) kept for reuse over all connections: 4 MiB, a few
 * acknowledgement cadences of several streams at once.
 */
const RETENTION_POOL_BLOCKS = 256;

/** SYN-ACKs held for the backup at once, at most (more go out unheld, as before sync gating of handshakes). */
const HELD_SYN_ACKS_MAX = 4096;

export class PrimaryReplication {
  readonly retention = new Map<string, RetentionEntry>();
  readonly backupAck = new Map<string, number>();
  /** Retention blocks acknowledged by the backup, for the next bytes of any connection. */
  readonly blockPool = new BlockPool(RETENTION_POOL_BLOCKS);
  /**
   * When pushRetention next has work (undefined: nothing retained is waiting). Set whenever
   * something starts to wait (bytes read into empty retention, the client's FIN read, a
   * held SYN-ACK) and by each round for what still waits.
   */
  private nextPushUs: number | undefined;
  /**
   * Sync mode: SYN-ACKs waiting until the backup holds their connection (a SYN-ACK
   * acknowledges the client's SYN, and the client is told nothing is safe that the backup
   * does not hold). By tuple: the frame, and when the open notice last went out.
   */
  private readonly heldSynAcks = new Map<string, { engine: TcpConnection; frame: Uint8Array; irs: number; noticeUs: number; notices: number }>();
  /** SYN-ACKs the backup's acknowledgement released, to go out on the next drain. */
  private readonly released: Uint8Array[] = [];

  constructor(private readonly core: NodeCore) {}

  /** A backup holds our connections, or is being given them. */
  replicating(): boolean { return !this.core.liveness.isSolo() || this.core.joinHost.active(); }

  /** Sync mode with a backup required: clients are ACKed only for what the backup holds. */
  private gating(): boolean { return this.core.mode === 'sync' && !this.core.liveness.isSolo(); }

  /** Bytes the applications read that the backup has not acknowledged yet, over all connections. */
  lagBytes(): number {
    let n = 0;
    for (const e of this.retention.values()) n += e.buf.length();
    return n;
  }

  listenAll(): void {
    for (const s of this.core.cfg.services) {
      this.core.service.listen(s.port, (conn) => {
        const irs = this.core.engineFor(conn.tuple)?.info().irs ?? 0;
        return this.wrap(conn, () => s.service(conn), seqAdd(irs, 1), false);
      });
    }
  }

  /**
   * Wraps the application on the primary: everything it reads is retained for the backup
   * (while one is replicating), and what it has read is tracked for snapshots.
   */
  wrap(conn: HostStreamConnection, makeApp: () => StreamApp, readSeq: number, ended: boolean, skipOut?: () => number): StreamApp {
    const core = this.core;
    const key = tupleKey(conn.tuple);
    const entry: RetentionEntry = {
      buf: new RetentionBuffer(readSeq, this.retentionMax(), this.blockPool), conn, paused: false, lastAckUs: core.nowUs, readSeq, ended, app: undefined,
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
            entry.lastAckUs = core.nowUs;
            this.nextPushUs = Math.min(this.nextPushUs ?? Infinity, core.nowUs + this.pushDelayUs());
          }
          entry.buf.append(d);
          if (entry.buf.isFull() && !entry.paused) { entry.paused = true; conn.holdReading(true); core.count('retention-full'); }
        }
        app.onData(d);
      },
      onEnd: () => {
        entry.ended = true;
        // The client's FIN is retained too: pushed like bytes if the backup does not acknowledge it.
        if (this.replicating()) this.nextPushUs = Math.min(this.nextPushUs ?? Infinity, core.nowUs + this.pushDelayUs());
        app.onEnd();
      },
      onWritable: () => app.onWritable?.(),
      onClose: (r) => {
        entry.buf.release();
        this.retention.delete(key);
        this.backupAck.delete(key);
        if (this.replicating()) core.send({ type: 'connClose', tuple: conn.tuple, reason: r }, core.nowUs);
        app.onClose?.(r);
      },
    };
  }

  private retentionMax(): number { return this.core.cfg.retentionBytesMax ?? 4 << 20; }

  /** Retention starts afresh at what each application has read (backup lost, or a new one joining). */
  restartRetention(nowUs: number): void {
    for (const r of this.retention.values()) {
      r.buf.release();
      r.buf = new RetentionBuffer(r.readSeq, this.retentionMax(), this.blockPool);
      r.lastAckUs = nowUs;
      if (r.paused) { r.paused = false; r.conn.holdReading(false); }
    }
    this.backupAck.clear();
    // One round at the next tick looks at everything afresh (a FIN read still waits, say).
    this.nextPushUs = nowUs;
  }

  /** Serving alone: clients are ACKed for everything received again. */
  ungateAll(nowUs: number): void {
    this.releaseAll();
    const service = this.core.service;
    for (const e of service.tcpConnections()) { e.connection.setAckLimit(undefined); service.pokeTcp(e.tuple, nowUs); }
  }

  /** A joined backup is in sync (sync mode): ACKs are gated again at what it holds. */
  gateAll(nowUs: number): void {
    const service = this.core.service;
    for (const e of service.tcpConnections()) {
      if (e.connection.state === 'LISTEN' || e.connection.state === 'CLOSED') continue;
      const acked = this.backupAck.get(tupleKey(e.tuple)) ?? seqAdd(e.connection.info().irs, 1);
      // Never below an ACK already sent: the client was told those bytes are safe
      // before this backup existed, and the tap or retention gives them to it.
      e.connection.setAckLimit(seqMax(acked, e.connection.snapshot().vars.lastAckSent));
      service.pokeTcp(e.tuple, nowUs);
    }
  }

  /** This box took over: nothing of an earlier backup's replication remains. */
  clear(): void {
    this.retention.clear();
    this.backupAck.clear();
    this.heldSynAcks.clear();
    this.released.length = 0;
  }

  /**
   * Outgoing SYN-ACKs announce a connection to the backup, with the ISN it must use. In
   * sync mode a SYN-ACK waits (true: held, not to be sent now) until the backup acknowledges
   * the connection: a backup that missed both the SYN on the tap and the notice (a stalled
   * backup whose queue overflowed) then never leaves the client with a handshake only the
   * crashed primary knew — the client's SYN retransmission reaches the new primary instead.
   * The wait is one control-channel round trip.
   */
  watchOutgoing(frame: Uint8Array): boolean {
    const core = this.core;
    if (frame.length < 14 + 20 + 20 || frame[12] !== 0x08 || frame[13] !== 0x00 || frame[14 + 9] !== IP_PROTOCOL.tcp) return false;
    const ihl = (frame[14]! & 0x0f) * 4;
    const flags = frame[14 + ihl + 13]!;
    if ((flags & 0x12) !== 0x12) return false; // SYN+ACK
    const ip = parseIpv4Packet(frame.subarray(14));
    if (!ip.ok) return false;
    const seg = parseTcpSegment(ip.value.payload, ip.value.src, ip.value.dst, false);
    if (!seg.ok) return false;
    const tuple: FourTuple = { localIp: ip.value.src, localPort: seg.value.srcPort, remoteIp: ip.value.dst, remotePort: seg.value.dstPort };
    const engine = core.engineFor(tuple);
    if (engine === undefined || !this.replicating()) return false;
    const info = engine.info();
    const key = tupleKey(tuple);
    const backupHas = this.backupAck.get(key);
    if (this.gating()) engine.setAckLimit(backupHas ?? seqAdd(info.irs, 1));
    const held = this.heldSynAcks.get(key);
    if (held === undefined || core.nowUs - held.noticeUs >= this.pushDelayUs()) this.announce(tuple, engine, core.nowUs);
    if (!this.gating() || (backupHas !== undefined && seqGt(backupHas, info.irs))) return false;
    if (held !== undefined) {
      held.frame = frame;                       // the TCP's retransmission replaces the one held
      if (core.nowUs - held.noticeUs >= this.pushDelayUs()) { held.noticeUs = core.nowUs; held.notices++; }
      return true;
    }
    if (this.heldSynAcks.size >= HELD_SYN_ACKS_MAX) { core.count('syn-ack-hold-full'); return false; }
    this.heldSynAcks.set(key, { engine, frame, irs: info.irs, noticeUs: core.nowUs, notices: 1 });
    this.nextPushUs = Math.min(this.nextPushUs ?? Infinity, core.nowUs + this.pushDelayUs());
    core.count('syn-ack-held');
    return true;
  }

  /** A SYN-ACK the backup's acknowledgement released (or every one, serving alone), for the next drain. */
  pollReleased(): Uint8Array | undefined { return this.released.shift(); }

  private release(key: string): void {
    const h = this.heldSynAcks.get(key);
    if (h === undefined) return;
    this.heldSynAcks.delete(key);
    this.released.push(h.frame);
  }

  /** Serving alone (or this box took over): nothing waits for a backup any more. */
  releaseAll(): void {
    for (const key of [...this.heldSynAcks.keys()]) this.release(key);
  }

  /** The connOpen notice: the connection's ISNs and options, which a shadow must use. */
  private announce(tuple: FourTuple, engine: TcpConnection, nowUs: number): void {
    const info = engine.info();
    this.core.send({
      type: 'connOpen', tuple, iss: info.iss, irs: info.irs, mss: info.sndMss,
      sndWscale: info.wsOn ? info.sndWndShift : -1,
      rcvWscale: info.wsOn ? info.rcvWndShift : -1, sack: info.sackOn, timestamps: info.tsOn,
      tsRecent: info.tsOn ? engine.snapshot().vars.tsRecent >>> 0 : 0,
    }, nowUs);
  }

  onRecvAck(acks: Array<{ tuple: FourTuple; rcvNxt: number }>, nowUs: number): void {
    for (const a of acks) {
      const key = tupleKey(a.tuple);
      const prev = this.backupAck.get(key);
      if (prev !== undefined && !seqGt(a.rcvNxt, prev)) continue;
      this.backupAck.set(key, a.rcvNxt);
      const h = this.heldSynAcks.get(key);
      if (h !== undefined && seqGt(a.rcvNxt, h.irs)) this.release(key);
      const r = this.retention.get(key);
      if (r) {
        r.buf.ackTo(a.rcvNxt);
        r.lastAckUs = nowUs;
        r.pushes = 0;
        if (r.paused && !r.buf.isFull()) { r.paused = false; r.conn.holdReading(false); }
      }
      if (this.gating()) {
        this.core.engineFor(a.tuple)?.setAckLimit(a.rcvNxt);
        this.core.service.pokeTcp(a.tuple, nowUs);
      }
    }
  }

  onRangeRequest(tuple: FourTuple, seq: number, length: number, nowUs: number): void {
    const r = this.retention.get(tupleKey(tuple));
    if (!r) { this.core.count('range-unknown-connection'); return; }
    const end = this.sendRange(tuple, r.buf, seq, Math.min(length, RANGE_REPLY_MAX), nowUs);
    // The client's FIN the application read follows the last retained byte.
    if (r.ended && end === r.readSeq && seqGt(seqAdd(seq, length), end)) {
      this.core.send({ type: 'rangeData', tuple, seq: end, data: new Uint8Array(0), fin: true }, nowUs);
    }
  }

  /** Sends retained bytes from `seq` on; returns where they end. */
  private sendRange(tuple: FourTuple, buf: RetentionBuffer, seq: number, length: number, nowUs: number): number {
    let at = seq;
    for (let sent = 0; sent < length;) {
      const data = buf.slice(at, Math.min(CONTROL_MAX_PAYLOAD, length - sent));
      if (data.length === 0) break;
      this.core.send({ type: 'rangeData', tuple, seq: at, data }, nowUs);
      this.core.count('range-bytes-sent', data.length);
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
  pushRetention(nowUs: number): void {
    const core = this.core;
    if (!this.replicating()) return;
    // A joining backup has no shadows for these bytes until its snapshot is complete.
    if (core.joinHost.active() && !core.joinHost.catchingUp()) return;
    // Nothing retained waits (undefined), or not yet: no walk over every connection.
    if (this.nextPushUs === undefined || nowUs < this.nextPushUs) return;
    const baseWaitUs = this.pushDelayUs();
    const heartbeatUs = core.live.heartbeatUs;
    let budget = PUSH_ROUND_BYTES_MAX;
    let next: number | undefined;
    for (const [key, h] of this.heldSynAcks) {
      // The backup has not acknowledged a held handshake: tell it again (the notice or its
      // acknowledgement was lost, or it missed the SYN on the tap), backing off as pushes do.
      const engine = this.heldEngine(key, h);
      if (engine === undefined) continue;
      const waitUs = Math.min(2 * heartbeatUs, baseWaitUs * 2 ** Math.min(h.notices - 1, 16));
      if (nowUs - h.noticeUs < waitUs) { next = Math.min(next ?? Infinity, h.noticeUs + waitUs); continue; }
      h.noticeUs = nowUs;
      h.notices++;
      this.announce(engine.tuple, engine, nowUs);
      core.count('conn-open-resent');
      next = Math.min(next ?? Infinity, nowUs + Math.min(2 * heartbeatUs, 2 * waitUs));
    }
    for (const r of this.retention.values()) {
      // The client's FIN the application read, if the backup has not acknowledged it.
      const acked = this.backupAck.get(tupleKey(r.conn.tuple));
      const finDue = r.ended && (acked === undefined || !seqGt(acked, r.readSeq));
      if (r.buf.length() === 0 && !finDue) continue;
      // Repeated pushes that draw no acknowledgement back off, up to two heartbeats apart.
      const waitUs = Math.min(2 * heartbeatUs, baseWaitUs * 2 ** Math.min(r.pushes ?? 0, 16));
      if (nowUs - r.lastAckUs < waitUs || budget <= 0) {
        next = Math.min(next ?? Infinity, Math.max(r.lastAckUs + waitUs, nowUs + 1));
        continue;
      }
      r.lastAckUs = nowUs;
      r.pushes = (r.pushes ?? 0) + 1;
      next = Math.min(next ?? Infinity, nowUs + Math.min(2 * heartbeatUs, 2 * waitUs));
      core.count('retention-pushes');
      if (acked === undefined) {
        // The backup never acknowledged anything of this connection: it may have missed both
        // the SYN on the tap and the open notice, and then has no shadow to take the bytes.
        const engine = core.engineFor(r.conn.tuple);
        if (engine !== undefined) { this.announce(r.conn.tuple, engine, nowUs); core.count('conn-open-resent'); }
      }
      const length = Math.min(RANGE_REPLY_MAX, budget);
      budget -= length;
      const end = this.sendRange(r.conn.tuple, r.buf, r.buf.startSeq(), length, nowUs);
      if (finDue && end === r.readSeq) {
        core.send({ type: 'rangeData', tuple: r.conn.tuple, seq: r.readSeq, data: new Uint8Array(0), fin: true }, nowUs);
      }
    }
    this.nextPushUs = next;
  }

  /** A held SYN-ACK's connection, while it still waits for its handshake (a gone one is forgotten). */
  private heldEngine(key: string, h: { engine: TcpConnection }): TcpConnection | undefined {
    if (h.engine.state === 'SYN-RECEIVED') return h.engine;
    this.heldSynAcks.delete(key);
    return undefined;
  }

  /** When pushRetention next has work, if a backup is replicating. */
  pushDeadline(): number | undefined { return this.replicating() ? this.nextPushUs : undefined; }

  private pushDelayUs(): number {
    const core = this.core;
    const rtt = core.liveness.controlRttUs ?? core.live.heartbeatUs / 4;
    const ackDelay = core.mode === 'async' ? (core.cfg.ackIntervalUs ?? ASYNC_ACK_INTERVAL_US) : 0;
    return Math.min(2 * core.live.heartbeatUs, Math.max(PUSH_DELAY_MIN_US, 4 * rtt) + ackDelay);
  }
}
