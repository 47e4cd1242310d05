// Per-request routing on a kept-alive spliced connection (issue 5, HTTP keep-alive): the
// splicer knows where the current request ends (client space, `reqEnd`) and, from the first
// response segment, where the response ends (`respEnd`, Content-Length framing). Client data
// beyond `reqEnd` is the next request: it is held here (not forwarded, not acknowledged)
// until its head is complete and the client has acknowledged the whole previous response.
// The rules then pick a back end: the same one continues the splice (the held segments are
// forwarded); another one gets a fresh connection from our stack carrying the request head,
// and once it has acknowledged it, the splice continues on it with new offsets (the old
// back-end connection is reset). The splicer owns the splice table; this file reaches it only
// through KeepAliveContext. Not handled (the connection stays on its back end, `pinned`):
// chunked or close-delimited responses, 1xx, response heads split across segments, a next
// request with a body or a FIN.
import type { Host } from '../stack/host.js';
import type { HostStreamConnection, HostStreamService } from '../stack/tcp-demux.js';
import type { StreamApp } from '../stack/app.js';
import type { FourTuple } from '../tcp/four-tuple.js';
import { seqDiff, seqGe, seqGt } from '../tcp/seq.js';
import { ETHERNET_HEADER_LEN, ETHERTYPE, emitEthernetFrame } from '../wire/ethernet.js';
import { IPV4_HEADER_LEN, emitIpv4Packet, parseIpv4Packet } from '../wire/ipv4.js';
import { emitTcpSegment, parseTcpSegment, tcpFlags, tcpSegmentLen, type TcpRepr } from '../wire/tcp.js';
import { foldChecksum, onesSum, pseudoHeaderSum } from '../wire/checksum.js';
import { RequestHeadParser, type RequestHead } from './http-head.js';
import type { BackendSpec, Router } from './routes.js';
import type { SpliceState } from './splice.js';
import { REQUEST_MAX_CHARS } from './replication.js';
import { concatBytes, keyOf, type FrameKey, type SpliceEngine } from './splice-engine.js';

export interface KeepAliveContext {
  readonly host: Host<SpliceEngine>;
  readonly router: Router;
  readonly headLimitBytes: number;
  readonly serviceIp: number;
  readonly serviceMac: Uint8Array;
  nowUs(): number;
  connect(ip: string, port: number, opts: SpliceState['clientOpts'], makeApp: HostStreamService): HostStreamConnection | undefined;
  engineOf(tuple: FourTuple): SpliceEngine | undefined;
  forgetEngine(tuple: FourTuple): void;
  detachBackend(sp: SpliceState): void;
  attachBackend(sp: SpliceState, key: string): void;
  removeSplice(sp: SpliceState, why: string): void;
  forward(sp: SpliceState, k: FrameKey, frame: Uint8Array, nowUs: number): void;
  send(frame: Uint8Array): void;
  /** Sends `frame` after the splice's held packets (if its state is waiting for the peer), else now. */
  sendAfterHeld(sp: SpliceState, frame: Uint8Array): void;
  inc(name: string): void;
  event(kind: 'spliced', text: string): void;
  /** The splice's routing state changed: its packets wait until a peer splicer has the new state. */
  replicateHold(sp: SpliceState): void;
}

/** The next request on a spliced connection, being read (and perhaps moved to another back end). */
interface NextRequest {
  sp: SpliceState;
  /** Client-space sequence number of its first byte (the splice's reqEnd when it began). */
  start: number;
  /** Received bytes by offset from `start` (the client may send them out of order). */
  chunks: Array<{ off: number; data: Uint8Array }>;
  /** Copies of the client's segments, forwarded as they are if the request stays on this back end. */
  frames: Array<{ frame: Uint8Array; k: FrameKey }>;
  head: RequestHead | undefined;
  headRaw: Uint8Array | undefined;
  /** Moving to another back end: its connection, and what it must acknowledge. */
  backend: BackendSpec | undefined;
  conn: HostStreamConnection | undefined;
  engine: SpliceEngine | undefined;
  key: string | undefined;
  written: number;
  tried: Set<string>;
  /** The reset for the back end we leave: sent once the new splice state is replicated. */
  oldReset: Uint8Array | undefined;
}

