// The splice state of one spliced connection pair and the per-packet rewrite that
// forwards a segment from one connection into the other: MACs, IP addresses, ports,
// sequence and acknowledgement numbers, window (rescaled), SACK blocks and timestamps,
// with RFC 1624 incremental checksum updates. Constant time per packet; no parsing
// beyond fixed offsets and the ≤40-byte option list. Building the state is splicer.ts's job.
import { checksumUpdate16, checksumUpdate32 } from '../wire/checksum.js';
import { ETHERNET_HEADER_LEN } from '../wire/ethernet.js';
import { IPV4_CHECKSUM_OFFSET, IPV4_DST_OFFSET, IPV4_SRC_OFFSET } from '../wire/ipv4.js';
import { TCP_FIELD_OFFSET } from '../wire/tcp.js';
import { seqGe, seqGt } from '../tcp/seq.js';

/** One end of a splice as the splicer sees it: the peer's address and next-hop MAC, and our port towards it. */
export interface SpliceEndpoint {
  ip: number;
  port: number;
  /** Next-hop MAC towards the peer (the peer itself, or a router). */
  mac: Uint8Array;
  /** Our port on this connection (the service port towards the client, an ephemeral port towards the back end). */
  localPort: number;
}

/** How a window field is translated: value << inShift is the window in bytes; it leaves as bytes >> outShift. */
export interface WindowMap { inShift: number; outShift: number }

/**
 * Everything kept per spliced connection (plain data: replicable to a peer splicer).
 * Sequence offsets are added modulo 2^32.
 */
export interface SpliceState {
  id: number;
  serviceIp: number;
  client: SpliceEndpoint;
  backend: SpliceEndpoint;
  backendId: string;
  /** Added to a client sequence number to give the back-end-side number (and subtracted from back-end ACKs). */
  seqC2B: number;
  /** Added to a back-end sequence number to give the client-side number. */
  seqB2C: number;
  /** Timestamp offsets (RFC 7323 TSval/TSecr); undefined when timestamps are off on both connections. */
  tsC2B: number | undefined;
  tsB2C: number | undefined;
  winC2B: WindowMap;
  winB2C: WindowMap;
  /** SACK negotiated on the back-end connection (else SACK options from the client are blanked to NOPs). */
  sackToBackend: boolean;
  // --- teardown (RFC 9293 §3.6): sequence number after each side's FIN, in that side's own space ---
  finClient: number | undefined;
  finBackend: number | undefined;
  finClientAcked: boolean;
  finBackendAcked: boolean;
  rst: boolean;
  /** Last forwarded packet in each direction, µs (a direction silent for long marks a half-dead splice). */
  lastC2BUs: number;
  lastB2CUs: number;
  /** The state goes at this time (linger after both FINs were acknowledged or a RST). */
  expiresUs: number | undefined;
  packetsC2B: number;
  packetsB2C: number;
  // --- what a re-splice to another back end needs (back-end failure mid-response) ---
  /** Client space: highest ACK the client sent (response bytes it holds), its next sequence number, its latest TSval. */
  clientAcked: number;
  clientNxt: number;
  clientTsVal: number | undefined;
  /** Client space: end of the highest segment forwarded to the client (a client ACK never goes beyond it). */
  b2cNxt: number;
  /** Latest TSval (client space) forwarded to the client. */
  tsToClient: number | undefined;
  /** Client-space sequence number of response byte 0; head and body length once seen in the first response segment. */
  respStart: number;
  respHeadLen: number | undefined;
  respBodyLen: number | undefined;
  /** The request head, kept for an HTTP Range re-request (undefined: too large or not resumable). */
  request: string | undefined;
  /** Options the client negotiated: a replacement back-end connection must match them. */
  clientOpts: { mss: number; ws: boolean; sack: boolean; ts: boolean };
  /** The back end failed and a replacement is being set up: client packets are dropped meanwhile. */
  resplicing: boolean;
  // --- per-request routing on a kept-alive connection (keepalive.ts) ---
  /** Client space: end of the current request (client bytes beyond it are the next request). Undefined: not tracked. */
  reqEnd?: number | undefined;
  /** Client space: end of the current response, once its framing is known (Content-Length). */
  respEnd?: number | undefined;
  /** The current request is HEAD (its response has no body whatever Content-Length says). */
  headOnly?: boolean | undefined;
  /** Framing unknown (chunked, close-delimited, ...): the connection stays on its back end. */
  pinned?: boolean | undefined;
  /** The client's latest ACK carried SACK blocks (it holds data beyond clientAcked). */
  clientHoles?: boolean | undefined;
  /** Split splice: the back end sends its data straight to the client (the splicer sees only its FIN/RST). */
  split?: boolean | undefined;
  /** After a re-splice to another back end: client ACKs are capped at b2cNxt (see rewriteSegment). */
  capAcks?: boolean | undefined;
  /**
   * Where capping ends (client space): how far the client can hold data from the failed back
   * end. Once the replacement has sent that far no client ACK can run ahead of it, and the cap
   * goes — it must, for a splicer that forwards only the client's side of the connection
   * (several splicers, flows rehashed) sees no b2c segment to move b2cNxt on. Undefined while
   * capped: unknown (a client without SACK may hold unseen out-of-order data), capped to the end.
   */
  capUntil?: number | undefined;
  /** The highest right edge of a SACK block from the client (client space): how far it holds data. */
  clientSackHigh?: number | undefined;
}

