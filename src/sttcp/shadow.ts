// The backup's shadow of one client connection (DESIGN §ST-TCP 1, 4, 7). It follows
// the client's segments seen on the tap exactly as the primary consumes them, feeds the
// bytes to a replica of the application, keeps the replica's output until the client's
// ACKs (also seen on the tap) cover it, and transmits nothing. At takeover it becomes a
// live TcpConnection through a TcpSnapshot: same address, same sequence numbers.
// The tap, the control channel and the takeover decision are node.ts's.
import type { StreamApp, StreamConnection, StreamService, CloseReason } from '../stack/app.js';
import type { TcpOptions, TcpRepr } from '../wire/tcp.js';
import { tcpFlags } from '../wire/tcp.js';
import { TcpConnection, type TcpConfig, type TcpSnapshot } from '../tcp/connection.js';
import type { FourTuple } from '../tcp/four-tuple.js';
import { formatIpv4 } from '../wire/addr.js';
import { Reassembly } from '../tcp/reassembly.js';
import { SendBuffer } from '../tcp/send-buffer.js';
import { seqAdd, seqDiff, seqGe, seqGt, seqLe, seqLt } from '../tcp/seq.js';
import { normalizeConfig } from '../tcp/config.js';
import { appSnapshot, type AppRestore } from './app-state.js';
import type { ConnRecord } from './snapshot-transfer.js';

/** What the backup knows when a shadow starts: from the tapped SYN or a connOpen notice. */
export interface ShadowOpen {
  /** Service perspective: local = service address and port, remote = the client. */
  tuple: FourTuple;
  /** The client's initial sequence number. */
  irs: number;
  /** Options of the client's SYN (MSS, window scale, SACK-permitted, timestamp). */
  clientSynOptions: TcpOptions;
  /** The primary's initial send sequence number, when already known. */
  iss?: number;
}

/** Replica write boundaries a shadow remembers (where a diverged stream may be continued). */
const WRITE_ENDS_MAX = 1024;

/** Client segments held while the primary's ISN is unknown; more are dropped (the client retransmits). */
const EARLY_SEGMENTS_MAX = 32;

export type ShadowPhase = 'handshake' | 'open' | 'closed';

/** Why a shadow cannot continue a connection exactly (reported per connection). */
export type ShadowFault =
  | 'iss-unknown'        // takeover before the primary's ISN was learned
  | 'input-missing'      // the client's bytes the primary acknowledged never reached the backup
  | 'output-diverged';   // the replica's output differs from what the primary sent

export class ShadowConnection {
  readonly tuple: FourTuple;
  readonly irs: number;
  readonly clientSynOptions: TcpOptions;
  iss: number | undefined;
  phase: ShadowPhase = 'handshake';
  /** Set when the shadow knows it cannot continue the stream exactly. */
  fault: ShadowFault | undefined;

  // --- client → service: what the replica has consumed ---
  /** Next client sequence number the replica needs. */
  rcvNxt: number;
  private readonly reassembly: Reassembly;
  private peerFinSeq: number | undefined;
  finReceived = false;
  /** Client bytes delivered to the replica. */
  bytesIn = 0;

  // --- service → client: the replica's output and the client's view of it ---
  private out: SendBuffer | undefined;
  /** Highest acknowledgment number seen from the client. */
  clientAck: number | undefined;
  private clientWndRaw = 0;
  private wl1 = 0;
  private wl2 = 0;
  private appFin = false;
  private appAborted = false;
  /** Output bytes the replica will produce that the client already acknowledged (replica behind). */
  private skipOut = 0;

  // --- timestamps (RFC 7323): the client's TSval and the newest primary TSval it echoed ---
  private tsRecent: number | undefined;
  private maxTsEcr: number | undefined;
  private maxTsEcrSeenUs = 0;
  /** Highest ACK the primary sent the client (two-way tap): client bytes it declared safe. */
  private primaryAck: number | undefined;