const PENDING_MAX = 4096;
const FRAMES_MAX = 64;

function rd32(b: Uint8Array, o: number): number { return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0; }

export class KeepAliveRouter {
  private readonly pending = new Map<SpliceState, NextRequest>();
  /** Requests moving to another back end, by that back end's incoming key. */
  private readonly switching = new Map<string, NextRequest>();

  constructor(private readonly ctx: KeepAliveContext) {}

  size(): number { return this.pending.size; }

  /** Does this (checksum-verified) client segment carry bytes beyond the current request? */
  intercepts(sp: SpliceState, frame: Uint8Array, k: FrameKey): boolean {
    if (sp.reqEnd === undefined || sp.pinned === true) return false;
    const len = k.tcpEnd - k.tcpOff - ((frame[k.tcpOff + 12]! >>> 4) * 4);
    if (len <= 0) return false;
    return seqGt((rd32(frame, k.tcpOff + 4) + len) >>> 0, sp.reqEnd);
  }

  /** A frame from a back end a request is moving to. */
  waiting(key: string): boolean {
    return this.switching.size > 0 && this.switching.has(key);
  }

  /** The splice goes away: abandon its next request. */
  cancel(sp: SpliceState): void {
    const nr = this.pending.get(sp);
    if (nr === undefined) return;
    this.pending.delete(sp);
    if (nr.key !== undefined) this.switching.delete(nr.key);
    nr.conn?.destroy();
  }

  /** A client segment reaching past the current request: its earlier part and its ACK go on; the rest is held. */
  intercept(sp: SpliceState, k: FrameKey, frame: Uint8Array, nowUs: number): void {
    let nr = this.pending.get(sp);
    if (nr === undefined) {
      if (this.pending.size >= PENDING_MAX) { this.ctx.inc('keepalive-pending-full'); return; }   // the client retransmits
      nr = {
        sp, start: sp.reqEnd!, chunks: [], frames: [], head: undefined, headRaw: undefined,
        backend: undefined, conn: undefined, engine: undefined, key: undefined, written: 0, tried: new Set([sp.backendId]),
        oldReset: undefined,
      };
      this.pending.set(sp, nr);
      this.ctx.inc('keepalive-next-request');
    }
    if (nr.conn !== undefined) { this.ctx.inc('keepalive-drop-switching'); return; }
    const t = k.tcpOff;
    const dataOff = t + ((frame[t + 12]! >>> 4) * 4);
    const len = k.tcpEnd - dataOff;
    const seq = rd32(frame, t + 4);
    const ack = rd32(frame, t + 8);
    const fin = (frame[t + 13]! & 0x01) !== 0;
    const keep = Math.max(0, Math.min(len, seqDiff(nr.start, seq)));
    // The bytes before the boundary (a retransmission) and a new ACK still reach the current back end.
    if (keep > 0 || ((frame[t + 13]! & 0x10) !== 0 && seqGt(ack, sp.clientAcked))) {
      const cut = trimPayload(frame, k, keep);
      this.ctx.forward(sp, cut.k, cut.frame, nowUs);
    }
    if (fin) { this.stay(nr, undefined, 'fin'); return; }
    const off = seqDiff((seq + keep) >>> 0, nr.start);
    const data = frame.slice(dataOff + keep, k.tcpEnd);
    if (off + data.length > this.ctx.headLimitBytes) { this.stay(nr, undefined, 'too-large'); return; }
    if (!nr.chunks.some((c) => c.off === off && c.data.length >= data.length)) nr.chunks.push({ off, data });
    if (nr.frames.length < FRAMES_MAX) nr.frames.push({ frame: frame.slice(0, k.tcpEnd), k });
    this.poke(sp, nowUs);
  }

