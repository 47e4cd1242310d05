// Reassembly: out-of-order storage, window and segment bounds, RFC 2018 SACK block order,
// and properties: any permutation/duplication of a stream comes back exact; hostile input is bounded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Reassembly } from './reassembly.js';
import { seqAdd } from './seq.js';
import { fcParams } from './testing/fc-seed.js';

const bytes = (n: number, from = 0): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (from + i) & 0xff);
const NXT = 0xffffff00;

test('in-order insert is taken back immediately', () => {
  const q = new Reassembly(1000, 10);
  assert.equal(q.insert(NXT, bytes(10), NXT), 'stored');
  assert.deepEqual(q.take(NXT), bytes(10));
  assert.equal(q.bufferedBytes(), 0);
  assert.equal(q.take(seqAdd(NXT, 10)), undefined);
});

test('a hole blocks take until it is filled; filled data comes back contiguous across 2^32', () => {
  const q = new Reassembly(4096, 10);
  const stream = bytes(600);
  assert.equal(q.insert(seqAdd(NXT, 200), stream.subarray(200, 400), NXT), 'stored');
  assert.equal(q.insert(seqAdd(NXT, 400), stream.subarray(400, 600), NXT), 'stored');
  assert.equal(q.take(NXT), undefined);
  assert.equal(q.bufferedBytes(), 400);
  assert.equal(q.insert(NXT, stream.subarray(0, 200), NXT), 'stored');
  assert.deepEqual(q.take(NXT), stream);
  assert.equal(q.segmentCount(), 0);
});

test('duplicates and old data are reported as such; overlap keeps only the new bytes', () => {
  const q = new Reassembly(4096, 10);
  const s = bytes(300);
  q.insert(seqAdd(NXT, 100), s.subarray(100, 200), NXT);
  assert.equal(q.insert(seqAdd(NXT, 100), s.subarray(100, 200), NXT), 'duplicate');
  assert.equal(q.insert(seqAdd(NXT, 120), s.subarray(120, 150), NXT), 'duplicate');
  assert.equal(q.insert(seqAdd(NXT, -50), bytes(50), NXT), 'duplicate');
  assert.equal(q.insert(NXT, new Uint8Array(0), NXT), 'duplicate');
  assert.equal(q.insert(seqAdd(NXT, 50), s.subarray(50, 250), NXT), 'stored');
  assert.equal(q.bufferedBytes(), 200);
  assert.equal(q.segmentCount(), 3);
  // Starts before rcvNxt: the old part is trimmed (RFC 9293 §3.10.7.4).
  const straddle = new Uint8Array(60).fill(0xee);
  straddle.set(s.subarray(0, 50), 10);
  assert.equal(q.insert(seqAdd(NXT, -10), straddle, NXT), 'stored');
  assert.deepEqual(q.take(NXT), s.subarray(0, 250));
});

test('window: beyond rcvNxt + maxBytes is out-of-window; straddling segments are trimmed', () => {
  const q = new Reassembly(100, 10);
  assert.equal(q.insert(seqAdd(NXT, 100), bytes(10), NXT), 'out-of-window');
  assert.equal(q.insert(seqAdd(NXT, 90), bytes(20), NXT), 'stored');
  assert.equal(q.bufferedBytes(), 10);
  assert.deepEqual(q.sackBlocks(4), [{ left: seqAdd(NXT, 90), right: seqAdd(NXT, 100) }]);
});

test('segment limit: out-of-order beyond maxSegments is dropped, in-order data never is', () => {
  const q = new Reassembly(10_000, 2);
  assert.equal(q.insert(seqAdd(NXT, 100), bytes(10), NXT), 'stored');
  assert.equal(q.insert(seqAdd(NXT, 200), bytes(10), NXT), 'stored');
  assert.equal(q.insert(seqAdd(NXT, 300), bytes(10), NXT), 'dropped-full');
  assert.equal(q.insert(NXT, bytes(10), NXT), 'stored');
  assert.deepEqual(q.take(NXT), bytes(10));
  assert.equal(q.insert(seqAdd(NXT, 300), bytes(10), seqAdd(NXT, 10)), 'dropped-full');
  // A segment spanning two holes needs two pieces.
  const r = new Reassembly(10_000, 3);
  r.insert(seqAdd(NXT, 10), bytes(10), NXT);
  r.insert(seqAdd(NXT, 30), bytes(10), NXT);
  assert.equal(r.insert(seqAdd(NXT, 5), bytes(40), NXT), 'dropped-full');
});

