// Segmentation offload (tcp tsoMaxBytes): new data leaves in segments of several full
// segments when the driver cuts them, only while the peer's MSS is at least ours; off by
// default (the other data tests run without it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeConfig } from './config.js';
import { established, fill, LOCAL_ISS as L, REMOTE_ISS as R } from './testing/trace.js';

const A = L + 1;
const P = R + 1;

test('tso: new data in whole multiples of the segment size, the tail with PSH', () => {
  const tr = established({ mss: 1000, tsoMaxBytes: 4500 }, L, R, { mss: 1000 });
  const data = fill(9500);
  tr.conn.send(data);
  tr.expectSend({ seq: A, ack: P, payload: data.subarray(0, 4000) });
  tr.expectSend({ seq: A + 4000, ack: P, payload: data.subarray(4000, 8000) });
  tr.expectSend({ seq: A + 8000, ack: P, flags: { ack: true, psh: true }, payload: data.subarray(8000) });
  tr.expectNoSend();
});

test('tso: not while the peer MSS is below ours (the driver cuts at our MSS)', () => {
  const tr = established({ mss: 1460, tsoMaxBytes: 8000 }, L, R, { mss: 1000 });
  const data = fill(2500);
  tr.conn.send(data);
  tr.expectSend({ seq: A, payload: data.subarray(0, 1000) });
  tr.expectSend({ seq: A + 1000, payload: data.subarray(1000, 2000) });
  tr.expectSend({ seq: A + 2000, flags: { ack: true, psh: true }, payload: data.subarray(2000) });
  tr.expectNoSend();
});

test('tso: bounds', () => {
  assert.throws(() => normalizeConfig({ mss: 1460, tsoMaxBytes: 1000 }), RangeError);
  assert.throws(() => normalizeConfig({ mss: 1460, tsoMaxBytes: 70_000 }), RangeError);
  assert.equal(normalizeConfig({}).tsoMaxBytes, undefined);
});
