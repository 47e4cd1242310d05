// Back-end failure mid-response (DESIGN §CRAFT): ICMP echo health checks mark a back end
// down; each of its splices is moved to another back end with an HTTP Range request from
// the first byte the client has not acknowledged. The replacement's response head is
// terminated on our stack and its body spliced at the exact offset. The splicer owns the
// splice table; this file reaches it only through FailoverContext.
import type { Host } from '../stack/host.js';
import type { HostStreamConnection, HostStreamService } from '../stack/tcp-demux.js';
import type { StreamApp } from '../stack/app.js';
import type { FourTuple } from '../tcp/four-tuple.js';
import { seqDiff, seqGt } from '../tcp/seq.js';
import { parseIpv4 } from '../wire/addr.js';
import { parseIpv4Packet } from '../wire/ipv4.js';
import { parseTcpSegment } from '../wire/tcp.js';
import { parseRequestHead, parseResponseHeadPrefix, type RequestHead } from './http-head.js';
import type { Router } from './routes.js';
import type { SpliceState } from './splice.js';
import { concatBytes, latin1, keyOf, type FrameKey, type SpliceEngine } from './splice-engine.js';

/** What the failover needs from the splicer. */
export interface FailoverContext {
  readonly host: Host<SpliceEngine>;
  /** The host whose address sends the health checks' echo requests and gets their replies. */
  readonly healthHost: Pick<Host, 'ping' | 'onEchoReply'>;
  readonly router: Router;
  readonly headLimitBytes: number;
  nowUs(): number;
  /** The splices this box forwards (a peer's untouched replicas are left to the peer). */
  splices(): SpliceState[];
  /** Opens a back-end connection with options matching the client's; undefined if no local port is free. */
  connect(ip: string, port: number, opts: SpliceState['clientOpts'], makeApp: HostStreamService): HostStreamConnection | undefined;
  engineOf(tuple: FourTuple): SpliceEngine | undefined;
  forgetEngine(tuple: FourTuple): void;
  /** Removes the failed back end's key from the splice table (the client's key stays). */
  detachBackend(sp: SpliceState): void;
  attachBackend(sp: SpliceState, key: string): void;
  removeSplice(sp: SpliceState, why: string): void;
  forward(sp: SpliceState, k: FrameKey, frame: Uint8Array, nowUs: number): void;
  inc(name: string): void;
  event(kind: 'backend-failed' | 'spliced', text: string): void;
  /** A back end went down: sessions still setting up on it move elsewhere. */
  backendDown(id: string): void;
  /** The client has the whole response but its back end is gone: close the client's side ourselves. */
  finishClient(sp: SpliceState): void;
}

export interface HealthConfig {
  intervalUs: number;
  /** No echo reply for this long: down. */
  timeoutUs: number;
}

/** A splice whose back end failed, being moved to another one. */
interface Resplice {
  sp: SpliceState;
  backendId: string;
  /** Body offset the Range request starts at, and the client-space sequence number of that byte. */
  from: number;
  clientPos: number;
  conn: HostStreamConnection;
  engine: SpliceEngine;
  key: string;
  request: Uint8Array;
  written: number;
  tried: Set<string>;
  buf: Uint8Array[];
  bufBytes: number;
  /** Length of the replacement's response head, once read (its body is then spliced). */
  headLen: number | undefined;
  /** The client has no response byte: the request goes again as it was, and the whole response is spliced. */
  fresh: boolean;
  done: boolean;
}

const EMPTY = new Uint8Array(0);
const PING_IDENTIFIER = 0x4352;

export class BackendFailover {
  private readonly health = new Map<string, { ip: number; lastReplyUs: number; down: boolean }>();
  private nextHealthUs: number | undefined;
  private pingSeq = 0;
  /** The first round of echo requests has gone out (replies are awaited from then on). */
  private healthStarted = false;
  /** Re-splices waiting for their replacement back end, by that back end's incoming key. */
  private readonly resplices = new Map<string, Resplice>();

