// Internet checksum (RFC 1071) over byte ranges, the IPv4 pseudo-header sum used by
// TCP and UDP, and RFC 1624 incremental updates for rewritten fields.
// Formats and their field offsets live in their own files; this is arithmetic only.

/**
 * Unfolded sum of the big-endian 16-bit words of buf[offset, offset+length), added
 * to `initial` (RFC 1071 §4.1). An odd trailing byte is padded with zero.
 * The result is a plain number (< 2^53 for any realistic length); fold it with
 * foldChecksum() or feed it back as `initial` to chain ranges. Chained ranges
 * other than the last must have even length.
 */
export function onesSum(buf: Uint8Array, offset = 0, length = buf.length - offset, initial = 0): number {
  let sum = initial;
  let i = 0;
  if (length >= 64) {
    // 32-bit big-endian loads, two per iteration, into int32 accumulators; chunks of
    // 32 KiB keep each accumulator below 2^32, so `>>> 0` recovers it exactly.
    const v = new DataView(buf.buffer, buf.byteOffset + offset, length);
    const end8 = length & ~7;
    while (i < end8) {
      const stop = Math.min(end8, i + 32768);
      let hi = 0, lo = 0;
      for (; i < stop; i += 8) {
        const w = v.getUint32(i), x = v.getUint32(i + 4);
        hi = (hi + (w >>> 16) + (x >>> 16)) | 0;
        lo = (lo + (w & 0xffff) + (x & 0xffff)) | 0;
      }
      sum += (hi >>> 0) + (lo >>> 0);
    }
  }
  const end = offset + length;
  for (i += offset; i + 1 < end; i += 2) sum += (buf[i]! << 8) | buf[i + 1]!;
  if (i < end) sum += buf[i]! << 8;
  return sum;
}

/** Folds an unfolded sum to 16 bits with end-around carry and complements it (RFC 1071 §4.1). */
export function foldChecksum(sum: number): number {
  // Numbers above 2^32 cannot use >>>, so fold the high part arithmetically first.
  while (sum > 0xffff) sum = (sum % 0x10000) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

/** The internet checksum of a byte range: 0 when computed over data that includes a valid checksum. */
export function internetChecksum(buf: Uint8Array, offset = 0, length = buf.length - offset): number {
  return foldChecksum(onesSum(buf, offset, length));
}

/** The IPv4 pseudo-header sum for TCP/UDP (RFC 9293 §3.1, RFC 768): src, dst, zero+protocol, length. */
export function pseudoHeaderSum(srcIp: number, dstIp: number, protocol: number, length: number): number {
  return (srcIp >>> 16) + (srcIp & 0xffff) + (dstIp >>> 16) + (dstIp & 0xffff) + protocol + length;
}

/**
 * RFC 1624 §3 eqn. 3: HC' = ~(~HC + ~m + m'), for one 16-bit field changed from
 * `oldValue` to `newValue` under checksum `hc`. Equals a full recomputation.
 */
export function checksumUpdate16(hc: number, oldValue: number, newValue: number): number {
  let s = (~hc & 0xffff) + (~oldValue & 0xffff) + (newValue & 0xffff);
  s = (s & 0xffff) + (s >>> 16);
  s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/** RFC 1624 update for a 32-bit field (an IPv4 address, a sequence number): both halves at once. */
export function checksumUpdate32(hc: number, oldValue: number, newValue: number): number {
  let s = (~hc & 0xffff)
    + (~(oldValue >>> 16) & 0xffff) + (~oldValue & 0xffff)
    + ((newValue >>> 16) & 0xffff) + (newValue & 0xffff);
  s = (s & 0xffff) + (s >>> 16);
  s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}
