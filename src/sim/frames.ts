// Building whole Ethernet/IPv4/TCP frames from plain values, for tests that inject
// traffic into the simulator (observers, bad-input fuzzing). Uses the wire codecs;
// holds no protocol logic of its own.
import { emitEthernetFrame, ETHERNET_HEADER_LEN, ETHERTYPE } from '../wire/ethernet.js';
import { emitIpv4Packet, IPV4_HEADER_LEN, IP_PROTOCOL } from '../wire/ipv4.js';
import { emitTcpSegment, tcpSegmentLen, tcpFlags, type TcpRepr } from '../wire/tcp.js';
import { parseIpv4, parseMac } from '../wire/addr.js';

export interface TcpFrameSpec {
  srcMac: string;
  dstMac: string;
  srcIp: string;
  dstIp: string;
  seg: Partial<TcpRepr> & { srcPort: number; dstPort: number };
}

/** An Ethernet II + IPv4 + TCP frame with correct checksums. */
export function tcpFrame(spec: TcpFrameSpec): Uint8Array {
  const src = parseIpv4(spec.srcIp);
  const dst = parseIpv4(spec.dstIp);
  const srcMac = parseMac(spec.srcMac);
  const dstMac = parseMac(spec.dstMac);
  if (src === undefined || dst === undefined || !srcMac || !dstMac) throw new Error('tcpFrame: bad address');
  const seg: TcpRepr = {
    seq: 0, ack: 0, flags: tcpFlags({ ack: true }), window: 65535, urgentPointer: 0, options: {}, payload: new Uint8Array(0),
    ...spec.seg,
  };
  const tcpBytes = new Uint8Array(tcpSegmentLen(seg));
  emitTcpSegment(seg, tcpBytes, 0, src, dst);
  const ip = new Uint8Array(IPV4_HEADER_LEN + tcpBytes.length);
  emitIpv4Packet({ dscp: 0, ecn: 0, identification: 0, dontFragment: true, ttl: 64, protocol: IP_PROTOCOL.tcp, src, dst, payload: tcpBytes }, ip, 0);
  const frame = new Uint8Array(ETHERNET_HEADER_LEN + ip.length);
  emitEthernetFrame({ dst: dstMac, src: srcMac, ethertype: ETHERTYPE.ipv4, payload: ip }, frame, 0);
  return frame;
}