test('SACK blocks: most recent first, then recently reported, then the rest (RFC 2018 §4)', () => {
  const q = new Reassembly(100_000, 100);
  const at = (o: number): number => seqAdd(NXT, o);
  q.insert(at(1000), bytes(100), NXT); // block A [1000,1100)
  assert.deepEqual(q.sackBlocks(3), [{ left: at(1000), right: at(1100) }]);
  q.insert(at(3000), bytes(100), NXT); // block B
  q.insert(at(5000), bytes(100), NXT); // block C
  assert.deepEqual(q.sackBlocks(3).map((b) => b.left), [at(5000), at(3000), at(1000)]);
  q.insert(at(1100), bytes(100), NXT); // extends A -> A is newest
  assert.deepEqual(q.sackBlocks(3), [
    { left: at(1000), right: at(1200) }, { left: at(5000), right: at(5100) }, { left: at(3000), right: at(3100) },
  ]);
  q.insert(at(7000), bytes(100), NXT);
  q.insert(at(9000), bytes(100), NXT);
  assert.deepEqual(q.sackBlocks(3).map((b) => b.left), [at(9000), at(7000), at(1000)]);
  assert.equal(q.sackBlocks(10).length, 5);
  assert.deepEqual(q.sackBlocks(0), []);
  // Blocks below rcvNxt disappear once delivered.
  q.insert(at(0), bytes(1000), NXT);
  q.take(NXT);
  assert.deepEqual(q.sackBlocks(4).map((b) => b.left), [at(9000), at(7000), at(5000), at(3000)]);
});

test('clear empties everything', () => {
  const q = new Reassembly(1000, 10);
  q.insert(seqAdd(NXT, 10), bytes(10), NXT);
  q.clear();
  assert.equal(q.bufferedBytes(), 0);
  assert.deepEqual(q.sackBlocks(4), []);
  assert.ok(q.isEmpty());
});

test('property: any permutation/duplication of a stream\'s segments, inserted in-window, yields the exact stream', () => {
  fc.assert(fc.property(
    fc.integer({ min: 0xffffff00 - 3000, max: 0xffffffff }),
    fc.integer({ min: 1, max: 3000 }),
    fc.array(fc.tuple(fc.nat(3000), fc.integer({ min: 1, max: 400 })), { minLength: 1, maxLength: 40 }),
    fc.integer({ min: 0, max: 1000 }),
    fc.nat(),
    (isn, len, cuts, snapAt, permSeed) => {
      const stream = bytes(len, isn);
      // Segments: a cover of the stream plus random (overlapping) extra pieces.
      const segs: Array<[number, number]> = [];
      for (let o = 0; o < len; o += 137) segs.push([o, Math.min(len, o + 137)]);
      for (const [a, l] of cuts) { const s = a % len; segs.push([s, Math.min(len, s + l)]); }
      // Deterministic shuffle from permSeed.
      let x = permSeed | 1;
      for (let i = segs.length - 1; i > 0; i--) {
        x = (Math.imul(x, 1103515245) + 12345) >>> 0;
        const j = x % (i + 1);
        [segs[i], segs[j]] = [segs[j]!, segs[i]!];
      }
      let q = new Reassembly(len, 1000);
      let nxt = isn;
      const out: number[] = [];
      let step = 0;
      for (const [a, b] of segs) {
        if (step++ === snapAt) q = Reassembly.restore(structuredClone(q.snapshot()));
        const r = q.insert(seqAdd(isn, a), stream.subarray(a, b), nxt);
        assert.notEqual(r, 'dropped-full');
        assert.notEqual(r, 'out-of-window');
        for (const blk of q.sackBlocks(4)) {
          assert.ok((blk.right - blk.left) >>> 0 > 0);
        }
        const got = q.take(nxt);
        if (got) { out.push(...got); nxt = seqAdd(nxt, got.length); }
        assert.ok(q.bufferedBytes() <= len);
      }
      assert.deepEqual(out, Array.from(stream));
      assert.equal(q.bufferedBytes(), 0);
      assert.equal(q.segmentCount(), 0);
    }), fcParams('src/tcp/reassembly.test.ts'));
});

