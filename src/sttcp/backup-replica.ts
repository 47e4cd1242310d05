// The backup's replica of the service (DESIGN §ST-TCP 1–4, 8): it follows the tap, keeps
// a shadow of every connection (shadow.ts), acknowledges what it holds to the primary,
// asks for the byte ranges the tap missed, follows the primary's open and close notices,
// and — joining a box that serves alone — receives that box's records of its connections
// and continues from them, replaying what the tap showed while they were on their way.
import { tupleKey, type FourTuple } from '../tcp/four-tuple.js';
import { seqAdd, seqDiff, seqGt, seqMax } from '../tcp/seq.js';
import { IP_PROTOCOL, parseIpv4Packet } from '../wire/ipv4.js';
import { parseTcpSegment, type TcpRepr } from '../wire/tcp.js';
import type { ControlMessage } from './control.js';
import { ShadowConnection, tupleText } from './shadow.js';
import { decodeSnapshot, SnapshotReceiver } from './snapshot-transfer.js';
import { RANGE_ASK_WINDOW, RANGE_REPLY_MAX } from './primary-replication.js';
import { ASYNC_ACK_EVERY_BYTES, ASYNC_ACK_INTERVAL_US, SYNC_ACK_BURST_GAP_US, SYNC_ACK_SPACING_US, type NodeCore } from './node-core.js';

const NEIGHBORS_MAX = 4096;
/** Tapped segments (and notices) a joining backup holds for connections whose records have not arrived (the newest are kept). */
const UNTAPPED_MAX = 4096;

type Notice = Extract<ControlMessage, { type: 'connOpen' | 'connClose' }>;
/** Held while joining, replayed once the records are applied; `transfer`: the snapshot transfer under way when it came. */
type Held = { transfer: number | undefined } & ({ ip: Uint8Array; srcMac: Uint8Array } | { notice: Notice });
/** Gaps of one connection the backup asks for in one round. */
const RANGES_PER_REQUEST_ROUND = 8;

export class BackupReplica {
  readonly shadows = new Map<string, ShadowConnection>();
  private readonly ackedToPrimary = new Map<string, number>();
  private ackDueUs: number | undefined;
  /** When the last acknowledgement went to the primary (sync spacing). */
  private lastAckSentUs: number | undefined;
  /** A tapped segment since then ended a write (PSH), carried SYN or FIN, or came after a quiet spell: acknowledge without spacing. */
  private ackNow = false;
  /** When the last client segment with data was tapped. */
  private lastTapUs: number | undefined;
  /** Per shadow: the end of what has been asked of the primary, and when asking began (re-asked a heartbeat later). */
  private readonly rangeAsked = new Map<string, { upTo: number; atUs: number }>();
  /**
   * Shadows that may owe the primary an acknowledgement (their rcvNxt moved, or they may have
   * finished), and shadows that may lack bytes the tap missed: what a tapped segment, a
   * control message or the replica itself (onProgress) touched, until flushAcks and
   * askMissing find them settled. Each frame then costs a look at the shadows it concerns,
   * not a walk over every shadow (1,000 steps a frame at 1,000 connections).
   */
  private readonly ackCheck = new Set<string>();
  private readonly gapCheck = new Set<string>();
  /**
   * A replica changed its shadow on its own (onProgress), outside the frame or message
   * whose tick would look at it: the node wakes at once to acknowledge (progressPending).
   */
  private progressed = false;
  private nextExpiryUs = 0;
  /** Clients' MAC addresses seen on the tap (IPv4 → MAC). */
  readonly neighbors = new Map<number, Uint8Array>();
  private readonly receiver = new SnapshotReceiver();
  /** This (joining) backup holds the serving box's records of its connections. */
  snapshotApplied = false;
  /**
   * While the records are on their way, tapped segments of connections we do not shadow
   * yet (both directions), replayed once the records have made shadows of them. On a
   * port whose sessions share state (sharedPort) every segment and open/close notice is
   * held, so no replica touches the shared state before the snapshot of it is restored.
   */
  private readonly untapped: Held[] = [];
  private replaying = false;
  /** While replaying: connections announced (connOpen) since the snapshot was taken. */
  private replayOpened: Set<string> | undefined;
  /** While replaying: the held item being replayed came after the snapshot was taken. */
  private replayingFresh = false;
  /** The first snapshot transfer this backup saw (items held before any chunk belong to it). */
  private firstTransferId: number | undefined;

