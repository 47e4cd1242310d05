// SendBuffer: bounded appends, seq-addressed slices across blocks and the 2^32 wrap, ACK
// trimming, view stability, and a model-based property with snapshot/restore.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SendBuffer } from './send-buffer.js';
import { seqAdd } from './seq.js';
import { fcParams } from './testing/fc-seed.js';

const bytes = (n: number, from = 0): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (from + i) & 0xff);

test('append is bounded by capacity and reports what it accepted', () => {
  const b = new SendBuffer(10);
  b.reset(1000);
  assert.equal(b.append(bytes(6)), 6);
  assert.equal(b.append(bytes(6)), 4);
  assert.equal(b.space(), 0);
  assert.equal(b.length(), 10);
  assert.equal(b.append(bytes(1)), 0);
  assert.equal(b.startSeq(), 1000);
  assert.equal(b.endSeq(), 1010);
});

test('slice addresses bytes by sequence number and clamps at the end', () => {
  const b = new SendBuffer(100, 8);
  b.reset(500);
  b.append(bytes(30));
  assert.deepEqual(b.slice(500, 5), bytes(5));
  assert.deepEqual(b.slice(506, 10), bytes(10, 6)); // crosses a block edge
  assert.deepEqual(b.slice(525, 100), bytes(5, 25));
  assert.equal(b.slice(530, 10).length, 0);
  assert.equal(b.slice(499, 10).length, 0);
  assert.equal(b.slice(500, 0).length, 0);
});

test('ackTo drops acknowledged bytes and frees space; stale ACKs are ignored', () => {
  const b = new SendBuffer(20, 8);
  b.reset(0xfffffff0);
  b.append(bytes(20));
  b.ackTo(0xfffffffa);
  assert.equal(b.startSeq(), 0xfffffffa);
  assert.equal(b.length(), 10);
  assert.equal(b.space(), 10);
  assert.deepEqual(b.slice(0xfffffffa, 10), bytes(10, 10));
  b.ackTo(0xfffffff5); // old
  assert.equal(b.length(), 10);
  b.append(bytes(10, 20));
  assert.deepEqual(b.slice(0xfffffffe, 8), bytes(8, 14)); // across the 2^32 wrap
  assert.equal(b.endSeq(), 0x0000000e);
});

test('an ACK past the end (covering a FIN) empties the buffer and moves the start', () => {
  const b = new SendBuffer(20);
  b.reset(100);
  b.append(bytes(5));
  b.ackTo(106);
  assert.equal(b.length(), 0);
  assert.equal(b.startSeq(), 106);
  b.append(bytes(3));
  assert.deepEqual(b.slice(106, 3), bytes(3));
});

test('a view returned by slice stays unchanged after ack and further appends', () => {
  const b = new SendBuffer(64, 16);
  b.reset(0);
  b.append(bytes(10));
  const v = b.slice(2, 4);
  b.ackTo(10);
  b.append(new Uint8Array(40).fill(0xee));
  assert.deepEqual(v, bytes(4, 2));
});

test('appended data is copied, not referenced', () => {
  const b = new SendBuffer(16);
  b.reset(0);
  const src = bytes(8);
  b.append(src);
  src.fill(0);
  assert.deepEqual(b.slice(0, 8), bytes(8));
});

test('property: slices always equal the appended bytes (start near 2^32, random blocks, snapshot/restore)', () => {
  type Op = { op: 'append'; n: number } | { op: 'ack'; k: number } | { op: 'slice'; off: number; len: number } | { op: 'snap' };
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ op: fc.constant('append' as const), n: fc.integer({ min: 0, max: 300 }) }),
    fc.record({ op: fc.constant('ack' as const), k: fc.integer({ min: -20, max: 400 }) }),
    fc.record({ op: fc.constant('slice' as const), off: fc.integer({ min: -5, max: 600 }), len: fc.integer({ min: 0, max: 200 }) }),
    fc.constant({ op: 'snap' as const }),
  );
  fc.assert(fc.property(
    fc.integer({ min: 0xffffff00 - 1460, max: 0xffffffff }),
    fc.integer({ min: 1, max: 600 }),
    fc.integer({ min: 1, max: 97 }),
    fc.array(opArb, { maxLength: 60 }),
    (isn1, cap, block, ops) => {
      let b = new SendBuffer(cap, block);
      b.reset(isn1);
      // Model: the whole stream as appended, and the sequence number of stream[0].
      const stream: number[] = [];
      let una = 0; // index into stream of startSeq
      let counter = 0;
      for (const o of ops) {
        if (o.op === 'append') {
          const data = bytes(o.n, counter);
          const acc = b.append(data);
          assert.equal(acc, Math.min(o.n, cap - (stream.length - una)));
          for (let i = 0; i < acc; i++) stream.push(data[i]!);
          counter += o.n;
        } else if (o.op === 'ack') {
          const target = una + o.k;
          b.ackTo(seqAdd(isn1, target));
          if (o.k > 0) una = Math.min(target, stream.length);
          if (o.k > 0 && target > stream.length) {
            // ACK beyond the end: the buffer re-bases there; the model follows.
            for (let i = stream.length; i < target; i++) stream.push(-1);
            una = target;
          }
        } else if (o.op === 'slice') {
          const got = b.slice(seqAdd(isn1, una + o.off), o.len);
          const from = una + o.off;
          const want = o.off < 0 || from >= stream.length ? [] : stream.slice(from, from + o.len);
          assert.deepEqual(Array.from(got), want);
        } else {
          b = SendBuffer.restore(structuredClone(b.snapshot()));
        }
        assert.equal(b.startSeq(), seqAdd(isn1, una));
        assert.equal(b.length(), stream.length - una);
        assert.equal(b.endSeq(), seqAdd(isn1, stream.length));
        assert.ok(b.length() <= cap);
      }
    }), fcParams('src/tcp/send-buffer.test.ts'));
});