  // --- service → client on a two-way tap: the primary's actual output (DESIGN §ST-TCP 4) ---
  /** What the primary sent, contiguous from the client's ACK (what the client may hold in part). */
  private primaryOut: SendBuffer | undefined;
  /** Primary segments beyond a hole the tap left, until a retransmission fills it. */
  private primaryPieces: Reassembly | undefined;
  /** End of the highest primary segment seen. */
  private primaryMax: number | undefined;
  /** The replica's output has been compared with the primary's up to here. */
  private compared: number | undefined;
  /** The replica's output differs from what the primary sent, first at this stream offset. */
  diverged: { offset: number } | undefined;
  /** Where the replica's writes ended (its message boundaries), not yet acknowledged by the client; oldest first. */
  private writeEnds: number[] = [];
  /** Called once, when the replica's output is first seen to differ from the primary's. */
  onDivergence: ((offset: number) => void) | undefined;
  /**
   * Called when what the backup would acknowledge or ask for may have changed without a
   * tapped segment or a control message for this connection (the replica ended its output
   * or read again on its own, a relayed server's reply say): the replica then looks at this
   * shadow again instead of at every shadow on every frame.
   */
  onProgress: (() => void) | undefined;

  // --- the replica ---
  private app: StreamApp | undefined;
  private live: StreamConnection | undefined;
  private wantWritable = false;
  /**
   * The replica asked not to be given client bytes for now (its own consumer is behind: a
   * relayed server, say). They wait in the reassembly queue, unacknowledged to the primary,
   * so in sync mode the client's window closes as it would on the primary.
   */
  private readPaused = false;
  /** After takeover: the live connection's flow control, when it has one. */
  private livePause: { pauseReading(): void; resumeReading(): void } | undefined;
  private readonly facade: StreamConnection & { pauseReading(): void; resumeReading(): void };
  /** Client segments that arrived before the primary's ISN was known (replayed once it is). */
  private early: Array<{ seg: TcpRepr; nowUs: number }> = [];
  lastActivityUs: number;

  constructor(
    open: ShadowOpen,
    private readonly cfg: TcpConfig,
    private readonly service: StreamService,
    nowUs: number,
  ) {
    this.tuple = { ...open.tuple };
    this.irs = open.irs >>> 0;
    this.clientSynOptions = open.clientSynOptions;
    this.rcvNxt = seqAdd(this.irs, 1);
    this.reassembly = new Reassembly(cfg.rcvBufBytes, cfg.maxOutOfOrderSegments);
    this.tsRecent = open.clientSynOptions.timestamp?.value;
    this.lastActivityUs = nowUs;
    if (open.iss !== undefined) this.learnIss(open.iss);
    const self = this;
    this.facade = {
      id: `shadow ${tupleText(open.tuple)}`,
      write(data: Uint8Array): number { return self.appWrite(data); },
      writableBytes(): number {
        if (self.live) return self.live.writableBytes();
        return self.out && !self.appFin && !self.appAborted ? self.out.space() : 0;
      },
      end(): void { if (self.live) self.live.end(); else { self.appFin = true; self.onProgress?.(); } },
      destroy(): void { if (self.live) self.live.destroy(); else self.appAborted = true; },
      pauseReading(): void { if (self.live) self.livePause?.pauseReading(); else self.readPaused = true; },
      resumeReading(): void { if (self.live) self.livePause?.resumeReading(); else self.resumeReading(); },
    };
  }

  /** The primary's ISN, from a connOpen notice or a tapped SYN-ACK. A conflicting value is a fault. */
  learnIss(iss: number): void {
    iss >>>= 0;
    if (this.iss !== undefined) return;
    this.iss = iss;
    this.out = new SendBuffer(this.cfg.sndBufBytes);
    this.out.reset(seqAdd(iss, 1));
    this.primaryOut = new SendBuffer(this.cfg.sndBufBytes);
    this.primaryOut.reset(seqAdd(iss, 1));
    this.primaryPieces = new Reassembly(this.cfg.sndBufBytes, this.cfg.maxOutOfOrderSegments);
    const early = this.early;
    this.early = [];
    for (const e of early) this.handleClientSegment(e.seg, e.nowUs);
  }

