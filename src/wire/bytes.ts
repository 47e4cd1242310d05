// Small byte helpers shared by the codecs: big-endian field access and the
// "copy the payload unless it is already in place" rule that lets a sender build a
// frame inside-out in one buffer without copying the payload at each layer.

/** Copies `src` to buf[offset..] unless `src` already is that view of the same memory. */
export function placePayload(src: Uint8Array, buf: Uint8Array, offset: number): void {
  if (src.length === 0) return;
  if (src.buffer === buf.buffer && src.byteOffset === buf.byteOffset + offset) return;
  buf.set(src, offset);
}

export function readU16(b: Uint8Array, i: number): number {
  return (b[i]! << 8) | b[i + 1]!;
}

export function readU32(b: Uint8Array, i: number): number {
  return ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;
}

export function writeU16(b: Uint8Array, i: number, v: number): void {
  b[i] = (v >>> 8) & 0xff;
  b[i + 1] = v & 0xff;
}

export function writeU32(b: Uint8Array, i: number, v: number): void {
  b[i] = (v >>> 24) & 0xff;
  b[i + 1] = (v >>> 16) & 0xff;
  b[i + 2] = (v >>> 8) & 0xff;
  b[i + 3] = v & 0xff;
}