  constructor(private readonly core: NodeCore) {}

  shadowCount(): number { return this.shadows.size; }
  neighborIps(): Iterable<number> { return this.neighbors.keys(); }
  /** When a delayed (async, or spaced sync) acknowledgement to the primary is due. */
  ackDeadline(): number | undefined { return this.ackDueUs; }
  /** A replica changed its shadow on its own since the last tick: the node should tick at once. */
  progressPending(): boolean { return this.progressed; }

  /** Periodic work while this box is the backup. */
  tick(nowUs: number): void {
    this.flushAcks(nowUs, false);
    this.askMissing(nowUs);
    this.expireClosed(nowUs);
  }

  /** The shadows are handed to the takeover; the replica keeps nothing of them. */
  handOver(): Map<string, ShadowConnection> {
    const out = new Map(this.shadows);
    for (const sh of out.values()) sh.onProgress = undefined;
    this.shadows.clear();
    this.ackedToPrimary.clear();
    this.rangeAsked.clear();
    this.ackCheck.clear();
    this.gapCheck.clear();
    this.progressed = false;
    return out;
  }

  // ---- the tap ------------------------------------------------------------------

  /** A frame seen on the tap (client → service, or service → client on a two-way tap). */
  tap(ipBytes: Uint8Array, srcMac: Uint8Array, nowUs: number): void {
    const core = this.core;
    const ip = parseIpv4Packet(ipBytes);
    if (!ip.ok || ip.value.protocol !== IP_PROTOCOL.tcp) return;
    if (ip.value.dst === core.serviceIp && !this.neighbors.has(ip.value.src) && this.neighbors.size < NEIGHBORS_MAX) {
      // The clients' MACs, so the first segments after takeover need not wait for ARP.
      this.neighbors.set(ip.value.src, srcMac.slice());
    }
    const seg = parseTcpSegment(ip.value.payload, ip.value.src, ip.value.dst, true);
    if (!seg.ok) { core.count('tap-bad-segment'); return; }
    const s = seg.value;
    if (this.holdsAll(ip.value.src === core.serviceIp ? s.srcPort : s.dstPort)) { this.hold({ ip: ipBytes.slice(), srcMac: srcMac.slice() }); return; }
    if (ip.value.src === core.serviceIp) {
      // Two-way tap: the primary's SYN-ACK tells the ISN (DESIGN §ST-TCP 1).
      const tuple: FourTuple = { localIp: ip.value.src, localPort: s.srcPort, remoteIp: ip.value.dst, remotePort: s.dstPort };
      const key = tupleKey(tuple);
      const sh = this.shadows.get(key);
      if (!sh) this.holdUntapped(ipBytes, srcMac);
      else this.touch(key);
      if (s.flags.syn && s.flags.ack) sh?.learnIss(s.seq);
      else sh?.notePrimarySegment(s);
      return;
    }
    if (ip.value.dst !== core.serviceIp) return;
    const tuple: FourTuple = { localIp: ip.value.dst, localPort: s.dstPort, remoteIp: ip.value.src, remotePort: s.srcPort };
    const key = tupleKey(tuple);
    let sh = this.shadows.get(key);
    if (sh === undefined) {
      if (!s.flags.syn || s.flags.ack) { core.count('tap-no-shadow'); this.holdUntapped(ipBytes, srcMac); return; }
      if (this.staleReplayedSyn(tuple)) { core.count('untapped-stale'); return; }
      sh = this.newShadow(tuple, s.seq, s.options, undefined, nowUs);
      if (!sh) return;
    }
    sh.handleClientSegment(s, nowUs);
    this.touch(key);
    // The end of a client's write (PSH), a SYN or a FIN, or a segment after a quiet spell
    // (not part of a burst; a sender clocked by our ACKs, Nagle's, waits on it): at once.
    if (s.payload.length > 0) {
      if (this.lastTapUs === undefined || nowUs - this.lastTapUs > SYNC_ACK_BURST_GAP_US) this.ackNow = true;
      this.lastTapUs = nowUs;
    }
    if (s.flags.psh || s.flags.syn || s.flags.fin) this.ackNow = true;
    if (sh.phase === 'closed') this.dropShadow(key, 'closed');
    // A finished shadow is dropped in flushAcks, once the primary has its final acknowledgement.
  }