  /**
   * A service→client segment from a two-way tap: what the primary acknowledged, and the
   * bytes it sent. Those are kept (until the client acknowledges them) so a takeover
   * resends exactly them, and compared with the replica's output.
   */
  notePrimarySegment(seg: TcpRepr): void {
    if (!seg.flags.ack || seg.flags.rst) return;
    if (this.primaryAck === undefined || seqGt(seg.ack, this.primaryAck)) this.primaryAck = seg.ack;
    const po = this.primaryOut;
    if (po === undefined || seg.payload.length === 0) return;
    const segEnd = seqAdd(seg.seq, seg.payload.length);
    if (this.primaryMax === undefined || seqGt(segEnd, this.primaryMax)) this.primaryMax = segEnd;
    let seq = seg.seq;
    let data = seg.payload;
    if (seqLt(seq, po.endSeq())) {
      const skip = seqDiff(po.endSeq(), seq);
      if (skip >= data.length) return;
      data = data.subarray(skip);
      seq = po.endSeq();
    }
    if (seq === po.endSeq()) {
      po.append(data);
      for (let c = this.primaryPieces!.take(po.endSeq()); c !== undefined; c = this.primaryPieces!.take(po.endSeq())) po.append(c);
    } else {
      this.primaryPieces!.insert(seq, data.slice(), po.endSeq());
    }
    this.compareOutput();
  }

  /** Compares the replica's output with the primary's where both are held; reports the first difference. */
  private compareOutput(): void {
    const out = this.out;
    const po = this.primaryOut;
    if (this.diverged || out === undefined || po === undefined) return;
    let from = this.compared ?? po.startSeq();
    if (seqLt(from, out.startSeq())) from = out.startSeq();
    if (seqLt(from, po.startSeq())) from = po.startSeq();
    const to = seqLt(out.endSeq(), po.endSeq()) ? out.endSeq() : po.endSeq();
    while (seqLt(from, to)) {
      const a = out.slice(from, seqDiff(to, from));
      const b = po.slice(from, a.length);
      const n = Math.min(a.length, b.length);
      if (n === 0) break;
      for (let i = 0; i < n; i++) {
        if (a[i] !== b[i]) {
          this.diverged = { offset: seqDiff(seqAdd(from, i), seqAdd(this.iss!, 1)) };
          this.onDivergence?.(this.diverged.offset);
          return;
        }
      }
      from = seqAdd(from, n);
    }
    this.compared = from;
  }

  /** The client was told bytes are safe that the replica never got (async mode, DESIGN §ST-TCP 3). */
  lacksAcknowledgedInput(): boolean {
    return this.primaryAck !== undefined && this.phase === 'open' && seqGt(this.primaryAck, this.rcvNxt);
  }

  /** A client→service segment from the tap (or a range the primary resent). */
  handleClientSegment(seg: TcpRepr, nowUs: number): void {
    if (this.phase === 'closed') return;
    this.lastActivityUs = nowUs;
    if (seg.flags.rst) {
      // RFC 9293 §3.10.7.4 / RFC 5961: the primary accepts only an in-window RST; a blind
      // one it answers with a challenge ACK. The shadow follows the same rule.
      if (seqGe(seg.seq, this.rcvNxt) && seqLt(seg.seq, seqAdd(this.rcvNxt, Math.max(1, this.cfg.rcvBufBytes)))) {
        this.close('reset');
      }
      return;
    }
    if (seg.flags.syn) return; // a retransmitted SYN changes nothing
    if (seg.options.timestamp) {
      const ts = seg.options.timestamp;
      if (seqLe(seg.seq, this.rcvNxt)) this.tsRecent = ts.value;
      if (seg.flags.ack && (this.maxTsEcr === undefined || seqGt(ts.echo, this.maxTsEcr))) {
        this.maxTsEcr = ts.echo;
        this.maxTsEcrSeenUs = nowUs;
      }
    }
    if (seg.flags.ack) {
      if (this.iss === undefined && this.phase === 'handshake' && seg.payload.length === 0 && seg.seq === this.rcvNxt) {
        // The handshake-completing ACK acknowledges exactly our SYN (DESIGN §ST-TCP 1).
        this.learnIss(seqAdd(seg.ack, -1));
      }
      if (this.iss === undefined) {
        // The client's data can overtake the ISN notice on the control channel: hold it.
        if (this.early.length < EARLY_SEGMENTS_MAX) this.early.push({ seg, nowUs });
        return;
      }
      if (this.phase === 'handshake') this.establish();
      this.handleAck(seg);
    }
    if (this.phase !== 'open') return;
    this.handleData(seg.seq, seg.payload, seg.flags.fin);
  }