  constructor(private readonly ctx: FailoverContext, private readonly healthCfg: HealthConfig | undefined) {
    if (healthCfg === undefined) return;
    for (const b of ctx.router.backends()) {
      const ip = parseIpv4(b.ip);
      if (ip !== undefined && !this.health.has(b.id)) this.health.set(b.id, { ip, lastReplyUs: ctx.nowUs(), down: false });
    }
    this.nextHealthUs = ctx.nowUs();
    ctx.healthHost.onEchoReply((src, ident, _seq, _data, nowUs) => {
      if (ident !== PING_IDENTIFIER) return;
      const ip = parseIpv4(src);
      for (const [id, h] of this.health) {
        if (h.ip !== ip) continue;
        h.lastReplyUs = nowUs;
        if (h.down) { h.down = false; ctx.router.markUp(id); ctx.inc('backend-up'); }
      }
    });
  }

  deadline(): number | undefined {
    return this.nextHealthUs;
  }

  /** A standby becoming active: health is judged from now on (it sent no echo requests before). */
  restartHealth(nowUs: number): void {
    if (this.nextHealthUs === undefined) return;
    for (const h of this.health.values()) h.lastReplyUs = nowUs;
    this.nextHealthUs = nowUs;
  }

  /** A frame with this key may belong to a replacement back end. */
  waiting(key: string): boolean {
    return this.resplices.size > 0 && this.resplices.get(key)?.headLen !== undefined;
  }

  handleTimeout(nowUs: number): void {
    if (this.nextHealthUs === undefined || nowUs < this.nextHealthUs) return;
    const cfg = this.healthCfg!;
    if (!this.healthStarted) {
      // The box's clock reaches us first here (a box restarted late in a run was built at
      // time 0): the wait for a reply starts with the first echo requests.
      this.healthStarted = true;
      for (const h of this.health.values()) h.lastReplyUs = nowUs;
    }
    this.nextHealthUs = nowUs + cfg.intervalUs;
    for (const [id, h] of this.health) {
      if (!h.down && nowUs - h.lastReplyUs >= cfg.timeoutUs) {
        h.down = true;
        this.ctx.router.markDown(id);
        this.ctx.inc('backend-down');
        this.ctx.event('backend-failed', `${id} down: no echo reply for ${nowUs - h.lastReplyUs} µs`);
        for (const sp of this.ctx.splices()) if (sp.backendId === id && !sp.resplicing) this.start(sp, new Set([id]));
        this.ctx.backendDown(id);
      }
      this.pingSeq = (this.pingSeq + 1) & 0xffff;
      this.ctx.healthHost.ping(h.ip, PING_IDENTIFIER, this.pingSeq, EMPTY, nowUs);
    }
  }

  /** The splice is going away: abandon its re-splice. */
  cancel(sp: SpliceState): void {
    for (const rs of [...this.resplices.values()]) {
      if (rs.sp !== sp) continue;
      rs.done = true;
      this.resplices.delete(rs.key);
      rs.conn.destroy();
    }
  }

  /**
   * Whether a re-splice could start now: false while the client holds part of the response
   * but has not yet acknowledged its whole head (its ACKs are on the way), so that neither a
   * Range request nor a whole new response fits what it has.
   */
  canDecide(sp: SpliceState): boolean {
    if (sp.respHeadLen === undefined || sp.respHeadLen === 0xffffffff) return true;
    if (seqDiff(sp.clientAcked, sp.respStart) >= sp.respHeadLen) return true;
    return sp.clientAcked === sp.respStart && (sp.b2cNxt === sp.respStart || (sp.clientOpts.sack && sp.clientHoles === false));
  }

