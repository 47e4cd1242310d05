// Internet checksum against a naive reference, and RFC 1624 incremental updates
// against full recomputation (what the CRAFT splicer relies on).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { checksumUpdate16, checksumUpdate32, internetChecksum, onesSum, foldChecksum, pseudoHeaderSum } from './checksum.js';
import { checkProperty } from './prop.js';

const FILE = 'src/wire/checksum.test.ts';

/** Naive RFC 1071 reference: 16-bit words with end-around carry after every add. */
function reference(b: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < b.length; i += 2) {
    s += (b[i]! << 8) | (i + 1 < b.length ? b[i + 1]! : 0);
    s = (s & 0xffff) + (s >>> 16);
  }
  return ~s & 0xffff;
}

test('RFC 1071 §3 worked example: sum of 0001 f203 f4f5 f6f7 is ddf2', () => {
  const b = new Uint8Array([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]);
  assert.equal(internetChecksum(b), ~0xddf2 & 0xffff);
});

test('a known IPv4 header checksums to b861', () => {
  // 4500 0073 0000 4000 4011 [b861] c0a8 0001 c0a8 00c7 (Wikipedia's worked example)
  const h = new Uint8Array([0x45, 0, 0, 0x73, 0, 0, 0x40, 0, 0x40, 0x11, 0, 0, 0xc0, 0xa8, 0, 1, 0xc0, 0xa8, 0, 0xc7]);
  assert.equal(internetChecksum(h), 0xb861);
  h[10] = 0xb8; h[11] = 0x61;
  assert.equal(internetChecksum(h), 0);
});

test('onesSum matches a naive reference on any bytes, any odd/even length, any sub-range', () => {
  checkProperty('checksum-reference', FILE, fc.property(
    fc.uint8Array({ maxLength: 3000 }), fc.nat(40), fc.nat(40),
    (b, a, z) => {
      const off = Math.min(a, b.length);
      const len = Math.max(0, b.length - off - z);
      assert.equal(internetChecksum(b, off, len), reference(b.subarray(off, off + len)));
    }));
});

test('chaining: an even-length prefix sum fed as initial equals the whole', () => {
  checkProperty('checksum-chain', FILE, fc.property(fc.uint8Array({ minLength: 2, maxLength: 500 }), fc.nat(), (b, k) => {
    const cut = (k % (b.length >> 1)) * 2;
    const whole = internetChecksum(b);
    assert.equal(foldChecksum(onesSum(b, cut, b.length - cut, onesSum(b, 0, cut))), whole);
  }));
});

test('pseudo-header sum equals summing the 12 pseudo-header bytes', () => {
  checkProperty('pseudo-header', FILE, fc.property(fc.nat(0xffffffff), fc.nat(0xffffffff), fc.nat(255), fc.nat(0xffff), (s, d, p, l) => {
    const ph = new Uint8Array([s >>> 24, s >>> 16, s >>> 8, s, d >>> 24, d >>> 16, d >>> 8, d, 0, p, l >>> 8, l].map((x) => x & 255));
    assert.equal(foldChecksum(pseudoHeaderSum(s, d, p, l)), internetChecksum(ph));
  }));
});

// Data that is not all zero (every real header has a non-zero field), so the full
// checksum is never 0xffff, the one value RFC 1624 eqn. 3 cannot reproduce (§3).
const packet = fc.uint8Array({ minLength: 8, maxLength: 200 }).filter((b) => b.some((x) => x !== 0));

test('RFC 1624 16-bit update equals full recomputation', () => {
  checkProperty('incremental-16', FILE, fc.property(packet, fc.nat(), fc.nat(0xffff), (b0, k, nv) => {
    const b = Uint8Array.from(b0);
    const at = (k % (b.length >> 1)) * 2;
    const before = internetChecksum(b);
    const old = (b[at]! << 8) | b[at + 1]!;
    b[at] = nv >>> 8; b[at + 1] = nv & 255;
    fc.pre(b.some((x) => x !== 0));
    assert.equal(checksumUpdate16(before, old, nv), internetChecksum(b));
  }), 2000);
});

test('RFC 1624 32-bit update equals full recomputation (addresses, seq/ack)', () => {
  checkProperty('incremental-32', FILE, fc.property(packet, fc.nat(), fc.nat(0xffffffff), (b0, k, nv) => {
    const b = Uint8Array.from(b0);
    const at = (k % ((b.length - 2) >> 1)) * 2;
    const before = internetChecksum(b);
    const old = ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
    b[at] = nv >>> 24; b[at + 1] = (nv >>> 16) & 255; b[at + 2] = (nv >>> 8) & 255; b[at + 3] = nv & 255;
    fc.pre(b.some((x) => x !== 0));
    assert.equal(checksumUpdate32(before, old, nv), internetChecksum(b));
  }), 2000);
});

test('RFC 1624 updates compose: several field rewrites in a row still match', () => {
  checkProperty('incremental-chain', FILE, fc.property(packet, fc.array(fc.tuple(fc.nat(), fc.nat(0xffff)), { maxLength: 8 }), (b0, edits) => {
    const b = Uint8Array.from(b0);
    let hc = internetChecksum(b);
    for (const [k, nv] of edits) {
      const at = (k % (b.length >> 1)) * 2;
      const old = (b[at]! << 8) | b[at + 1]!;
      b[at] = nv >>> 8; b[at + 1] = nv & 255;
      hc = checksumUpdate16(hc, old, nv);
    }
    fc.pre(b.some((x) => x !== 0));
    assert.equal(hc, internetChecksum(b));
  }), 1000);
});

test('long ranges (past the 32 KiB accumulator chunks) match the reference', () => {
  const b = new Uint8Array(200_001);
  for (let i = 0; i < b.length; i++) b[i] = (i * 2654435761) >>> 24;
  b.fill(0xff, 1000, 140_000);                          // worst case for the accumulators
  for (const [off, len] of [[0, b.length], [1, 199_999], [3, 65_537], [7, 131_072]] as const) {
    assert.equal(internetChecksum(b, off, len), reference(b.subarray(off, off + len)));
  }
});