  /** Client bytes the primary resent from its retention buffer (control channel); `fin`: the client's FIN follows them. */
  handleRange(seq: number, data: Uint8Array, nowUs: number, fin = false): void {
    // Bytes the primary's application read: its connection is established. A shadow made
    // from an open notice (its SYN and the handshake's ACK missed on the tap) learns it here.
    // Waiting for the next tapped ACK instead dropped these bytes, and that ACK can be a
    // retransmission timeout away (a client whose request sync mode does not acknowledge
    // sends nothing new): bytes the client was already told are safe (ACKed during a join,
    // before gating resumed) were then lost with the primary if it crashed meanwhile.
    if (this.phase === 'handshake' && this.iss !== undefined) this.establish();
    if (this.phase !== 'open') return;
    this.lastActivityUs = nowUs;
    this.handleData(seq, data, fin);
  }

  /**
   * A shadow continuing from the primary's state (DESIGN §ST-TCP 8: a joining backup):
   * the replica restored from the application's snapshot at the byte it has read, the
   * output not yet acknowledged, the client's window and timestamps. From here on it
   * follows the tap as any shadow; bytes it missed meanwhile come from the retention buffer.
   * Undefined when the application cannot be restored from the record.
   */
  static fromRecord(rec: ConnRecord, cfg: TcpConfig, service: StreamService, restore: AppRestore, nowUs: number): ShadowConnection | undefined {
    const syn: TcpOptions = {
      mss: rec.syn.mss,
      ...(rec.syn.windowScale >= 0 ? { windowScale: rec.syn.windowScale } : {}),
      ...(rec.syn.sack ? { sackPermitted: true } : {}),
      ...(rec.syn.timestamps ? { timestamp: { value: rec.tsRecent ?? 0, echo: 0 } } : {}),
    };
    const sh = new ShadowConnection({ tuple: rec.tuple, irs: rec.irs, clientSynOptions: syn, iss: rec.iss }, cfg, service, nowUs);
    if (rec.phase === 'handshake') return sh;
    if (rec.out.length > cfg.sndBufBytes) return undefined;
    const out = sh.out!;
    out.reset(rec.outStart);
    out.append(rec.out);
    // The record's output is the primary's own (sent or about to be): the tap continues it.
    sh.primaryOut!.reset(rec.outStart);
    sh.primaryOut!.append(rec.out);
    sh.phase = 'open';
    sh.rcvNxt = rec.rcvNxt;
    sh.finReceived = rec.finReceived;
    sh.peerFinSeq = rec.peerFinSeq ?? undefined;
    sh.clientAck = rec.sndUna;
    // What the client was told is safe: a takeover before the backup holds it is reported.
    sh.primaryAck = rec.acked;
    sh.clientWndRaw = rec.wndRaw;
    sh.wl1 = rec.wl1;
    sh.wl2 = rec.wl2;
    sh.appFin = rec.appFin;
    sh.skipOut = rec.skipOut;
    if (rec.tsRecent !== null) sh.tsRecent = rec.tsRecent;
    if (rec.tsVal !== null) { sh.maxTsEcr = rec.tsVal; sh.maxTsEcrSeenUs = nowUs; }
    const app = restore(sh.facade, rec.app);
    if (!app) return undefined;
    sh.app = app;
    // The application may have been waiting for room in the primary's send buffer: it
    // hears onWritable as soon as the client's ACKs make room here (or at takeover).
    sh.wantWritable = true;
    return sh;
  }

  /**
   * What the replica lacks, in sequence order, at most `max` ranges [seq, seq+length):
   * holes the tap left before bytes it did show, and, with a two-way tap, bytes the
   * primary acknowledged to the client beyond anything the tap showed (a lost tail, which
   * no later tapped segment would reveal). The retention buffer answers both.
   */
  missingRanges(max: number): Array<{ seq: number; length: number }> {
    const out: Array<{ seq: number; length: number }> = [];
    if (this.phase !== 'open' || max <= 0) return out;
    let at = this.rcvNxt;
    for (const b of this.reassembly.heldRanges()) {
      if (out.length >= max) return out;
      if (seqGt(b.left, at)) out.push({ seq: at, length: seqDiff(b.left, at) });
      if (seqGt(b.right, at)) at = b.right;
    }
    // The primary's ACK covers the client's FIN too: that is not a byte to ask for.
    let acked = this.primaryAck;
    if (acked !== undefined && this.peerFinSeq !== undefined && seqGt(acked, this.peerFinSeq)) acked = this.peerFinSeq;
    if (out.length < max && acked !== undefined && !this.finReceived && seqGt(acked, at)) out.push({ seq: at, length: seqDiff(acked, at) });
    return out;
  }