  /** Something changed (bytes held, the client acknowledged more): decide the next request if it is ready. */
  poke(sp: SpliceState, nowUs: number): void {
    const nr = this.pending.get(sp);
    if (nr === undefined || nr.conn !== undefined) return;
    if (nr.head === undefined) {
      const prefix = contiguous(nr.chunks);
      if (prefix.length === 0) return;
      const st = new RequestHeadParser(this.ctx.headLimitBytes).push(prefix);
      if (st.kind === 'incomplete') return;
      if (st.kind === 'error') { this.stay(nr, undefined, 'bad-head'); return; }     // the back end answers it
      nr.head = st.head;
      nr.headRaw = prefix.slice(0, st.head.headBytes);
    }
    // The previous response must be complete and acknowledged: the old back end then owes the client nothing.
    if (sp.respEnd === undefined || !seqGe(sp.clientAcked, sp.respEnd)) return;
    const head = nr.head;
    const hdr = (n: string): string | undefined => head.headers.find((h) => h.name.toLowerCase() === n)?.value;
    const te = hdr('transfer-encoding');
    const cl = Number(hdr('content-length') ?? '0');
    if (te !== undefined || !Number.isSafeInteger(cl) || cl < 0) { this.stay(nr, undefined, 'body'); return; }
    const reqEnd = (nr.start + head.headBytes + cl) >>> 0;
    if (cl > 0) { this.stay(nr, reqEnd, 'body'); return; }
    const d = this.ctx.router.choose(head, nowUs);
    if (d.kind !== 'backend') { this.stay(nr, reqEnd, 'no-route'); return; }
    // Affinity: a back end of the chosen pool that already holds the connection keeps it.
    if (d.backend.id === sp.backendId || (this.ctx.router.poolHas(d.pool, sp.backendId) && this.ctx.router.isUp(sp.backendId, nowUs))) {
      this.stay(nr, reqEnd, 'same');
      return;
    }
    this.startSwitch(nr, d.backend);
  }

  /** The request continues on the current back end: release its segments. reqEnd undefined: stop routing per request. */
  private stay(nr: NextRequest, reqEnd: number | undefined, why: string): void {
    const sp = nr.sp;
    this.pending.delete(sp);
    this.ctx.inc(`keepalive-stay-${why}`);
    if (reqEnd === undefined) sp.pinned = true;
    else this.nextRequest(sp, reqEnd, nr.head!, nr.headRaw!);
    this.ctx.replicateHold(sp);
    const now = this.ctx.nowUs();
    for (const f of nr.frames) this.ctx.forward(sp, f.k, f.frame, now);
  }

  /** Routing state for the request that starts now; the response starts where the previous one ended. */
  private nextRequest(sp: SpliceState, reqEnd: number, head: RequestHead, raw: Uint8Array): void {
    sp.reqEnd = reqEnd;
    sp.respStart = sp.respEnd!;
    sp.b2cNxt = seqGt(sp.b2cNxt, sp.respStart) ? sp.b2cNxt : sp.respStart;
    sp.respHeadLen = undefined;
    sp.respBodyLen = undefined;
    sp.respEnd = undefined;
    sp.headOnly = head.method === 'HEAD';
    const resumable = head.method === 'GET' && !head.headers.some((h) => /^(range|if-range|transfer-encoding|content-length)$/i.test(h.name));
    const text = new TextDecoder('latin1').decode(raw);
    sp.request = resumable && text.length <= REQUEST_MAX_CHARS ? text : undefined;
  }

  private startSwitch(nr: NextRequest, b: BackendSpec): void {
    const sp = nr.sp;
    // RFC 9293 §3.10.7: a reset in the old back end's window ends its (idle) connection. It goes
    // only after the peer holds the new state: a peer taking over with the old state still needs it.
    nr.oldReset = this.resetFrame(sp, nr.start);
    this.ctx.detachBackend(sp);
    sp.resplicing = true;
    this.connectTo(nr, b);
  }

  private connectTo(nr: NextRequest, b: BackendSpec): void {
    const sp = nr.sp;
    nr.tried.add(b.id);
    nr.backend = b;
    const conn = this.ctx.connect(b.ip, b.port, sp.clientOpts, (bc) => this.app(nr, bc));
    if (conn === undefined) { this.giveUp(nr, 'no-port'); return; }
    nr.conn = conn;
    nr.engine = this.ctx.engineOf(conn.tuple);
    nr.key = keyOf(conn.tuple.remoteIp, conn.tuple.remotePort, conn.tuple.localPort);
    nr.written = 0;
    this.switching.set(nr.key, nr);
    this.ctx.inc('keepalive-switch-started');
  }

  private giveUp(nr: NextRequest, why: string): void {
    if (nr.oldReset !== undefined) this.ctx.send(nr.oldReset);
    this.cancel(nr.sp);
    this.ctx.inc(`keepalive-switch-failed-${why}`);
    this.ctx.removeSplice(nr.sp, 'keepalive-no-backend');
  }

