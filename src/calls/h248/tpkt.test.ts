// TPKT framing (RFC 1006 §6 as H.248 Annex D.2 uses it): encoder layout, a decoder fed the
// stream split at every byte boundary, sticky framing errors, and the size bound.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeTpkt, TpktDecoder } from './tpkt.js';
import { encodeMessage } from './text-printer.js';
import { sampleMessages } from './sample-messages.js';

test('encoder writes version 3, reserved 0 and the length including the header', () => {
  const f = encodeTpkt(new Uint8Array([0x41, 0x42, 0x43]));
  assert.deepEqual([...f], [3, 0, 0, 7, 0x41, 0x42, 0x43]);
  assert.throws(() => encodeTpkt(new Uint8Array(0)));
  assert.throws(() => encodeTpkt(new Uint8Array(0xffff - 3)));
  assert.equal(encodeTpkt(new Uint8Array(0xffff - 4)).length, 0xffff);
});

test('decoder returns the same messages whatever the split points (every byte boundary, one and two cuts)', () => {
  const msgs = sampleMessages().slice(0, 4).map(([, m]) => encodeMessage(m));
  const stream = Buffer.concat(msgs.map((m) => encodeTpkt(m)));
  const expected = msgs.map((m) => Buffer.from(m).toString('latin1'));
  const check = (cuts: number[]): void => {
    const d = new TpktDecoder();
    const got: string[] = [];
    let prev = 0;
    for (const c of [...cuts, stream.length]) {
      const r = d.push(stream.subarray(prev, c));
      assert.ok(r.ok);
      got.push(...r.messages.map((m) => Buffer.from(m).toString('latin1')));
      prev = c;
    }
    assert.deepEqual(got, expected, `cuts ${cuts.join(',')}`);
    assert.equal(d.bufferedBytes(), 0);
  };
  for (let i = 0; i <= stream.length; i++) check([i]);
  for (let i = 0; i < 200; i += 3) for (let j = i; j < stream.length; j += 37) check([i, j]);
  // one byte at a time
  check(Array.from({ length: stream.length }, (_, i) => i));
});

test('bad version or length is a sticky framing error; a frame above the bound is refused before buffering', () => {
  const d = new TpktDecoder();
  const bad = d.push(new Uint8Array([4, 0, 0, 9, 1, 2]));
  assert.equal(bad.ok, false);
  const again = d.push(encodeTpkt(new Uint8Array([1])));
  assert.equal(again.ok, false, 'error is sticky');
  const short = new TpktDecoder().push(new Uint8Array([3, 0, 0, 4]));
  assert.equal(short.ok, false);
  const small = new TpktDecoder(100);
  const big = small.push(new Uint8Array([3, 0, 0x01, 0x00]));
  assert.ok(!big.ok && big.error.code === 'unsupported');
  assert.ok(small.bufferedBytes() <= 4);
});