  /** After takeover: the client already holds the replica's next `n` output bytes (the old primary sent them). */
  skipOutput(n: number): void { this.skipOut += n; }

  /** Output the replica will write that the client already acknowledged (skipped when written). */
  pendingSkip(): number { return this.skipOut; }

  /** Output bytes the replica produced that the client has not acknowledged. */
  unackedOutput(): number { return this.out?.length() ?? 0; }

  private establish(): void {
    this.phase = 'open';
    this.app = this.service(this.facade);
    this.app.onOpen?.();
  }

  private handleAck(seg: TcpRepr): void {
    const out = this.out!;
    if (this.clientAck === undefined || seqGt(seg.ack, this.clientAck)) this.clientAck = seg.ack;
    // RFC 9293 §3.10.7.4: SND.WL1/WL2 rule for taking the window from this segment.
    if (seqLt(this.wl1, seg.seq) || (this.wl1 === seg.seq && seqLe(this.wl2, seg.ack)) || this.wl2 === 0) {
      this.clientWndRaw = seg.window;
      this.wl1 = seg.seq;
      this.wl2 = seg.ack;
    }
    this.trimOutput(out);
  }

  /** Drop output the client acknowledged; remember acknowledged bytes the replica has yet to produce. */
  private trimOutput(out: SendBuffer): void {
    if (this.clientAck === undefined) return;
    // The primary's bytes the client acknowledged are no longer needed (an ACK past them,
    // covering a FIN, or bytes the tap never showed, moves the start on).
    this.primaryOut?.ackTo(this.clientAck);
    while (this.writeEnds.length > 0 && seqLt(this.writeEnds[0]!, this.clientAck)) this.writeEnds.shift();
    const dataEnd = out.endSeq();
    const ackedData = this.appFin && seqGt(this.clientAck, dataEnd) ? dataEnd : this.clientAck;
    if (seqGt(ackedData, out.startSeq())) {
      if (seqLe(ackedData, dataEnd)) out.ackTo(ackedData);
      else {
        // The client acknowledged output the replica has not produced yet (its input is
        // behind the primary's): skip those bytes when they come.
        this.skipOut += seqDiff(ackedData, dataEnd);
        out.ackTo(dataEnd);
        out.reset(ackedData);
      }
    }
    if (this.wantWritable && out.space() > 0 && this.app && !this.live) {
      this.wantWritable = false;
      this.app.onWritable?.();
    }
  }

  private appWrite(data: Uint8Array): number {
    if (this.live) return this.live.write(data);
    const out = this.out;
    if (!out || this.appFin || this.appAborted || this.phase === 'closed') return 0;
    let consumed = 0;
    if (this.skipOut > 0) {
      consumed = Math.min(this.skipOut, data.length);
      this.skipOut -= consumed;
      data = data.subarray(consumed);
    }
    const n = out.append(data);
    if (n < data.length) this.wantWritable = true;
    if (n > 0 && this.primaryOut !== undefined) {
      this.writeEnds.push(out.endSeq());
      if (this.writeEnds.length > WRITE_ENDS_MAX) this.writeEnds.shift();
    }
    this.compareOutput();
    return consumed + n;
  }

  private handleData(seq: number, payload: Uint8Array, fin: boolean): void {
    let data = payload;
    if (fin) {
      const finSeq = seqAdd(seq, data.length);
      if (!this.finReceived && this.peerFinSeq === undefined) this.peerFinSeq = finSeq;
    }
    if (data.length > 0) {
      if (seqLt(seq, this.rcvNxt)) {
        const skip = seqDiff(this.rcvNxt, seq);
        if (skip >= data.length) data = new Uint8Array(0);
        else { data = data.subarray(skip); seq = this.rcvNxt; }
      }
      if (data.length > 0) {
        if (seq === this.rcvNxt && !this.readPaused) this.deliver(data);
        else this.reassembly.insert(seq, data.slice(), this.rcvNxt);
        this.deliverHeld(false);
      }
    }
    this.checkFin();
  }