  private app(nr: NextRequest, bc: HostStreamConnection): StreamApp {
    return {
      onOpen: () => {
        const e = nr.engine!;
        const bi = e.conn.info();
        // Nothing of the new response is acknowledged by our stack: it reaches the client through the splice.
        e.conn.setAckLimit((bi.irs + 1) >>> 0);
        if (bi.tsOn !== nr.sp.clientOpts.ts) { bc.destroy(); return; }
        nr.written = bc.write(nr.headRaw!);
        if (nr.written < nr.headRaw!.length) bc.destroy();
      },
      onData: () => undefined,
      onEnd: () => undefined,
      onClose: () => {
        this.ctx.forgetEngine(bc.tuple);
        if (nr.conn !== bc || !this.pending.has(nr.sp)) return;
        this.switching.delete(nr.key!);
        nr.conn = undefined;
        nr.engine = undefined;
        nr.key = undefined;
        this.ctx.router.markDown(nr.backend!.id, this.ctx.nowUs() + 10_000_000);
        const d = this.ctx.router.choose(nr.head!, this.ctx.nowUs(), nr.tried);
        if (d.kind !== 'backend') { this.giveUp(nr, 'no-backend'); return; }
        this.connectTo(nr, d.backend);
      },
    };
  }

  /** A frame from the new back end: once it has acknowledged the whole request head, the splice moves to it. */
  trySwitch(k: FrameKey, frame: Uint8Array, nowUs: number): boolean {
    const nr = this.switching.get(k.key);
    if (nr === undefined || nr.engine === undefined || nr.conn === undefined) return false;
    const ip = parseIpv4Packet(frame.subarray(k.ipOff));
    if (!ip.ok) return false;
    const seg = parseTcpSegment(ip.value.payload, ip.value.src, ip.value.dst);
    if (!seg.ok) return false;
    const t = seg.value;
    if (t.flags.syn || t.flags.rst || !t.flags.ack) return false;
    const bi = nr.engine.conn.info();
    const expectAck = (bi.iss + 1 + nr.written) >>> 0;
    if (nr.written !== nr.headRaw!.length || t.ack !== expectAck || bi.sndMax !== expectAck) return false;
    const sp = nr.sp;
    const reqEnd = (nr.start + nr.head!.headBytes) >>> 0;
    this.nextRequest(sp, reqEnd, nr.head!, nr.headRaw!);
    // Client byte reqEnd is the new back end's expectAck; its byte irs+1 is the client's respStart.
    sp.seqC2B = (expectAck - reqEnd) >>> 0;
    sp.seqB2C = (sp.respStart - ((bi.irs + 1) >>> 0)) >>> 0;
    if (sp.tsC2B !== undefined) {
      // RFC 7323 §5.3 (PAWS): its TSvals continue from the last one the client saw; ours from the last it saw.
      const val = t.options.timestamp?.value;
      if (val !== undefined && sp.tsToClient !== undefined) sp.tsB2C = (sp.tsToClient - val) >>> 0;
      if (nr.engine.lastTsValSent !== undefined && sp.clientTsVal !== undefined) sp.tsC2B = (nr.engine.lastTsValSent - sp.clientTsVal) >>> 0;
    }
    sp.winC2B = { inShift: sp.winC2B.inShift, outShift: bi.rcvWndShift };
    sp.winB2C = { inShift: bi.sndWndShift, outShift: sp.winB2C.outShift };
    sp.sackToBackend = bi.sackOn;
    sp.backend = { ip: nr.conn.tuple.remoteIp, port: nr.conn.tuple.remotePort, mac: frame.slice(6, 12), localPort: nr.conn.tuple.localPort };
    sp.backendId = nr.backend!.id;
    sp.clientNxt = seqGt(sp.clientNxt, reqEnd) ? sp.clientNxt : reqEnd;
    sp.finBackend = undefined;
    sp.finBackendAcked = false;
    sp.resplicing = false;
    sp.lastB2CUs = nowUs;
    sp.lastC2BUs = nowUs;
    this.pending.delete(sp);
    this.switching.delete(k.key);
    this.ctx.attachBackend(sp, k.key);
    nr.engine.release();
    this.ctx.forgetEngine(nr.conn.tuple);
    this.ctx.host.pokeTcp(nr.conn.tuple, nowUs);
    this.ctx.inc('keepalive-switch');
    this.ctx.event('spliced', `#${sp.id} request at client byte ${nr.start} re-spliced to ${sp.backendId}`);
    this.ctx.replicateHold(sp);
    if (nr.oldReset !== undefined) { this.ctx.sendAfterHeld(sp, nr.oldReset); this.ctx.inc('keepalive-old-backend-reset'); }
    this.ctx.forward(sp, k, frame, nowUs);
    return true;
  }

