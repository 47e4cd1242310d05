// A passive observer of TCP on the wire, attached to a simulator port as a FrameSink:
// counts segments, SYN/FIN/RST, payload bytes and retransmissions per flow direction,
// the way an analyst reads a capture. It never influences the run; bad frames are counted.
import { parseEthernetFrame, ETHERTYPE } from '../wire/ethernet.js';
import { parseIpv4Packet, IP_PROTOCOL } from '../wire/ipv4.js';
import { parseTcpSegment, type TcpFlags } from '../wire/tcp.js';
import { formatIpv4 } from '../wire/addr.js';
import { seqDiff } from '../tcp/seq.js';
import type { FrameSink } from './link.js';

export interface TcpFlowStats {
  /** "10.0.0.1:49152>10.0.0.2:5001" */
  flow: string;
  segments: number;
  dataSegments: number;
  payloadBytes: number;
  /** Segments carrying sequence space (data, SYN, FIN) that starts below the highest already seen in this direction. */
  retransmits: number;
  syn: number;
  fin: number;
  rst: number;
  firstUs: number;
  lastUs: number;
}

/** One segment as the observer saw it (for narratives and scripted checks). */
export interface ObservedSegment {
  timeUs: number;
  flow: string;
  flags: TcpFlags;
  seq: number;
  ack: number;
  payloadBytes: number;
  /** Carries sequence space (data, SYN, FIN) starting below the highest already seen in its direction. */
  retransmit: boolean;
}

/** Flows tracked at most (a bound; more are counted in `untracked`). */
const MAX_FLOWS = 4096;

export class TcpObserver implements FrameSink {
  private readonly flows = new Map<string, TcpFlowStats & { highSeq: number | undefined }>();
  nonTcp = 0;
  unparsable = 0;
  untracked = 0;

  /** Called for every TCP segment observed (after the counters are updated). */
  constructor(private readonly onSegment?: (s: ObservedSegment) => void) {}

  record(timeUs: number, frame: Uint8Array): void {
    const eth = parseEthernetFrame(frame);
    if (!eth.ok) { this.unparsable++; return; }
    if (eth.value.ethertype !== ETHERTYPE.ipv4) { this.nonTcp++; return; }
    const ip = parseIpv4Packet(eth.value.payload);
    if (!ip.ok) { this.unparsable++; return; }
    if (ip.value.protocol !== IP_PROTOCOL.tcp) { this.nonTcp++; return; }
    const seg = parseTcpSegment(ip.value.payload, ip.value.src, ip.value.dst);
    if (!seg.ok) { this.unparsable++; return; }
    const t = seg.value;
    const key = `${formatIpv4(ip.value.src)}:${t.srcPort}>${formatIpv4(ip.value.dst)}:${t.dstPort}`;
    let f = this.flows.get(key);
    if (!f) {
      if (this.flows.size >= MAX_FLOWS) { this.untracked++; return; }
      f = { flow: key, segments: 0, dataSegments: 0, payloadBytes: 0, retransmits: 0, syn: 0, fin: 0, rst: 0, firstUs: timeUs, lastUs: timeUs, highSeq: undefined };
      this.flows.set(key, f);
    }
    f.segments++;
    f.lastUs = timeUs;
    if (t.flags.syn) f.syn++;
    if (t.flags.fin) f.fin++;
    if (t.flags.rst) f.rst++;
    // Sequence space consumed: SYN and FIN count one each (RFC 9293 §3.4).
    const len = t.payload.length + (t.flags.syn ? 1 : 0) + (t.flags.fin ? 1 : 0);
    if (t.payload.length > 0) {
      f.dataSegments++;
      f.payloadBytes += t.payload.length;
    }
    let retransmit = false;
    if (len > 0) {
      const end = (t.seq + len) >>> 0;
      retransmit = f.highSeq !== undefined && seqDiff(t.seq, f.highSeq) < 0;
      if (retransmit) f.retransmits++;
      if (f.highSeq === undefined || seqDiff(end, f.highSeq) > 0) f.highSeq = end;
    }
    this.onSegment?.({ timeUs, flow: key, flags: t.flags, seq: t.seq, ack: t.ack, payloadBytes: t.payload.length, retransmit });
  }

  /** Per-direction statistics, in order of first appearance. */
  flowStats(): TcpFlowStats[] {
    return [...this.flows.values()].map(({ highSeq: _h, ...s }) => s);
  }

  totals(): { segments: number; payloadBytes: number; retransmits: number; rst: number; syn: number; fin: number } {
    const t = { segments: 0, payloadBytes: 0, retransmits: 0, rst: 0, syn: 0, fin: 0 };
    for (const f of this.flows.values()) {
      t.segments += f.segments; t.payloadBytes += f.payloadBytes; t.retransmits += f.retransmits;
      t.rst += f.rst; t.syn += f.syn; t.fin += f.fin;
    }
    return t;
  }
}