test('property: SACK blocks are disjoint, above rcvNxt, match the stored bytes, first is the latest arrival', () => {
  fc.assert(fc.property(
    fc.integer({ min: 0xffffff00, max: 0xffffffff }),
    fc.array(fc.tuple(fc.integer({ min: 1, max: 2000 }), fc.integer({ min: 1, max: 200 })), { minLength: 1, maxLength: 30 }),
    (nxt, segs) => {
      const q = new Reassembly(3000, 1000);
      const held = new Set<number>();
      for (const [o, l] of segs) {
        const r = q.insert(seqAdd(nxt, o), bytes(l), nxt);
        for (let k = o; k < Math.min(o + l, 3000); k++) held.add(k);
        const blocks = q.sackBlocks(4);
        if (r === 'stored') {
          const first = blocks[0]!;
          const off = (first.left - nxt) >>> 0;
          const end = (first.right - nxt) >>> 0;
          assert.ok(off <= o && o < end, 'first block contains the newest segment');
        }
        const all = q.sackBlocks(1000);
        let total = 0;
        const sorted = all.map((b) => [(b.left - nxt) >>> 0, (b.right - nxt) >>> 0] as const).sort((a, b) => a[0] - b[0]);
        for (let i = 0; i < sorted.length; i++) {
          const [l, rr] = sorted[i]!;
          assert.ok(l > 0 && rr > l && rr <= 3000);
          if (i > 0) assert.ok(l > sorted[i - 1]![1], 'blocks disjoint and not adjacent');
          total += rr - l;
        }
        assert.equal(total, held.size);
        assert.equal(q.bufferedBytes(), held.size);
      }
    }), fcParams('src/tcp/reassembly.test.ts'));
});

test('take trims stored bytes the connection already passed (rcvNxt inside a run)', () => {
  const q = new Reassembly(1000, 10);
  const s = bytes(300);
  q.insert(seqAdd(NXT, 100), s.subarray(100, 200), NXT);
  q.insert(seqAdd(NXT, 200), s.subarray(200, 300), NXT);
  assert.deepEqual(q.take(seqAdd(NXT, 150)), s.subarray(150, 300));
  assert.equal(q.bufferedBytes(), 0);
  q.insert(seqAdd(NXT, 400), s.subarray(0, 10), seqAdd(NXT, 300));
  assert.equal(q.take(seqAdd(NXT, 500)), undefined); // passed entirely: discarded
  assert.equal(q.bufferedBytes(), 0);
});

test('property: arbitrary segments anywhere in sequence space never throw and respect the bounds', () => {
  fc.assert(fc.property(
    fc.nat(0xffffffff),
    fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 1, max: 20 }),
    fc.array(fc.record({
      seq: fc.oneof(fc.nat(0xffffffff), fc.integer({ min: -3000, max: 8000 })),
      len: fc.nat(3000), advance: fc.integer({ min: -100, max: 2000 }),
    }), { maxLength: 60 }),
    (nxt0, maxBytes, maxSegments, ops) => {
      const q = new Reassembly(maxBytes, maxSegments);
      let nxt = nxt0 >>> 0;
      for (const o of ops) {
        const seq = o.seq >= 0 && o.seq > 8000 ? o.seq >>> 0 : seqAdd(nxt, o.seq);
        q.insert(seq, bytes(o.len), nxt);
        if (o.advance > 0) nxt = seqAdd(nxt, o.advance);
        q.take(nxt);
        assert.ok(q.bufferedBytes() <= maxBytes);
        assert.ok(q.segmentCount() <= maxSegments + 1);
        for (const b of q.sackBlocks(4)) assert.ok(((b.left - nxt) >>> 0) < maxBytes + 1);
      }
    }), fcParams('src/tcp/reassembly.test.ts'));
});
