// H.248 over TCP (RFC 3525 Annex D.2): each message is preceded by a TPKT header (RFC 1006 §6):
// version 3, a reserved octet, and a 16-bit length that counts the header itself.
// Framing only: the bytes inside are handed to the text codec by the caller.

import type { WireError } from '../../wire/result.js';

export const TPKT_VERSION = 3;
export const TPKT_HEADER_BYTES = 4;
/** The 16-bit length field bounds a framed message, header included (RFC 1006 §6). */
export const TPKT_MAX_BYTES = 0xffff;

/** Frame one message: [3, 0, len_hi, len_lo] + payload. Our own misuse (too large, empty) throws. */
export function encodeTpkt(payload: Uint8Array): Uint8Array {
  const total = TPKT_HEADER_BYTES + payload.length;
  if (payload.length === 0) throw new RangeError('TPKT: empty payload');
  if (total > TPKT_MAX_BYTES) throw new RangeError(`TPKT: ${total} bytes exceed ${TPKT_MAX_BYTES}`);
  const out = new Uint8Array(total);
  out[0] = TPKT_VERSION;
  out[1] = 0;
  out[2] = total >>> 8;
  out[3] = total & 0xff;
  out.set(payload, TPKT_HEADER_BYTES);
  return out;
}

export type TpktResult =
  | { readonly ok: true; readonly messages: Uint8Array[] }
  | { readonly ok: false; readonly error: WireError };

/**
 * Incremental decoder for a TCP byte stream: push() any chunk (down to one byte), get the
 * complete messages. Holds at most one partial frame (≤ maxMessageBytes). A framing error is
 * sticky: the stream cannot be resynchronised, so the caller must close the connection.
 */
export class TpktDecoder {
  private buf: Uint8Array;
  private len = 0;
  private error: WireError | undefined;

  constructor(private readonly maxMessageBytes: number = TPKT_MAX_BYTES) {
    if (maxMessageBytes < TPKT_HEADER_BYTES + 1 || maxMessageBytes > TPKT_MAX_BYTES) throw new RangeError('TPKT: bad maxMessageBytes');
    this.buf = new Uint8Array(Math.min(4096, maxMessageBytes));
  }

  /** Bytes held for an incomplete frame. */
  bufferedBytes(): number {
    return this.len;
  }

  push(chunk: Uint8Array): TpktResult {
    if (this.error) return { ok: false, error: this.error };
    const messages: Uint8Array[] = [];
    let off = 0;
    while (off < chunk.length) {
      // Complete the header first, then the body, copying only what this frame needs.
      const need = this.len < TPKT_HEADER_BYTES ? TPKT_HEADER_BYTES : this.frameLength();
      const take = Math.min(need - this.len, chunk.length - off);
      this.append(chunk.subarray(off, off + take));
      off += take;
      if (this.len === TPKT_HEADER_BYTES && need === TPKT_HEADER_BYTES) {
        const err = this.checkHeader();
        if (err) { this.error = err; return { ok: false, error: err }; }
      }
      if (this.len >= TPKT_HEADER_BYTES && this.len === this.frameLength()) {
        messages.push(this.buf.slice(TPKT_HEADER_BYTES, this.len));
        this.len = 0;
      }
    }
    return { ok: true, messages };
  }

  private frameLength(): number {
    return (this.buf[2]! << 8) | this.buf[3]!;
  }

  // RFC 1006 §6: vrsn = 3; reserved; packet length = the whole TPKT including the header.
  private checkHeader(): WireError | undefined {
    if (this.buf[0] !== TPKT_VERSION) return { code: 'malformed', layer: 'tpkt', detail: `version ${this.buf[0]} (expected 3)` };
    const n = this.frameLength();
    if (n <= TPKT_HEADER_BYTES) return { code: 'malformed', layer: 'tpkt', detail: `length ${n} leaves no payload` };
    if (n > this.maxMessageBytes) return { code: 'unsupported', layer: 'tpkt', detail: `frame of ${n} bytes exceeds ${this.maxMessageBytes}` };
    return undefined;
  }

  private append(bytes: Uint8Array): void {
    if (this.len + bytes.length > this.buf.length) {
      const grown = new Uint8Array(Math.min(this.maxMessageBytes, Math.max(this.buf.length * 2, this.len + bytes.length)));
      grown.set(this.buf.subarray(0, this.len));
      this.buf = grown;
    }
    this.buf.set(bytes, this.len);
    this.len += bytes.length;
  }
}