  /** Moves a splice to another back end, continuing the response at the byte the client acknowledged. */
  start(sp: SpliceState, tried: Set<string>): void {
    const headLen = sp.respHeadLen;
    const bodyLen = sp.respBodyLen;
    const got = headLen === undefined ? -1 : seqDiff(sp.clientAcked, sp.respStart) - headLen;
    if (bodyLen !== undefined && got >= bodyLen) { this.ctx.finishClient(sp); return; }
    // Nothing of the response acknowledged and nothing held out of order (nothing forwarded
    // yet, or the client's ACK had no SACK blocks): the client has none of it, so any back
    // end's whole response can take its place.
    const fresh = sp.clientAcked === sp.respStart && (sp.b2cNxt === sp.respStart || (sp.clientOpts.sack && sp.clientHoles === false))
      && sp.request !== undefined && !sp.rst && sp.finBackend === undefined;
    if (!fresh && (sp.request === undefined || headLen === undefined || bodyLen === undefined || sp.rst || sp.finBackend !== undefined || got < 0)) {
      this.ctx.removeSplice(sp, 'resplice-impossible');
      return;
    }
    if (!sp.resplicing) {
      this.ctx.detachBackend(sp);
      sp.resplicing = true;
    }
    const req = parseRequestHeadText(sp.request!);
    const d = req === undefined ? undefined : this.ctx.router.choose(req, this.ctx.nowUs(), tried);
    if (d === undefined || d.kind !== 'backend') { this.ctx.removeSplice(sp, 'resplice-no-backend'); return; }
    tried.add(d.backend.id);
    const ref: { rs?: Resplice } = {};
    const conn = this.ctx.connect(d.backend.ip, d.backend.port, sp.clientOpts, (bc) => this.app(ref, bc));
    if (conn === undefined) { this.ctx.removeSplice(sp, 'resplice-no-port'); return; }
    // RFC 9110 §14.2: a Range request for the rest of the body, from the first byte the client has not acknowledged.
    const text = fresh ? sp.request! : `${sp.request!.slice(0, -2)}Range: bytes=${got}-\r\n\r\n`;
    const rs: Resplice = {
      sp, backendId: d.backend.id, from: fresh ? 0 : got, clientPos: sp.clientAcked, conn, engine: this.ctx.engineOf(conn.tuple)!,
      key: keyOf(conn.tuple.remoteIp, conn.tuple.remotePort, conn.tuple.localPort), request: latin1(text), written: 0, tried,
      buf: [], bufBytes: 0, headLen: fresh ? 0 : undefined, done: false, fresh,
    };
    ref.rs = rs;
    this.resplices.set(rs.key, rs);
    this.ctx.inc('resplice-started');
  }

  private app(ref: { rs?: Resplice }, bc: HostStreamConnection): StreamApp {
    const fail = (why: string): void => {
      const rs = ref.rs;
      if (rs === undefined || rs.done || rs.conn !== bc) return;
      rs.done = true;
      this.resplices.delete(rs.key);
      this.ctx.inc(`resplice-backend-failed-${why}`);
      bc.destroy();
      if (rs.sp.resplicing) this.start(rs.sp, rs.tried);
    };
    return {
      onOpen: () => {
        const rs = ref.rs!;
        const bi = rs.engine.conn.info();
        // Only the head of the replacement's response is ever acknowledged by our stack.
        rs.engine.conn.setAckLimit((bi.irs + 1) >>> 0);
        if (bi.tsOn !== rs.sp.clientOpts.ts) { fail('options'); return; }
        rs.written = bc.write(rs.request);
        if (rs.written < rs.request.length) fail('send-buffer');
      },
      onData: (d) => {
        const rs = ref.rs;
        if (rs === undefined || rs.done || rs.headLen !== undefined || rs.fresh) return;
        rs.buf.push(d.slice());
        rs.bufBytes += d.length;
        const all = concatBytes(rs.buf);
        const info = parseResponseHeadPrefix(all);
        if (info === undefined) {
          if (hasHeadEnd(all) || rs.bufBytes > this.ctx.headLimitBytes) fail('response-head');
          return;
        }
        // RFC 9110 §15.3.7: 206 with a Content-Range starting at the byte we asked for.
        if (info.status !== 206 || info.contentRangeStart !== rs.from) { fail(`status-${info.status}`); return; }
        rs.headLen = info.headLen;
        rs.buf = [];
        const bi = rs.engine.conn.info();
        rs.engine.conn.setAckLimit((bi.irs + 1 + info.headLen) >>> 0);
        this.ctx.host.pokeTcp(bc.tuple, this.ctx.nowUs());
      },
      onEnd: () => undefined,
      onClose: (reason) => {
        this.ctx.forgetEngine(bc.tuple);
        const rs = ref.rs;
        if (rs !== undefined && !rs.done && rs.conn === bc) {
          const bi = rs.engine.conn.info();
          const st = rs.engine.conn.stats();
          this.ctx.event('backend-failed', `#${rs.sp.id} re-splice to ${rs.backendId} from port ${bc.tuple.localPort}: connection ${reason} ${bi.sndUna === bi.iss ? 'before its handshake' : 'after its handshake'}, ${rs.written} request bytes written, ${rs.bufBytes} response bytes, ${st.retransmits} retransmissions`);
        }
        fail(`closed-${reason}`);
      },
    };
  }

