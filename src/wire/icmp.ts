// ICMPv4 messages (RFC 792): echo request/reply decoded; any other type kept as
// generic type/code/rest-of-header/data so it can be counted or re-emitted.
import { fail, ok, type ParseResult } from './result.js';
import { internetChecksum } from './checksum.js';
import { placePayload, readU16, readU32, writeU16, writeU32 } from './bytes.js';

export const ICMP_HEADER_LEN = 8;
export const ICMP_TYPE = { echoReply: 0, echoRequest: 8 } as const;

export type IcmpRepr =
  | { kind: 'echo-request' | 'echo-reply'; identifier: number; sequence: number; data: Uint8Array }
  | { kind: 'other'; type: number; code: number; /** header bytes 4..7 as u32 */ rest: number; data: Uint8Array };

export function parseIcmpMessage(bytes: Uint8Array): ParseResult<IcmpRepr> {
  if (bytes.length < ICMP_HEADER_LEN) return fail('truncated', 'icmp', `message ${bytes.length} < 8 bytes`);
  // RFC 792: the checksum covers the whole ICMP message.
  if (internetChecksum(bytes) !== 0) return fail('bad-checksum', 'icmp', 'checksum');
  const type = bytes[0]!;
  const code = bytes[1]!;
  const data = bytes.subarray(ICMP_HEADER_LEN);
  if (code === 0 && (type === ICMP_TYPE.echoRequest || type === ICMP_TYPE.echoReply)) {
    return ok({
      kind: type === ICMP_TYPE.echoRequest ? 'echo-request' : 'echo-reply',
      identifier: readU16(bytes, 4),
      sequence: readU16(bytes, 6),
      data,
    });
  }
  return ok({ kind: 'other', type, code, rest: readU32(bytes, 4), data });
}

export function icmpMessageLen(repr: IcmpRepr): number {
  return ICMP_HEADER_LEN + repr.data.length;
}

export function emitIcmpMessage(repr: IcmpRepr, buf: Uint8Array, offset = 0): number {
  if (repr.kind === 'other') {
    buf[offset] = repr.type;
    buf[offset + 1] = repr.code;
    writeU32(buf, offset + 4, repr.rest);
  } else {
    buf[offset] = repr.kind === 'echo-request' ? ICMP_TYPE.echoRequest : ICMP_TYPE.echoReply;
    buf[offset + 1] = 0;
    writeU16(buf, offset + 4, repr.identifier);
    writeU16(buf, offset + 6, repr.sequence);
  }
  writeU16(buf, offset + 2, 0);
  placePayload(repr.data, buf, offset + ICMP_HEADER_LEN);
  const len = ICMP_HEADER_LEN + repr.data.length;
  writeU16(buf, offset + 2, internetChecksum(buf, offset, len));
  return len;
}