  /** In-order bytes waiting in the reassembly queue go to the replica (while it reads, unless `evenIfPaused`). */
  private deliverHeld(evenIfPaused: boolean): void {
    while (evenIfPaused || !this.readPaused) {
      const chunk = this.reassembly.take(this.rcvNxt);
      if (chunk === undefined) return;
      this.deliver(chunk);
    }
  }

  private checkFin(): void {
    if (!this.finReceived && this.peerFinSeq !== undefined && this.peerFinSeq === this.rcvNxt) {
      this.finReceived = true;
      this.rcvNxt = seqAdd(this.rcvNxt, 1);
      this.app?.onEnd();
    }
  }

  /** The replica reads again: what waited is delivered now. */
  private resumeReading(): void {
    if (!this.readPaused) return;
    this.readPaused = false;
    this.onProgress?.();
    if (this.phase !== 'open') return;
    this.deliverHeld(false);
    this.checkFin();
  }

  private deliver(data: Uint8Array): void {
    this.rcvNxt = seqAdd(this.rcvNxt, data.length);
    this.bytesIn += data.length;
    this.app?.onData(data);
  }

  /** The client reset the connection, or it ended otherwise while shadowed. */
  close(reason: CloseReason): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    this.app?.onClose?.(reason);
  }

  /** Both FINs sent and our FIN acknowledged: only the ACK of the client's FIN may be outstanding. */
  bothClosed(): boolean {
    if (!this.finReceived || !this.appFin || this.clientAck === undefined || !this.out) return false;
    return this.clientAck === seqAdd(this.out.endSeq(), 1);
  }

  /**
   * Nothing left to take over: both sides closed and the primary was seen acknowledging
   * the client's FIN (two-way tap). Without that sighting the shadow stays until the
   * primary's close notice or its TIME-WAIT runs out, so a takeover can still ACK a
   * retransmitted FIN.
   */
  isFinished(): boolean {
    if (this.phase === 'closed') return true;
    return this.bothClosed() && this.primaryAck !== undefined && !seqLt(this.primaryAck, this.rcvNxt);
  }

  /**
   * Takeover (DESIGN §ST-TCP 7): the live connection that continues this one at the same
   * sequence numbers. It sends from the client's last ACK at once. `bind` is called with
   * the live connection's StreamConnection so the running replica writes there from now on.
   */
  takeOver(nowUs: number, evenIfFaulty = false): { connection: TcpConnection; bindApp: (live: StreamConnection) => StreamApp } | { fault: ShadowFault } {
    if (this.iss === undefined) return { fault: 'iss-unknown' };
    if (!evenIfFaulty && this.lacksAcknowledgedInput()) return { fault: 'input-missing' };
    if (!evenIfFaulty && this.phase === 'open' && !this.cleanSplice()) return { fault: 'output-diverged' };
    const cfg = this.cfg;
    const synOpts: TcpOptions = { ...this.clientSynOptions };
    const syn: TcpRepr = {
      srcPort: this.tuple.remotePort, dstPort: this.tuple.localPort, seq: this.irs, ack: 0,
      flags: tcpFlags({ syn: true }), window: 0xffff, urgentPointer: 0, options: synOpts, payload: new Uint8Array(0),
    };
    const template = TcpConnection.accept(cfg, this.tuple, syn, this.iss, nowUs);
    if (this.phase === 'handshake') {
      // Still in the handshake: the live connection repeats the SYN-ACK (same ISN).
      return { connection: template, bindApp: (live) => this.bind(live) };
    }
    while (template.pollTransmit(nowUs) !== undefined) { /* the SYN-ACK the primary already sent */ }
    // Bytes held for a paused replica go to it now: from here the live connection's own
    // flow control holds the client (bind() passes the pause on).
    if (this.readPaused) { this.deliverHeld(true); this.checkFin(); }
    const info = template.info();
    const s: TcpSnapshot = template.snapshot();
    const v = s.vars;
    const out = this.out!;
    const sndUna = this.clientAck !== undefined && seqGt(this.clientAck, seqAdd(this.iss, 1)) ? this.clientAck : seqAdd(this.iss, 1);
    const dataEnd = out.endSeq();
    const finSeq = dataEnd;
    const ourFinAcked = this.appFin && sndUna === seqAdd(finSeq, 1);
    // Send buffer: the replica's unacknowledged output, starting at the client's ACK.
    const sb = new SendBuffer(cfg.sndBufBytes);
    const dataUna = ourFinAcked ? dataEnd : sndUna;
    sb.reset(seqLe(dataUna, out.startSeq()) ? out.startSeq() : dataUna);
    // The primary's own bytes first (two-way tap): the client may hold part of them.
    let at = sb.startSeq();
    const po = this.primaryOut;
    if (po !== undefined && seqLe(po.startSeq(), at) && seqLt(at, po.endSeq())) {
      at = seqAdd(at, sb.append(po.slice(at, seqDiff(po.endSeq(), at))));
    }
    // Then the replica's output; what the primary sent beyond it, the replica skips when it writes it.
    if (seqLt(at, dataEnd)) sb.append(out.slice(at, seqDiff(dataEnd, at)));
    else if (seqGt(at, dataEnd)) this.skipOut += seqDiff(at, dataEnd);
    s.sendBuffer = sb.snapshot();
    v.sndUna = sndUna;
    v.sndNxt = sndUna;
    v.sndMax = sndUna;
    v.sndWl1 = this.wl1;
    v.sndWl2 = this.wl2;
    v.sndWnd = this.clientWndRaw << (info.sndWndShift ?? 0);
    v.maxSndWnd = Math.max(v.maxSndWnd, v.sndWnd);
    v.recoverEnd = sndUna;
    v.highRxt = sndUna;
    // Receive side: everything in order went to the replica; out-of-order bytes carry over.
    v.rcvNxt = this.rcvNxt;
    const maxWnd = v.rcvWndShift === 0 ? 0xffff : 0xffff << v.rcvWndShift;
    v.rcvAdv = seqAdd(this.rcvNxt, Math.min(cfg.rcvBufBytes, maxWnd));
    v.rcvQueueBytes = 0;
    s.rcvQueue = [];
    s.reassembly = this.reassembly.snapshot();
    v.finReceived = this.finReceived;
    v.peerFinSeq = this.finReceived ? undefined : this.peerFinSeq;
    v.lastAckSent = this.rcvNxt;
    // Closing states (RFC 9293 §3.3.2) from what each side has done.
    if (!this.appFin) v.state = this.finReceived ? 'CLOSE-WAIT' : 'ESTABLISHED';
    // Both FINs out, ours unacknowledged: CLOSING rather than LAST-ACK, so that the
    // connection lingers in TIME-WAIT once the client acknowledges our FIN and still ACKs
    // the client's retransmissions (our ACK of its last bytes may have died with the
    // primary, or been dropped after the takeover) instead of meeting a closed port.
    else if (!ourFinAcked) v.state = this.finReceived ? 'CLOSING' : 'FIN-WAIT-1';
    else v.state = this.finReceived ? 'TIME-WAIT' : 'FIN-WAIT-2';
    v.finRequested = this.appFin;
    v.finSeq = finSeq;
    v.finSent = ourFinAcked;
    if (v.state === 'TIME-WAIT') v.timeWaitDeadlineUs = nowUs + cfg.timeWaitUs;
    // Timestamps: keep TSval ahead of anything the primary sent (the client's PAWS check,
    // RFC 7323 §5): the newest echoed TSval plus the time since, plus a second of slack.
    if (v.tsOn) {
      if (this.tsRecent !== undefined) v.tsRecent = this.tsRecent;
      v.tsRecentAgeUs = nowUs;
      if (this.maxTsEcr !== undefined) {
        const elapsedMs = Math.ceil((nowUs - this.maxTsEcrSeenUs) / 1000);
        const target = seqAdd(this.maxTsEcr, elapsedMs + 1000);
        v.tsOffset = seqAdd(target, -Math.floor(nowUs / 1000));
      }
    }
    v.ackNow = true;
    v.delackDeadlineUs = undefined;
    v.rtxDeadlineUs = undefined;
    v.persistDeadlineUs = undefined;
    v.rttSeq = undefined;
    v.lastRecvUs = nowUs;
    v.lastSendUs = nowUs;
    v.ackLimit = undefined;
    // No RTT sample survives the takeover. Start the retransmission timer at the minimum
    // RTO rather than the 1 s of a new connection, spread over [min, 2·min) by the tuple so
    // that connections taken over together do not retransmit in one synchronized burst.
    const spread = (Math.imul(this.tuple.remotePort ^ this.tuple.remoteIp, 2654435761) >>> 0) % Math.max(1, cfg.minRtoUs);
    s.rtt.initialRtoUs = Math.min(s.rtt.initialRtoUs, cfg.minRtoUs + spread);
    s.events = [];
    const connection = TcpConnection.restore(s, cfg);
    if (this.appAborted) connection.abort();
    // The replica lacks client bytes the tap missed and the primary died before resending:
    // the client still holds them, unacknowledged. Repeated ACKs of where we stand make it
    // retransmit at once; else it would wait out its retransmission timeout (200 ms and
    // more) while everything after the hole sits here.
    else if (this.missingRanges(1).length > 0) connection.repeatAck(4, nowUs);
    return { connection, bindApp: (live) => this.bind(live) };
  }

  /**
   * Whether the live connection can continue the client's stream exactly from what the
   * shadow holds. Without a divergence it can. After one, only at a message boundary:
   * the primary's bytes seen on the tap are contiguous and end exactly where one of the
   * replica's writes ended (in a request/response protocol, between replies). The client
   * then gets the primary's bytes up to there and only whole writes of the replica after
   * them; the divergence stays reported. Anywhere else, the replica's bytes after the
   * primary's would mix two different streams: the connection is reset instead.
   */
  private cleanSplice(): boolean {
    const out = this.out;
    const po = this.primaryOut;
    if (out === undefined || po === undefined) return true;
    if (this.appFin && this.primaryMax !== undefined && seqGt(this.primaryMax, out.endSeq())) return false;
    if (this.diverged === undefined) return true;
    if (this.primaryMax !== undefined && this.primaryMax !== po.endSeq()) return false;
    const p = po.endSeq();
    return p === seqAdd(this.iss!, 1) || this.writeEnds.includes(p);
  }

  private bind(live: StreamConnection): StreamApp {
    const self = this;
    const lp = live as Partial<{ pauseReading(): void; resumeReading(): void }>;
    if (typeof lp.pauseReading === 'function' && typeof lp.resumeReading === 'function') {
      this.livePause = { pauseReading: () => lp.pauseReading!(), resumeReading: () => lp.resumeReading!() };
      if (this.readPaused) this.livePause.pauseReading();
    }
    this.readPaused = false;
    this.live = {
      id: live.id,
      write(data: Uint8Array): number {
        let consumed = 0;
        if (self.skipOut > 0) {
          consumed = Math.min(self.skipOut, data.length);
          self.skipOut -= consumed;
          data = data.subarray(consumed);
        }
        return consumed + live.write(data);
      },
      writableBytes: () => live.writableBytes(),
      end: () => live.end(),
      destroy: () => live.destroy(),
    };
    if (this.app) {
      // The replica was waiting for room in the shadow's buffer: the live connection has room now.
      if (this.wantWritable) { this.wantWritable = false; this.app.onWritable?.(); }
      return this.app;
    }
    // Taken over inside the handshake: the replica starts with the live connection.
    this.phase = 'open';
    this.app = this.service(this.facade);
    const app = this.app;
    // The host reports establishment through onOpen on the object we return.
    return { ...proxyApp(app), onOpen: () => app.onOpen?.() };
  }
}

function proxyApp(app: StreamApp): StreamApp & { snapshot: () => ReturnType<typeof appSnapshot> } {
  return {
    onData: (d) => app.onData(d),
    onEnd: () => app.onEnd(),
    onWritable: () => app.onWritable?.(),
    onClose: (r) => app.onClose?.(r),
    snapshot: () => appSnapshot(app),
  };
}

export function tupleText(t: FourTuple): string {
  return `${formatIpv4(t.remoteIp)}:${t.remotePort}>${formatIpv4(t.localIp)}:${t.localPort}`;
}

export function shadowConfig(tcp: Partial<TcpConfig> | undefined): TcpConfig {
  return normalizeConfig(tcp);
}
