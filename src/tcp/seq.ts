// Sequence-number arithmetic modulo 2^32 (RFC 9293 §3.4). Every comparison of
// sequence numbers in the TCP engine goes through these; never compare raw numbers.

export function seqAdd(a: number, n: number): number {
  return (a + n) >>> 0;
}

/** a - b as a signed 32-bit distance. */
export function seqDiff(a: number, b: number): number {
  return (a - b) | 0;
}

export function seqLt(a: number, b: number): boolean { return seqDiff(a, b) < 0; }
export function seqLe(a: number, b: number): boolean { return seqDiff(a, b) <= 0; }
export function seqGt(a: number, b: number): boolean { return seqDiff(a, b) > 0; }
export function seqGe(a: number, b: number): boolean { return seqDiff(a, b) >= 0; }

/** lo <= x < hi in sequence space. */
export function seqInRange(x: number, lo: number, hi: number): boolean {
  return seqLe(lo, x) && seqLt(x, hi);
}

export function seqMax(a: number, b: number): number { return seqGt(a, b) ? a : b; }
export function seqMin(a: number, b: number): number { return seqLt(a, b) ? a : b; }
