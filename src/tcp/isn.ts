// Initial sequence numbers per RFC 6528 §3: ISN = M + F(localip, localport, remoteip,
// remoteport, secretkey). Pure function of its inputs: the key and the time are passed in.
import { createHmac } from 'node:crypto';
import type { FourTuple } from './four-tuple.js';

/** RFC 6528 §3: M is a timer incremented every 4 microseconds (RFC 9293 §3.4.1). */
const TICK_US = 4;

/**
 * The ISN for a new connection. F is the first 32 bits of HMAC-SHA-256 of the connection
 * identifiers under the secret key (RFC 6528 §3: a keyed hash; the key should be
 * random per boot — the simulator draws it from its seed, drivers from crypto).
 */
export function isnFor(key: Uint8Array, tuple: FourTuple, nowUs: number): number {
  const ids = new Uint8Array(12);
  const v = new DataView(ids.buffer);
  v.setUint32(0, tuple.localIp >>> 0);
  v.setUint16(4, tuple.localPort & 0xffff);
  v.setUint32(6, tuple.remoteIp >>> 0);
  v.setUint16(10, tuple.remotePort & 0xffff);
  const digest = createHmac('sha256', key).update(ids).digest();
  const f = digest.readUInt32BE(0);
  // M: 4 µs ticks modulo 2^32. Math.floor keeps this exact for any safe-integer time.
  const m = Math.floor(Math.max(0, nowUs) / TICK_US) % 0x1_0000_0000;
  return (m + f) >>> 0;
}