  /** Joining: the serving box is alone and its records are not here yet. */
  private joining(): boolean {
    return !this.replaying && !this.snapshotApplied && this.core.liveness.peerRole === 'solo';
  }

  /** Joining, and the port's sessions share state: everything for it waits for the snapshot. */
  private holdsAll(port: number): boolean { return this.joining() && this.core.sharedPort(port); }

  /** A joining backup (the serving box is alone, its records not here yet) keeps what the tap shows. */
  private holdUntapped(ipBytes: Uint8Array, srcMac: Uint8Array): void {
    if (this.joining()) this.hold({ ip: ipBytes.slice(), srcMac: srcMac.slice() });
  }

  private hold(h: { ip: Uint8Array; srcMac: Uint8Array } | { notice: Notice }): void {
    if (this.untapped.length >= UNTAPPED_MAX) {
      // The oldest segment goes (the primary's retention has its bytes); open and close
      // notices stay, as nothing else would tell of a connection whose SYN is gone.
      const i = this.untapped.findIndex((x) => !('notice' in x));
      this.untapped.splice(i >= 0 ? i : 0, 1);
      this.core.count('untapped-overflow');
    }
    this.untapped.push({ ...h, transfer: this.receiver.transferId });
  }

  /**
   * Replaying a SYN held on a shared-state port for which no record came: a connection
   * opened after the snapshot was taken (announced by connOpen since, or tapped while the
   * transfer carrying the records was under way) gets a shadow; an earlier one (seen
   * during a transfer that was abandoned) has closed — its effects are in the restored
   * state — and must not run its commands a second time.
   */
  private staleReplayedSyn(tuple: FourTuple): boolean {
    const opened = this.replayOpened;
    if (opened === undefined || !this.core.sharedPort(tuple.localPort)) return false;
    return !opened.has(tupleKey(tuple)) && !this.replayingFresh;
  }

  private newShadow(tuple: FourTuple, irs: number, opts: TcpRepr['options'], iss: number | undefined, nowUs: number): ShadowConnection | undefined {
    const core = this.core;
    const svc = core.serviceFor(tuple.localPort);
    if (!svc) { core.count('tap-no-service'); return undefined; }
    if (this.shadows.size >= core.maxShadows()) { core.count('shadow-table-full'); return undefined; }
    const sh = new ShadowConnection({ tuple, irs, clientSynOptions: opts, ...(iss !== undefined ? { iss } : {}) }, core.tcpCfg, svc.service, nowUs);
    this.adopt(tupleKey(tuple), sh);
    core.count('shadows-created');
    core.emit('connection.shadowed', `shadowing ${tupleText(tuple)}`);
    return sh;
  }

  /** A new or restored shadow joins the table (its handshake is acknowledged like its bytes). */
  private adopt(key: string, sh: ShadowConnection): void {
    // DESIGN §ST-TCP 4: a replica whose output differs from the primary's is reported, per connection.
    sh.onDivergence = (offset) => {
      this.core.count('output-diverged');
      this.core.emit('output.diverged', `${tupleText(sh.tuple)}: replica output differs from the primary's at stream offset ${offset}`);
    };
    sh.onProgress = () => { this.touch(key); this.progressed = true; };
    this.shadows.set(key, sh);
    this.touch(key);
  }

