// Authentication of the splicer peers' control datagrams: a fixed header (magic, version,
// sender, epoch, sequence number), the message body, and an HMAC-SHA256 tag (truncated to
// 16 bytes) over both under a key the splicers share. Replay protection is the sliding
// window of RFC 4303 §3.4.3 per sender (src/sttcp/control.ts ReplayWindow): a datagram is
// accepted once, and a sender restarting must use a higher epoch. Parsing never throws.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { ReplayWindow } from '../sttcp/control.js';
import { fail, ok, type ParseResult } from '../wire/result.js';

export const CRAFT_AUTH_MAGIC = 0x4346;          // "CF"
export const CRAFT_AUTH_VERSION = 1;
const HEADER_BYTES = 20;
const TAG_BYTES = 16;
/** Largest datagram accepted (body limit + header + tag). */
export const CRAFT_AUTH_MAX_BYTES = 1472;

export interface SealedHeader { sender: number; epoch: number; seq: bigint }

function tag(key: Uint8Array, data: Uint8Array): Uint8Array {
  return createHmac('sha256', key).update(data).digest().subarray(0, TAG_BYTES);
}

/** Header + body + tag. */
export function sealControl(body: Uint8Array, key: Uint8Array, h: SealedHeader): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES + body.length + TAG_BYTES);
  const v = new DataView(out.buffer);
  v.setUint16(0, CRAFT_AUTH_MAGIC);
  v.setUint8(2, CRAFT_AUTH_VERSION);
  v.setUint32(4, h.sender >>> 0);
  v.setUint32(8, h.epoch >>> 0);
  v.setBigUint64(12, h.seq);
  out.set(body, HEADER_BYTES);
  out.set(tag(key, out.subarray(0, HEADER_BYTES + body.length)), HEADER_BYTES + body.length);
  return out;
}

/** Checks the tag (constant time) and returns header and body; the caller applies replay protection. */
export function openControl(d: Uint8Array, key: Uint8Array): ParseResult<SealedHeader & { body: Uint8Array }> {
  if (d.length < HEADER_BYTES + TAG_BYTES || d.length > CRAFT_AUTH_MAX_BYTES) return fail('malformed', 'craft-auth', `${d.length} bytes`);
  const v = new DataView(d.buffer, d.byteOffset, d.byteLength);
  if (v.getUint16(0) !== CRAFT_AUTH_MAGIC) return fail('malformed', 'craft-auth', 'magic');
  if (v.getUint8(2) !== CRAFT_AUTH_VERSION) return fail('unsupported', 'craft-auth', `version ${v.getUint8(2)}`);
  const end = d.length - TAG_BYTES;
  if (!timingSafeEqual(tag(key, d.subarray(0, end)), d.subarray(end))) return fail('malformed', 'craft-auth', 'bad tag');
  return ok({ sender: v.getUint32(4), epoch: v.getUint32(8), seq: v.getBigUint64(12), body: d.slice(HEADER_BYTES, end) });
}

/** Replay windows of the peers, by sender id (bounded: a splicer has few peers). */
export class ReplayGuard {
  private readonly windows = new Map<number, ReplayWindow>();
  constructor(private readonly maxSenders = 64) {}
  accept(h: SealedHeader): boolean {
    let w = this.windows.get(h.sender);
    if (w === undefined) {
      if (this.windows.size >= this.maxSenders) return false;
      w = new ReplayWindow(64);
      this.windows.set(h.sender, w);
    }
    return w.accept(h.epoch, h.seq);
  }
}
