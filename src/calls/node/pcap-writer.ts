// Writes UDP datagrams seen on loopback as a classic pcap file (LINKTYPE_RAW, IPv4
// headers synthesised) so tshark's Megaco dissector can read the H.248 traffic of
// `calls run --pcap`. Buffered in memory, bounded, written once at the end.
import { writeFileSync } from 'node:fs';

const LINKTYPE_RAW = 101;
const RECORDS_MAX = 500_000;

function ipv4(ip: string): number[] { return ip.split('.').map((x) => Number(x) & 0xff); }

function checksum(b: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < b.length; i += 2) s += (b[i]! << 8) | (b[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

export class PcapWriter {
  private readonly records: { tsUs: number; rec: Uint8Array }[] = [];
  dropped = 0;

  get count(): number { return this.records.length; }

  add(tsUs: number, src: string, dst: string, payload: Uint8Array): void {
    if (this.records.length >= RECORDS_MAX) { this.dropped++; return; }
    const [sip, sport] = split(src); const [dip, dport] = split(dst);
    const len = 20 + 8 + payload.length;
    const pkt = new Uint8Array(len);
    const dv = new DataView(pkt.buffer);
    // RFC 791 header: version 4, IHL 5, total length, TTL 64, protocol 17 (UDP).
    pkt[0] = 0x45; dv.setUint16(2, len); pkt[8] = 64; pkt[9] = 17;
    pkt.set(ipv4(sip), 12); pkt.set(ipv4(dip), 16);
    dv.setUint16(10, checksum(pkt.subarray(0, 20)));
    // RFC 768: ports, length; checksum 0 = not computed (allowed for IPv4).
    dv.setUint16(20, sport); dv.setUint16(22, dport); dv.setUint16(24, 8 + payload.length);
    pkt.set(payload, 28);
    const rec = new Uint8Array(16 + len);
    const rv = new DataView(rec.buffer);
    rv.setUint32(0, Math.floor(tsUs / 1e6), true); rv.setUint32(4, tsUs % 1e6, true);
    rv.setUint32(8, len, true); rv.setUint32(12, len, true);
    rec.set(pkt, 16);
    this.records.push({ tsUs, rec });
  }

  write(path: string): void {
    const head = new Uint8Array(24);
    const hv = new DataView(head.buffer);
    hv.setUint32(0, 0xa1b2c3d4, true); hv.setUint16(4, 2, true); hv.setUint16(6, 4, true);
    hv.setUint32(16, 65535, true); hv.setUint32(20, LINKTYPE_RAW, true);
    const recs = [...this.records].sort((a, b) => a.tsUs - b.tsUs).map((r) => r.rec);
    writeFileSync(path, Buffer.concat([head, ...recs]));
  }
}

function split(a: string): [string, number] { const i = a.lastIndexOf(':'); return [a.slice(0, i), Number(a.slice(i + 1))]; }