  /** RST to the back end we leave, in its own sequence space: our next byte is the client's `at`, its next is respEnd. */
  private resetFrame(sp: SpliceState, at: number): Uint8Array {
    const seg: TcpRepr = {
      srcPort: sp.backend.localPort, dstPort: sp.backend.port, seq: (at + sp.seqC2B) >>> 0, ack: (sp.respEnd! - sp.seqB2C) >>> 0,
      flags: tcpFlags({ rst: true, ack: true }), window: 0, urgentPointer: 0, payload: new Uint8Array(0),
      options: {},                     // RFC 7323 §5.2: no timestamp needed on a RST
    };
    const ipOff = ETHERNET_HEADER_LEN;
    const frame = new Uint8Array(ipOff + IPV4_HEADER_LEN + tcpSegmentLen(seg));
    emitTcpSegment(seg, frame, ipOff + IPV4_HEADER_LEN, this.ctx.serviceIp, sp.backend.ip);
    emitIpv4Packet({ dscp: 0, ecn: 0, identification: 0, dontFragment: true, ttl: 64, protocol: 6, src: this.ctx.serviceIp, dst: sp.backend.ip, payload: frame.subarray(ipOff + IPV4_HEADER_LEN) }, frame, ipOff);
    emitEthernetFrame({ dst: sp.backend.mac, src: this.ctx.serviceMac, ethertype: ETHERTYPE.ipv4, payload: frame.subarray(ipOff) }, frame, 0);
    return frame;
  }
}

/** The bytes held from offset 0 without a gap. */
function contiguous(chunks: Array<{ off: number; data: Uint8Array }>): Uint8Array {
  const sorted = [...chunks].sort((a, b) => a.off - b.off);
  const parts: Uint8Array[] = [];
  let end = 0;
  for (const c of sorted) {
    if (c.off > end) break;
    if (c.off + c.data.length <= end) continue;
    parts.push(c.data.subarray(end - c.off));
    end = c.off + c.data.length;
  }
  return concatBytes(parts);
}

/**
 * A copy of a client frame with its payload cut to the first `keep` bytes (FIN dropped
 * when bytes are cut), IP length and both checksums recomputed (a rare path: once per request).
 */
export function trimPayload(frame: Uint8Array, k: FrameKey, keep: number): { frame: Uint8Array; k: FrameKey } {
  const t = k.tcpOff;
  const dataOff = t + ((frame[t + 12]! >>> 4) * 4);
  const end = dataOff + keep;
  const out = frame.slice(0, end);
  if (end < k.tcpEnd) out[t + 13] = out[t + 13]! & ~0x09;           // no FIN or PSH on a cut segment
  const total = end - k.ipOff;
  out[k.ipOff + 2] = total >>> 8;
  out[k.ipOff + 3] = total & 0xff;
  out[k.ipOff + 10] = 0;
  out[k.ipOff + 11] = 0;
  const ipCk = foldChecksum(onesSum(out, k.ipOff, t - k.ipOff, 0));
  out[k.ipOff + 10] = ipCk >>> 8;
  out[k.ipOff + 11] = ipCk & 0xff;
  out[t + 16] = 0;
  out[t + 17] = 0;
  const src = rd32(out, k.ipOff + 12);
  const dst = rd32(out, k.ipOff + 16);
  const ck = foldChecksum(onesSum(out, t, end - t, pseudoHeaderSum(src, dst, 6, end - t)));
  out[t + 16] = ck >>> 8;
  out[t + 17] = ck & 0xff;
  return { frame: out, k: { ...k, tcpEnd: end } };
}