export type Direction = 'c2b' | 'b2c';

export interface TeardownTimers {
  /** Keep the state this long after both FINs are acknowledged (a lost last ACK brings a FIN retransmission). */
  finLingerUs: number;
  /** Keep the state this long after a RST (retransmitted segments then still reach their peer, which answers RST). */
  rstLingerUs: number;
}

function rd16(b: Uint8Array, o: number): number { return (b[o]! << 8) | b[o + 1]!; }
function rd32(b: Uint8Array, o: number): number { return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0; }
function wr16(b: Uint8Array, o: number, v: number): void { b[o] = (v >>> 8) & 0xff; b[o + 1] = v & 0xff; }
function wr32(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 24) & 0xff; b[o + 1] = (v >>> 16) & 0xff; b[o + 2] = (v >>> 8) & 0xff; b[o + 3] = v & 0xff;
}

/**
 * Writes a 32-bit value at any offset inside the TCP segment starting at `base`, and
 * returns the checksum updated per RFC 1624 for every 16-bit word it touched (options
 * need not be word aligned).
 */
function put32(b: Uint8Array, base: number, off: number, v: number, ck: number): number {
  if (((off - base) & 1) === 0) {
    const old = rd32(b, off);
    wr32(b, off, v);
    return checksumUpdate32(ck, old, v);
  }
  // Unaligned: the field spans three checksum words.
  const w0 = off - 1;
  const o0 = rd16(b, w0); const o1 = rd16(b, w0 + 2); const o2 = rd16(b, w0 + 4);
  wr32(b, off, v);
  ck = checksumUpdate16(ck, o0, rd16(b, w0));
  ck = checksumUpdate16(ck, o1, rd16(b, w0 + 2));
  return checksumUpdate16(ck, o2, rd16(b, w0 + 4));
}

/** Replaces bytes [off, off+n) with NOP (kind 1) options, updating the checksum word by word. */
function blankToNops(b: Uint8Array, base: number, off: number, n: number, ck: number): number {
  const start = off - ((off - base) & 1);
  const end = off + n + ((off + n - base) & 1);
  const old: number[] = [];
  for (let w = start; w < end; w += 2) old.push(rd16(b, w));
  b.fill(1, off, off + n);
  for (let w = start, i = 0; w < end; w += 2, i++) ck = checksumUpdate16(ck, old[i]!, rd16(b, w));
  return ck;
}

/** RFC 7323 §2.3: the window in bytes is field << shift; re-expressed for the receiver's shift, capped at 16 bits. */
function mapWindow(win: number, m: WindowMap): number {
  if (m.inShift === m.outShift) return win;
  const bytes = win * 2 ** m.inShift;
  return Math.min(0xffff, Math.floor(bytes / 2 ** m.outShift));
}

/**
 * Rewrites `frame` (a copy the caller owns; Ethernet + IPv4 + TCP, already matched to
 * this splice) for forwarding in direction `dir`, and updates the teardown state.
 * `ipOff`/`tcpOff`/`tcpEnd` locate the headers. `ourMac` becomes the source MAC.
 */