  private touch(key: string): void {
    this.ackCheck.add(key);
    this.gapCheck.add(key);
  }

  private dropShadow(key: string, why: string): void {
    const sh = this.shadows.get(key);
    if (sh === undefined) return;
    sh.onProgress = undefined;
    this.shadows.delete(key);
    this.ackedToPrimary.delete(key);
    this.rangeAsked.delete(key);
    this.ackCheck.delete(key);
    this.gapCheck.delete(key);
    this.core.count(`shadows-${why}`);
  }

  // ---- acknowledgements and catch-up --------------------------------------------------

  private flushAcks(nowUs: number, force: boolean): void {
    const core = this.core;
    this.progressed = false;
    if (force) for (const key of this.shadows.keys()) this.ackCheck.add(key);
    if (this.ackCheck.size === 0) { this.ackDueUs = undefined; return; }
    const due: Array<{ tuple: FourTuple; rcvNxt: number }> = [];
    let pendingBytes = 0;
    for (const key of this.ackCheck) {
      const sh = this.shadows.get(key);
      // A shadow in its handshake holds the client's SYN: acknowledged too, as the primary's
      // SYN-ACK waits for it in sync mode.
      if (sh === undefined || sh.phase === 'closed') { this.ackCheck.delete(key); continue; }
      const prev = this.ackedToPrimary.get(key);
      if (prev === sh.rcvNxt) {
        this.ackCheck.delete(key);
        if (sh.isFinished()) this.dropShadow(key, 'finished');
        continue;
      }
      pendingBytes += prev === undefined ? 1 : (sh.rcvNxt - prev) >>> 0;
      due.push({ tuple: sh.tuple, rcvNxt: sh.rcvNxt });
    }
    if (due.length === 0) { this.ackDueUs = undefined; return; }
    const every = core.cfg.ackEveryBytes ?? ASYNC_ACK_EVERY_BYTES;
    if (!force && core.mode === 'async' && pendingBytes < every) {
      this.ackDueUs ??= nowUs + (core.cfg.ackIntervalUs ?? ASYNC_ACK_INTERVAL_US);
      if (nowUs < this.ackDueUs) return;
    }
    // Sync: in the middle of a burst of segments without PSH, acknowledgements go at most
    // one per spacing, each covering every segment tapped since, instead of one per
    // segment (the primary verifies each one's HMAC; about 70,000 per 100 MB streamed).
    // The end of a write, a SYN or a FIN, the first segment after a quiet spell, and bytes
    // the primary sent over the control channel are acknowledged at once: a request, a
    // handshake or the primary may wait on them.
    const spacing = core.cfg.syncAckSpacingUs ?? SYNC_ACK_SPACING_US;
    if (!force && !this.ackNow && core.mode === 'sync' && this.lastAckSentUs !== undefined && nowUs - this.lastAckSentUs < spacing) {
      this.ackDueUs ??= this.lastAckSentUs + spacing;
      if (nowUs < this.ackDueUs) return;
    }
    this.ackDueUs = undefined;
    this.ackNow = false;
    this.lastAckSentUs = nowUs;
    for (let i = 0; i < due.length; i += 64) {
      const batch = due.slice(i, i + 64);
      core.send({ type: 'recvAck', acks: batch }, nowUs);
      for (const a of batch) {
        const key = tupleKey(a.tuple);
        this.ackedToPrimary.set(key, a.rcvNxt);
        this.ackCheck.delete(key);
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
    const core = this.core;
    for (const key of this.gapCheck) {
      const sh = this.shadows.get(key);
      const gaps = sh?.missingRanges(RANGES_PER_REQUEST_ROUND) ?? [];
      if (sh === undefined || gaps.length === 0) { this.rangeAsked.delete(key); this.gapCheck.delete(key); continue; }
      let asked = this.rangeAsked.get(key);
      if (asked === undefined || nowUs - asked.atUs >= core.live.heartbeatUs) {
        asked = { upTo: gaps[0]!.seq, atUs: nowUs };
        this.rangeAsked.set(key, asked);
      }
      for (const g of gaps) {
        const end = seqAdd(g.seq, g.length);
        // At most RANGE_ASK_WINDOW bytes asked beyond what the replica holds: the rest is
        // asked as the answers arrive, so a long gap is not fetched in one burst.
        for (let from = seqMax(g.seq, asked.upTo); seqGt(end, from) && seqDiff(from, sh.rcvNxt) < RANGE_ASK_WINDOW;) {
          const length = Math.min(seqDiff(end, from), RANGE_REPLY_MAX);
          core.count('range-requests');
          core.send({ type: 'rangeRequest', tuple: sh.tuple, seq: from, length }, nowUs);
          from = seqAdd(from, length);
          asked.upTo = from;
        }
      }
    }
  }

  /** Shadows of connections closed on both sides expire after TIME-WAIT (RFC 9293 §3.6) even without a notice. */
  private expireClosed(nowUs: number): void {
    if (nowUs < this.nextExpiryUs) return;
    this.nextExpiryUs = nowUs + 1_000_000;
    for (const [key, sh] of this.shadows) {
      if (sh.bothClosed() && nowUs - sh.lastActivityUs > this.core.tcpCfg.timeWaitUs) this.dropShadow(key, 'expired');
    }
  }

  // ---- the primary's messages ------------------------------------------------------

  onRangeData(m: Extract<ControlMessage, { type: 'rangeData' }>, nowUs: number): void {
    // Bytes the primary sent (asked for, or pushed because our acknowledgement was late):
    // it waits on their acknowledgement, so it goes without spacing.
    this.ackNow = true;
    const key = tupleKey(m.tuple);
    const sh = this.shadows.get(key);
    if (sh === undefined) return;
    sh.handleRange(m.seq, m.data, nowUs, m.fin === true);
    this.touch(key);
  }

  onConnOpen(m: Extract<ControlMessage, { type: 'connOpen' }>, nowUs: number): void {
    if (this.holdsAll(m.tuple.localPort)) { this.hold({ notice: m }); return; }
    const key = tupleKey(m.tuple);
    const sh = this.shadows.get(key);
    if (sh) { sh.learnIss(m.iss); this.touch(key); return; }
    // Missed the SYN on the tap: rebuild the client's SYN options from the notice.
    this.newShadow(m.tuple, m.irs, {
      mss: m.mss,
      ...(m.sndWscale >= 0 ? { windowScale: m.sndWscale } : {}),
      ...(m.sack ? { sackPermitted: true } : {}),
      ...(m.timestamps ? { timestamp: { value: m.tsRecent, echo: 0 } } : {}),
    }, m.iss, nowUs);
  }

  onConnClose(m: Extract<ControlMessage, { type: 'connClose' }>): void {
    if (this.holdsAll(m.tuple.localPort)) { this.hold({ notice: m }); return; }
    const key = tupleKey(m.tuple);
    const sh = this.shadows.get(key);
    if (sh && (m.reason !== 'closed' || sh.isFinished())) { sh.close(m.reason); this.dropShadow(key, 'closed'); }
  }

  onSnapshotChunk(m: Extract<ControlMessage, { type: 'snapshotChunk' }>, nowUs: number): void {
    this.firstTransferId ??= m.transferId;
    const a = this.receiver.onChunk(m.transferId, m.index, m.count, m.data);
    if (a === undefined) { this.core.count('snapshot-chunk-ignored'); return; }
    this.core.send({ type: 'snapshotAck', transferId: m.transferId, next: a.next }, nowUs);
    if (a.complete) this.applySnapshot(a.complete, nowUs);
  }

  /**
   * A joining backup's snapshot is complete: the services' shared state is restored, then
   * shadows continue from the primary's records, then what the tap showed meanwhile is
   * replayed. The shared state and the records were taken in one instant, so each
   * restored session continues exactly where the state it shares left it.
   */
  private applySnapshot(bytes: Uint8Array, nowUs: number): void {
    const core = this.core;
    const r = decodeSnapshot(bytes);
    if (!r.ok) { core.count(`snapshot-${r.error.code}`); return; }
    const sharedRestored = new Set<number>();
    for (const x of r.value.shared) {
      const svc = core.serviceFor(x.port);
      if (!svc?.shared) { core.count('snapshot-shared-no-service'); continue; }
      if (svc.shared.restore(x.state)) { sharedRestored.add(x.port); core.count('snapshot-shared-restored'); }
      else core.count('snapshot-shared-unrestorable');
    }
    let restored = 0;
    const recorded = new Set<string>();
    for (const rec of r.value.records) {
      const key = tupleKey(rec.tuple);
      const svc = core.serviceFor(rec.tuple.localPort);
      if (!svc) { core.count('snapshot-no-service'); continue; }
      // Sessions whose shared state did not arrive cannot continue consistently.
      if (svc.shared && !sharedRestored.has(rec.tuple.localPort)) { core.count('snapshot-unrestorable'); continue; }
      const existing = this.shadows.get(key);
      if (rec.phase === 'handshake' && existing) { existing.learnIss(rec.iss); this.touch(key); recorded.add(key); continue; }
      if (!existing && this.shadows.size >= core.maxShadows()) { core.count('shadow-table-full'); continue; }
      const sh = svc.restore ? ShadowConnection.fromRecord(rec, core.tcpCfg, svc.service, svc.restore, nowUs) : undefined;
      if (!sh) { core.count('snapshot-unrestorable'); continue; }
      // The record replaces a shadow built from the tap: the primary retains bytes from
      // the record's point on, not from the tap shadow's.
      if (existing) this.dropShadow(key, 'replaced');
      this.adopt(key, sh);
      recorded.add(key);
      restored++;
    }
    // A shadow the tap built (before the serving box was heard) on a shared-state port
    // with no record is of a connection that ended before the snapshot: its effects are
    // in the restored state, and it must not apply more.
    for (const [key, sh] of this.shadows) {
      if (core.sharedPort(sh.tuple.localPort) && !recorded.has(key)) this.dropShadow(key, 'superseded');
    }
    core.count('shadows-restored', restored);
    this.snapshotApplied = true;
    // What the tap showed since the records were made: client bytes and the primary's ACKs.
    // Held during the transfer that completed (or before any, when it is the first): after its snapshot.
    const final = this.receiver.transferId;
    const fresh = (h: Held): boolean => h.transfer === final || (h.transfer === undefined && this.firstTransferId === final);
    const held = this.untapped.splice(0);
    const opened = new Set<string>();
    for (const h of held) if ('notice' in h && h.notice.type === 'connOpen' && fresh(h)) opened.add(tupleKey(h.notice.tuple));
    this.replaying = true;
    this.replayOpened = opened;
    for (const h of held) {
      this.replayingFresh = fresh(h);
      if (!('notice' in h)) this.tap(h.ip, h.srcMac, nowUs);
      else if (h.notice.type === 'connClose') this.onConnClose(h.notice);
      else if (this.replayingFresh || this.shadows.has(tupleKey(h.notice.tuple))) this.onConnOpen(h.notice, nowUs);
      else this.core.count('untapped-stale');
    }
    this.replayOpened = undefined;
    this.replayingFresh = false;
    this.replaying = false;
    core.emit('snapshot.applied', `snapshot applied: ${restored} of ${r.value.records.length} connection(s) restored`);
    this.flushAcks(nowUs, true);
  }
}