  /**
   * A frame from a replacement back end whose head we have read (and acknowledged): if it
   * acknowledges our whole request, switch the splice over to it and forward the frame.
   */
  trySwitch(k: FrameKey, frame: Uint8Array, nowUs: number): boolean {
    const rs = this.resplices.get(k.key);
    if (rs === undefined || rs.headLen === undefined) return false;
    const ip = parseIpv4Packet(frame.subarray(k.ipOff));
    if (!ip.ok) return false;
    const seg = parseTcpSegment(ip.value.payload, ip.value.src, ip.value.dst);
    if (!seg.ok) return false;
    const t = seg.value;
    if (t.flags.syn || t.flags.rst || !t.flags.ack) return false;
    const bi = rs.engine.conn.info();
    const expectAck = (bi.iss + 1 + rs.written) >>> 0;
    if (t.ack !== expectAck || bi.sndMax !== expectAck) return false;
    const sp = rs.sp;
    // Body byte `from` is the replacement's irs+1+headLen and the client's clientPos.
    sp.seqB2C = (rs.clientPos - ((bi.irs + 1 + rs.headLen) >>> 0)) >>> 0;
    sp.seqC2B = (expectAck - sp.clientNxt) >>> 0;
    if (sp.tsC2B !== undefined) {
      // RFC 7323 §5.3 (PAWS): the replacement's TSvals continue from the last one the client saw.
      const val = t.options.timestamp?.value;
      if (val !== undefined && sp.tsToClient !== undefined) sp.tsB2C = (sp.tsToClient - val) >>> 0;
      if (rs.engine.lastTsValSent !== undefined && sp.clientTsVal !== undefined) sp.tsC2B = (rs.engine.lastTsValSent - sp.clientTsVal) >>> 0;
    }
    sp.winC2B = { inShift: sp.winC2B.inShift, outShift: bi.rcvWndShift };
    sp.winB2C = { inShift: bi.sndWndShift, outShift: sp.winB2C.outShift };
    sp.sackToBackend = bi.sackOn;
    sp.backend = { ip: rs.conn.tuple.remoteIp, port: rs.conn.tuple.remotePort, mac: frame.slice(6, 12), localPort: rs.conn.tuple.localPort };
    sp.backendId = rs.backendId;
    sp.finBackend = undefined;
    sp.finBackendAcked = false;
    sp.resplicing = false;
    sp.lastB2CUs = nowUs;
    sp.lastC2BUs = nowUs;
    // The replacement starts here: client ACKs are capped to it until it has sent as far as
    // the client can hold: what the failed back end sent, as far as this box saw (a replica's
    // record may be older), or further by the client's own SACK blocks. Without SACK the
    // client may hold unseen out-of-order bytes: capped to the end.
    const sentBefore = sp.clientSackHigh !== undefined && seqGt(sp.clientSackHigh, sp.b2cNxt) ? sp.clientSackHigh : sp.b2cNxt;
    sp.b2cNxt = rs.clientPos;
    sp.capAcks = true;
    sp.capUntil = sp.clientOpts.sack ? (seqGt(sentBefore, rs.clientPos) ? sentBefore : rs.clientPos) : undefined;
    if (rs.fresh) {
      // A whole new response: its framing is read again from its first segment.
      sp.respHeadLen = undefined;
      sp.respBodyLen = undefined;
      sp.respEnd = undefined;
    }
    rs.done = true;
    this.resplices.delete(rs.key);
    this.ctx.attachBackend(sp, rs.key);
    rs.engine.release();
    this.ctx.forgetEngine(rs.conn.tuple);
    this.ctx.host.pokeTcp(rs.conn.tuple, nowUs);
    this.ctx.inc('resplice');
    this.ctx.event('spliced', `#${sp.id} re-spliced to ${rs.backendId} ${rs.fresh ? 'with the whole response' : `from body byte ${rs.from}`}`);
    this.ctx.forward(sp, k, frame, nowUs);
    return true;
  }
}

function hasHeadEnd(b: Uint8Array): boolean {
  for (let i = 0; i + 3 < b.length; i++) if (b[i] === 13 && b[i + 1] === 10 && b[i + 2] === 13 && b[i + 3] === 10) return true;
  return false;
}

function parseRequestHeadText(text: string): RequestHead | undefined {
  const r = parseRequestHead(latin1(text));
  return r.ok ? r.value : undefined;
}
