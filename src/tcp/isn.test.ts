// isnFor: RFC 6528 structure (4 µs clock plus keyed hash of the tuple), determinism and spread.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isnFor } from './isn.js';
import type { FourTuple } from './four-tuple.js';
import { fcParams } from './testing/fc-seed.js';

const key = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
const tuple: FourTuple = { localIp: 0x0a000001, localPort: 80, remoteIp: 0x0a000002, remotePort: 40000 };

test('deterministic for the same key, tuple and time', () => {
  assert.equal(isnFor(key, tuple, 123_456), isnFor(key, tuple, 123_456));
});

test('M advances by one every 4 µs (RFC 6528 §3)', () => {
  const a = isnFor(key, tuple, 1_000_000);
  assert.equal(isnFor(key, tuple, 1_000_003), a);
  assert.equal(isnFor(key, tuple, 1_000_004), (a + 1) >>> 0);
  assert.equal(isnFor(key, tuple, 1_004_000), (a + 1000) >>> 0);
});

test('M wraps modulo 2^32 (after ~4.77 hours)', () => {
  const period = 4 * 0x1_0000_0000;
  assert.equal(isnFor(key, tuple, 777 + period), isnFor(key, tuple, 777));
});

test('F depends on every tuple field and on the key', () => {
  const base = isnFor(key, tuple, 0);
  const variants: FourTuple[] = [
    { ...tuple, localIp: tuple.localIp + 1 }, { ...tuple, localPort: 81 },
    { ...tuple, remoteIp: tuple.remoteIp + 1 }, { ...tuple, remotePort: 40001 },
  ];
  for (const v of variants) assert.notEqual(isnFor(key, v, 0), base);
  assert.notEqual(isnFor(new Uint8Array(16), tuple, 0), base);
});

test('property: result is an unsigned 32-bit integer; distinct tuples rarely collide', () => {
  fc.assert(fc.property(
    fc.uint8Array({ minLength: 0, maxLength: 32 }),
    fc.record({ localIp: fc.nat(0xffffffff), localPort: fc.nat(0xffff), remoteIp: fc.nat(0xffffffff), remotePort: fc.nat(0xffff) }),
    fc.nat({ max: Number.MAX_SAFE_INTEGER }),
    (k, t, now) => {
      const isn = isnFor(k, t, now);
      assert.ok(Number.isInteger(isn) && isn >= 0 && isn <= 0xffffffff);
    }), fcParams('src/tcp/isn.test.ts'));
  const seen = new Set<number>();
  for (let p = 1024; p < 1024 + 2000; p++) seen.add(isnFor(key, { ...tuple, remotePort: p }, 0));
  assert.ok(seen.size >= 1995, `only ${seen.size} distinct ISNs for 2000 ports`);
});