export function rewriteSegment(
  s: SpliceState, dir: Direction, frame: Uint8Array, ipOff: number, tcpOff: number, tcpEnd: number,
  ourMac: Uint8Array, nowUs: number, timers: TeardownTimers,
): void {
  const toSide = dir === 'c2b' ? s.backend : s.client;
  const seqOff = dir === 'c2b' ? s.seqC2B : s.seqB2C;
  // The ACK field acknowledges the other direction's data: undo that direction's offset.
  const ackOff = dir === 'c2b' ? -s.seqB2C : -s.seqC2B;
  const tsOff = dir === 'c2b' ? s.tsC2B : s.tsB2C;
  const echoOff = dir === 'c2b' ? s.tsB2C : s.tsC2B;
  const win = dir === 'c2b' ? s.winC2B : s.winB2C;

  // Ethernet: next hop of the other connection, from us.
  frame.set(toSide.mac.subarray(0, 6), 0);
  frame.set(ourMac.subarray(0, 6), 6);

  // IPv4: src = the service address, dst = the other peer; TTL - 1 (we route). RFC 1624 for the header checksum.
  const oldSrc = rd32(frame, ipOff + IPV4_SRC_OFFSET);
  const oldDst = rd32(frame, ipOff + IPV4_DST_OFFSET);
  let ipCk = rd16(frame, ipOff + IPV4_CHECKSUM_OFFSET);
  const oldTtlProto = rd16(frame, ipOff + 8);
  const ttl = frame[ipOff + 8]!;
  const newTtlProto = ((Math.max(ttl, 1) - 1) << 8) | (oldTtlProto & 0xff);
  wr32(frame, ipOff + IPV4_SRC_OFFSET, s.serviceIp);
  wr32(frame, ipOff + IPV4_DST_OFFSET, toSide.ip);
  wr16(frame, ipOff + 8, newTtlProto);
  ipCk = checksumUpdate32(ipCk, oldSrc, s.serviceIp);
  ipCk = checksumUpdate32(ipCk, oldDst, toSide.ip);
  ipCk = checksumUpdate16(ipCk, oldTtlProto, newTtlProto);
  wr16(frame, ipOff + IPV4_CHECKSUM_OFFSET, ipCk);

  // TCP: the pseudo-header addresses changed too (RFC 9293 §3.1), then each rewritten field.
  const t = tcpOff;
  let ck = rd16(frame, t + TCP_FIELD_OFFSET.checksum);
  ck = checksumUpdate32(ck, oldSrc, s.serviceIp);
  ck = checksumUpdate32(ck, oldDst, toSide.ip);
  const oldPorts = rd32(frame, t);
  const newPorts = ((toSide.localPort << 16) | toSide.port) >>> 0;
  wr32(frame, t, newPorts);
  ck = checksumUpdate32(ck, oldPorts, newPorts);
  const flags = frame[t + TCP_FIELD_OFFSET.flags]!;
  const fin = (flags & 0x01) !== 0;
  const syn = (flags & 0x02) !== 0;
  const rst = (flags & 0x04) !== 0;
  const hasAck = (flags & 0x10) !== 0;
  const seq = rd32(frame, t + TCP_FIELD_OFFSET.seq);
  const newSeq = (seq + seqOff) >>> 0;
  wr32(frame, t + TCP_FIELD_OFFSET.seq, newSeq);
  ck = checksumUpdate32(ck, seq, newSeq);
  const rawAck = rd32(frame, t + TCP_FIELD_OFFSET.ack);
  // After a re-splice the client may acknowledge bytes (from the failed back end) that the
  // replacement has not sent yet; such an ACK would be ignored (RFC 9293 §3.10.7.4) and
  // stall it, so the client's ACK is capped at what was forwarded to it.
  const capped = dir === 'c2b' && hasAck && s.capAcks === true && seqGt(rawAck, s.b2cNxt);
  const ack = capped ? s.b2cNxt : rawAck;
  const newAck = hasAck ? (ack + ackOff) >>> 0 : ack;
  if (hasAck) {
    wr32(frame, t + TCP_FIELD_OFFSET.ack, newAck);
    ck = checksumUpdate32(ck, rawAck, newAck);
  }
  const oldWin = rd16(frame, t + TCP_FIELD_OFFSET.window);
  const newWin = mapWindow(oldWin, win);
  if (newWin !== oldWin) {
    wr16(frame, t + TCP_FIELD_OFFSET.window, newWin);
    ck = checksumUpdate16(ck, oldWin, newWin);
  }

  // Options (RFC 9293 §3.2): SACK blocks (RFC 2018 §3) carry the other direction's sequence
  // numbers; TSval is the sender's clock, TSecr echoes the other direction's (RFC 7323 §3).
  const optEnd = t + ((frame[t + 12]! >>> 4) * 4);
  let sawSack = false;
  for (let i = t + 20; i < optEnd;) {
    const kind = frame[i]!;
    if (kind === 0) break;
    if (kind === 1) { i++; continue; }
    if (i + 1 >= optEnd) break;
    const len = frame[i + 1]!;
    if (len < 2 || i + len > optEnd) break;                 // malformed: forwarded as is; the endpoint rejects it
    if (kind === 5 && len >= 10 && (len - 2) % 8 === 0) {
      sawSack = true;
      if (dir === 'c2b') {
        for (let j = i + 6; j + 4 <= i + len; j += 8) {
          const right = rd32(frame, j);
          if (s.clientSackHigh === undefined || seqGt(right, s.clientSackHigh)) s.clientSackHigh = right;
        }
      }
      if (dir === 'c2b' && (!s.sackToBackend || capped)) {
        ck = blankToNops(frame, t, i, len, ck);
      } else {
        for (let j = i + 2; j + 4 <= i + len; j += 4) ck = put32(frame, t, j, (rd32(frame, j) + ackOff) >>> 0, ck);
      }
    } else if (kind === 8 && len === 10 && tsOff !== undefined && echoOff !== undefined) {
      const val = rd32(frame, i + 2);
      const newVal = (val + tsOff) >>> 0;
      if (dir === 'c2b') s.clientTsVal = val; else s.tsToClient = newVal;
      ck = put32(frame, t, i + 2, newVal, ck);
      const echo = rd32(frame, i + 6);
      // TSecr is meaningful only with ACK set (RFC 7323 §3.2); a zero echo stays zero.
      if (hasAck && echo !== 0) ck = put32(frame, t, i + 6, (echo - echoOff) >>> 0, ck);
    }
    i += len;
  }
  wr16(frame, t + TCP_FIELD_OFFSET.checksum, ck);

  // Teardown bookkeeping in each side's own sequence space.
  const payloadLen = tcpEnd - optEnd;
  if (dir === 'c2b') {
    s.packetsC2B++;
    s.lastC2BUs = nowUs;
    if (hasAck && seqGt(rawAck, s.clientAcked)) s.clientAcked = rawAck;
    if (hasAck) s.clientHoles = sawSack;
    const next = (seq + payloadLen + (fin ? 1 : 0)) >>> 0;
    if (seqGt(next, s.clientNxt)) s.clientNxt = next;
  } else {
    s.packetsB2C++;
    s.lastB2CUs = nowUs;
    const next = (newSeq + payloadLen + (fin ? 1 : 0)) >>> 0;
    if (!syn && seqGt(next, s.b2cNxt)) s.b2cNxt = next;
    if (s.capAcks === true && s.capUntil !== undefined && !seqGt(s.capUntil, s.b2cNxt)) { s.capAcks = false; s.capUntil = undefined; }
  }
  if (rst) {
    s.rst = true;
    s.expiresUs = Math.min(s.expiresUs ?? Number.MAX_SAFE_INTEGER, nowUs + timers.rstLingerUs);
    return;
  }
  if (fin && !syn) {
    const end = (seq + payloadLen + 1) >>> 0;
    if (dir === 'c2b') s.finClient = end; else s.finBackend = end;
  }
  if (hasAck) {
    // This segment acknowledges the other side's data; `newAck` is in the other side's space.
    if (dir === 'c2b' && s.finBackend !== undefined && seqGe(newAck, s.finBackend)) s.finBackendAcked = true;
    if (dir === 'b2c' && s.finClient !== undefined && seqGe(newAck, s.finClient)) s.finClientAcked = true;
  }
  if (s.finClientAcked && s.finBackendAcked && s.expiresUs === undefined) s.expiresUs = nowUs + timers.finLingerUs;
}
