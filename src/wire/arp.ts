// ARP for IPv4 over Ethernet (RFC 826): request and reply, 28-byte packets.
// Other hardware/protocol types and operations are 'unsupported'. Cache logic is in src/stack/.
import { fail, ok, type ParseResult } from './result.js';
import { readU16, readU32, writeU16, writeU32 } from './bytes.js';

export const ARP_PACKET_LEN = 28;
export const ARP_OPERATION = { request: 1, reply: 2 } as const;
export type ArpOperation = keyof typeof ARP_OPERATION;

export interface ArpRepr {
  operation: ArpOperation;
  senderMac: Uint8Array;   // 6 bytes
  senderIp: number;        // u32
  targetMac: Uint8Array;   // 6 bytes (zero in a request)
  targetIp: number;        // u32
}

export function parseArpPacket(bytes: Uint8Array): ParseResult<ArpRepr> {
  if (bytes.length < ARP_PACKET_LEN) return fail('truncated', 'arp', `packet ${bytes.length} < 28 bytes`);
  // RFC 826: ar$hrd = 1 (Ethernet), ar$pro = 0x0800, ar$hln = 6, ar$pln = 4.
  if (readU16(bytes, 0) !== 1 || readU16(bytes, 2) !== 0x0800 || bytes[4] !== 6 || bytes[5] !== 4) {
    return fail('unsupported', 'arp', 'not Ethernet/IPv4');
  }
  const op = readU16(bytes, 6);
  if (op !== ARP_OPERATION.request && op !== ARP_OPERATION.reply) return fail('unsupported', 'arp', `operation ${op}`);
  return ok({
    operation: op === ARP_OPERATION.request ? 'request' : 'reply',
    senderMac: bytes.subarray(8, 14),
    senderIp: readU32(bytes, 14),
    targetMac: bytes.subarray(18, 24),
    targetIp: readU32(bytes, 24),
  });
}

export function arpPacketLen(_repr: ArpRepr): number {
  return ARP_PACKET_LEN;
}

export function emitArpPacket(repr: ArpRepr, buf: Uint8Array, offset = 0): number {
  writeU16(buf, offset, 1);
  writeU16(buf, offset + 2, 0x0800);
  buf[offset + 4] = 6;
  buf[offset + 5] = 4;
  writeU16(buf, offset + 6, ARP_OPERATION[repr.operation]);
  buf.set(repr.senderMac.subarray(0, 6), offset + 8);
  writeU32(buf, offset + 14, repr.senderIp);
  buf.set(repr.targetMac.subarray(0, 6), offset + 18);
  writeU32(buf, offset + 24, repr.targetIp);
  return ARP_PACKET_LEN;
}
