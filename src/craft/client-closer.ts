// Closing a client connection ourselves when its back end died after the whole response
// was delivered (nothing is left to re-splice): our FIN after the last response byte, an
// ACK for the client's FIN, retransmission with backoff, then the splice state goes.
// Segments are built in the client's sequence space from the splice state alone.
import { ETHERNET_HEADER_LEN, ETHERTYPE, emitEthernetFrame } from '../wire/ethernet.js';
import { IPV4_HEADER_LEN, emitIpv4Packet } from '../wire/ipv4.js';
import { emitTcpSegment, tcpFlags, tcpSegmentLen, type TcpRepr } from '../wire/tcp.js';
import { seqDiff } from '../tcp/seq.js';
import type { SpliceState } from './splice.js';
import type { FrameKey } from './splice-engine.js';

export interface CloserContext {
  serviceIp: number;
  serviceMac: Uint8Array;
  finLingerUs: number;
  nowUs(): number;
  send(frame: Uint8Array): void;
  removeSplice(sp: SpliceState, why: string): void;
  inc(name: string): void;
}

interface Closing { finSeq: number; finAcked: boolean; clientFinEnd: number | undefined; tries: number; nextUs: number }

const EMPTY = new Uint8Array(0);
const FIN_TRIES_MAX = 8;

export class ClientCloser {
  private readonly closing = new Map<SpliceState, Closing>();

  constructor(private readonly ctx: CloserContext) {}

  has(sp: SpliceState): boolean {
    return this.closing.size > 0 && this.closing.has(sp);
  }

  forget(sp: SpliceState): void {
    this.closing.delete(sp);
  }

  /** Starts closing: the back end's key must already be out of the splice table. */
  start(sp: SpliceState): void {
    // RFC 9293 §3.6: our FIN follows the last response byte (or repeats the back end's FIN).
    const finSeq = sp.finBackend !== undefined
      ? ((sp.finBackend + sp.seqB2C - 1) >>> 0)
      : ((sp.respStart + sp.respHeadLen! + sp.respBodyLen!) >>> 0);
    const finAcked = seqDiff(sp.clientAcked, finSeq) > 0;
    this.closing.set(sp, { finSeq, finAcked, clientFinEnd: undefined, tries: 0, nextUs: this.ctx.nowUs() });
    this.ctx.inc('closer-started');
    if (!finAcked) this.sendFin(sp);
  }

  handleTimeout(nowUs: number): void {
    for (const [sp, c] of this.closing) {
      if (c.finAcked || nowUs < c.nextUs) continue;
      if (c.tries >= FIN_TRIES_MAX) { this.ctx.removeSplice(sp, 'closer-gave-up'); continue; }
      this.sendFin(sp);
    }
  }

  deadline(): number | undefined {
    let d: number | undefined;
    for (const c of this.closing.values()) if (!c.finAcked) d = d === undefined ? c.nextUs : Math.min(d, c.nextUs);
    return d;
  }

  /** A (checksum-verified) segment from the client of a closing splice. */
  input(sp: SpliceState, frame: Uint8Array, k: FrameKey, nowUs: number): void {
    const c = this.closing.get(sp)!;
    const t = k.tcpOff;
    const flags = frame[t + 13]!;
    const seq = ((frame[t + 4]! << 24) | (frame[t + 5]! << 16) | (frame[t + 6]! << 8) | frame[t + 7]!) >>> 0;
    const ack = ((frame[t + 8]! << 24) | (frame[t + 9]! << 16) | (frame[t + 10]! << 8) | frame[t + 11]!) >>> 0;
    if ((flags & 0x04) !== 0) { this.ctx.removeSplice(sp, 'rst'); return; }
    if ((flags & 0x10) !== 0 && seqDiff(ack, c.finSeq) > 0) c.finAcked = true;
    if ((flags & 0x01) !== 0) {
      const payload = k.tcpEnd - t - ((frame[t + 12]! >>> 4) * 4);
      c.clientFinEnd = (seq + payload + 1) >>> 0;
      // Acknowledge the client's FIN (again, if it was retransmitted).
      this.segment(sp, c.finAcked ? (c.finSeq + 1) >>> 0 : c.finSeq, c.clientFinEnd, c.finAcked ? { ack: true } : { fin: true, ack: true });
    }
    sp.lastC2BUs = nowUs;
    if (c.finAcked && c.clientFinEnd !== undefined && sp.expiresUs === undefined) sp.expiresUs = nowUs + this.ctx.finLingerUs;
  }

  /**
   * Asks the client where it is: a segment below its receive window (RFC 9293 §3.10.7.4: an
   * unacceptable segment is answered with an ACK; as an RFC 9293 §3.8.4 keep-alive probe) —
   * a splicer that took over learns what the client acknowledged to the failed box.
   */
  probe(sp: SpliceState, tsVal?: number): void {
    this.segment(sp, (sp.clientAcked - 1) >>> 0, sp.clientNxt, { ack: true }, tsVal);
    this.ctx.inc('client-probe');
  }

  /**
   * The RFC 5961 §4 challenge ACK, <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> in the client's space,
   * for a SYN on the tuple of an open splice: a client still in that connection ignores it,
   * one that has moved on (its SYN opens a new connection) answers with a RST at RCV.NXT.
   */
  challengeAck(sp: SpliceState): void {
    this.segment(sp, sp.b2cNxt, sp.clientNxt, { ack: true });
  }

  private sendFin(sp: SpliceState): void {
    const c = this.closing.get(sp)!;
    c.tries++;
    c.nextUs = this.ctx.nowUs() + 200_000 * 2 ** Math.min(c.tries, 5);
    this.segment(sp, c.finSeq, c.clientFinEnd ?? sp.clientNxt, { fin: true, ack: true });
  }

  /** A segment from us (the service address) to the client, in the client's sequence space. */
  private segment(sp: SpliceState, seq: number, ack: number, flags: Parameters<typeof tcpFlags>[0], tsVal?: number): void {
    const seg: TcpRepr = {
      srcPort: sp.client.localPort, dstPort: sp.client.port, seq, ack, flags: tcpFlags(flags), window: 0xffff >>> Math.min(sp.winB2C.outShift, 15),
      urgentPointer: 0, payload: EMPTY,
      // RFC 7323 §3.2: with timestamps on, every segment carries one (not below what the client last saw).
      options: sp.tsC2B !== undefined ? { timestamp: { value: tsVal ?? sp.tsToClient ?? 0, echo: sp.clientTsVal ?? 0 } } : {},
    };
    const ipOff = ETHERNET_HEADER_LEN;
    const frame = new Uint8Array(ipOff + IPV4_HEADER_LEN + tcpSegmentLen(seg));
    emitTcpSegment(seg, frame, ipOff + IPV4_HEADER_LEN, this.ctx.serviceIp, sp.client.ip);
    emitIpv4Packet({ dscp: 0, ecn: 0, identification: 0, dontFragment: true, ttl: 64, protocol: 6, src: this.ctx.serviceIp, dst: sp.client.ip, payload: frame.subarray(ipOff + IPV4_HEADER_LEN) }, frame, ipOff);
    emitEthernetFrame({ dst: sp.client.mac, src: this.ctx.serviceMac, ethertype: ETHERTYPE.ipv4, payload: frame.subarray(ipOff) }, frame, 0);
    this.ctx.send(frame);
  }
}
