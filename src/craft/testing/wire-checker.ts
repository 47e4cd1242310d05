// A frame sink for splice tests: keeps every TCP segment seen at a port (with its
// payload) and checks, after the run, that each flow's sequence numbers are
// consistent with the byte stream the application actually received: every payload
// sits at seq - ISN - 1 of that stream, the FIN right after it, and every ACK stays
// inside what the peer sent, every TSecr echoes a TSval the peer sent. Checksums are
// verified on every frame. Test support only.
import { parseEthernetFrame, ETHERTYPE } from '../../wire/ethernet.js';
import { parseIpv4Packet, IP_PROTOCOL } from '../../wire/ipv4.js';
import { parseTcpSegment } from '../../wire/tcp.js';
import { formatIpv4 } from '../../wire/addr.js';
import { seqDiff } from '../../tcp/seq.js';
import type { FrameSink } from '../../sim/link.js';

interface Seg { seq: number; ack: number; syn: boolean; fin: boolean; rst: boolean; hasAck: boolean; payload: Uint8Array; sack: Array<{ left: number; right: number }>; ts: { value: number; echo: number } | undefined }

export function flowKey(srcIp: number, srcPort: number, dstIp: number, dstPort: number): string {
  return `${formatIpv4(srcIp)}:${srcPort}>${formatIpv4(dstIp)}:${dstPort}`;
}

export class WireChecker implements FrameSink {
  badChecksums = 0;
  unparsable = 0;
  private readonly flows = new Map<string, { isn: number | undefined; segs: Seg[] }>();

  record(_timeUs: number, frame: Uint8Array): void {
    const eth = parseEthernetFrame(frame);
    if (!eth.ok) { this.unparsable++; return; }
    if (eth.value.ethertype !== ETHERTYPE.ipv4) return;
    const ip = parseIpv4Packet(eth.value.payload);
    if (!ip.ok) { if (ip.error.code === 'bad-checksum') this.badChecksums++; else this.unparsable++; return; }
    if (ip.value.protocol !== IP_PROTOCOL.tcp) return;
    const t = parseTcpSegment(ip.value.payload, ip.value.src, ip.value.dst);
    if (!t.ok) { if (t.error.code === 'bad-checksum') this.badChecksums++; else this.unparsable++; return; }
    const s = t.value;
    const key = flowKey(ip.value.src, s.srcPort, ip.value.dst, s.dstPort);
    let f = this.flows.get(key);
    if (f === undefined) { f = { isn: undefined, segs: [] }; this.flows.set(key, f); }
    if (s.flags.syn) f.isn = s.seq;
    f.segs.push({ seq: s.seq, ack: s.ack, syn: s.flags.syn, fin: s.flags.fin, rst: s.flags.rst, hasAck: s.flags.ack, payload: s.payload.slice(), sack: s.options.sack ?? [], ts: s.options.timestamp });
  }

  flowNames(): string[] {
    return [...this.flows.keys()];
  }

  segments(flow: string): number {
    return this.flows.get(flow)?.segs.length ?? 0;
  }

  /**
   * Checks flow `flow` against the bytes its receiver got (`stream`), and the ACKs
   * (and SACK blocks) of the reverse flow against it. Returns problems (empty = consistent).
   */
  checkStream(flow: string, stream: Uint8Array, reverse: string, expectFin: boolean): string[] {
    const f = this.flows.get(flow);
    const r = this.flows.get(reverse);
    const out: string[] = [];
    if (f === undefined || f.isn === undefined) return [`${flow}: no SYN seen`];
    const base = (f.isn + 1) >>> 0;
    const end = stream.length + (expectFin ? 1 : 0);
    let dataSegs = 0;
    for (const s of f.segs) {
      if (s.syn || s.rst) continue;
      const off = seqDiff(s.seq, base);
      if (s.payload.length > 0) {
        dataSegs++;
        if (off < 0 || off + s.payload.length > stream.length) { out.push(`${flow}: data at offset ${off}+${s.payload.length} outside the ${stream.length}-byte stream`); continue; }
        for (let i = 0; i < s.payload.length; i++) {
          if (s.payload[i] !== stream[off + i]) { out.push(`${flow}: byte at offset ${off + i} differs from what the receiver got`); break; }
        }
      }
      if (s.fin && (!expectFin || off + s.payload.length !== stream.length)) out.push(`${flow}: FIN at offset ${off + s.payload.length}, stream is ${stream.length}`);
    }
    if (stream.length > 0 && dataSegs === 0) out.push(`${flow}: no data segments`);
    if (r !== undefined) {
      // RFC 7323 §3.2: TSecr echoes a TSval the other side sent (timestamps are translated consistently).
      const tsvals = new Set(f.segs.filter((s) => s.ts !== undefined).map((s) => s.ts!.value));
      for (const s of r.segs) {
        if (s.ts !== undefined && s.hasAck && s.ts.echo !== 0 && !tsvals.has(s.ts.echo)) { out.push(`${reverse}: TSecr ${s.ts.echo} was never a TSval of ${flow}`); break; }
      }
      for (const s of r.segs) {
        if (s.rst) continue;
        if (s.hasAck) {
          const a = seqDiff(s.ack, base);
          if (a < 0 || a > end) { out.push(`${reverse}: ACK at offset ${a} outside [0, ${end}] of ${flow}`); }
        }
        for (const b of s.sack) {
          const l = seqDiff(b.left, base);
          const rr = seqDiff(b.right, base);
          if (l < 0 || rr > end || rr <= l) out.push(`${reverse}: SACK block [${l}, ${rr}) outside ${flow}'s stream`);
        }
      }
    }
    return out.slice(0, 10);
  }
}

export function concatChunks(chunks: Uint8Array[]): Uint8Array {
  const n = chunks.reduce((a, c) => a + c.length, 0);
  const out = new Uint8Array(n);
  let o = 0;
  for (const c of chunks) { out.set(c, o); o += c.length; }
  return out;
}
