// Packet traces for data transfer in ESTABLISHED: sending and segmentation, receiving,
// delayed ACKs (RFC 1122 §4.2.3.2), out-of-order data, Nagle on/off, flow control,
// window updates, zero window and probing, and sequence numbers wrapping past 2^32.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeConfig } from './config.js';
import { established, fill, LOCAL_ISS as L, REMOTE_ISS as R } from './testing/trace.js';

const A = L + 1; // our first data sequence number
const P = R + 1; // the peer's first data sequence number

test('send: one segment, PSH on the last, ACK clears the retransmission timer', () => {
  const tr = established();
  assert.equal(tr.conn.send(new TextEncoder().encode('hello')), 5);
  tr.expectSend({ seq: A, ack: P, flags: { ack: true, psh: true }, payload: 'hello' });
  tr.expectNoSend();
  assert.ok(tr.conn.pollDeadline() !== undefined, 'retransmission timer running');
  tr.recv({ seq: P, ack: A + 5 });
  assert.equal(tr.conn.pollDeadline(), undefined);
  tr.expectNoSend();
});

test('send: segmentation at the peer MSS', () => {
  const tr = established();
  const data = fill(2500);
  tr.conn.send(data);
  tr.expectSend({ seq: A, payload: data.subarray(0, 1000) });
  tr.expectSend({ seq: A + 1000, payload: data.subarray(1000, 2000) });
  tr.expectSend({ seq: A + 2000, flags: { ack: true, psh: true }, payload: data.subarray(2000) });
  tr.expectNoSend();
});

test('receive: in-order data is readable, ACK delayed by delayedAckUs', () => {
  const tr = established();
  tr.recv({ seq: P, ack: A, payload: 'abc' });
  assert.deepEqual(tr.takeEvents(), [{ type: 'readable' }]);
  tr.expectNoSend('ACK is delayed');
  assert.equal(tr.conn.pollDeadline(), tr.nowUs + 40_000);
  tr.advance(39_999);
  tr.expectNoSend();
  tr.advance(1);
  tr.expectSend({ seq: A, ack: P + 3 });
  assert.equal(new TextDecoder().decode(tr.conn.read()), 'abc');
});

test('delayed ACK: at least every second full-sized segment (RFC 1122 §4.2.3.2)', () => {
  const tr = established();
  tr.recv({ seq: P, ack: A, payload: fill(1000) });
  tr.expectNoSend();
  tr.recv({ seq: P + 1000, ack: A, payload: fill(1000) });
  tr.expectSend({ seq: A, ack: P + 2000 });
  tr.expectNoSend();
});

test('delayed ACK bound: the timeout may not exceed 500 ms', () => {
  assert.throws(() => normalizeConfig({ delayedAckUs: 500_001 }), RangeError);
  const tr = established({ delayedAckUs: 500_000 });
  tr.recv({ seq: P, ack: A, payload: 'x' });
  assert.equal(tr.conn.pollDeadline(), tr.nowUs + 500_000);
});

test('a reply piggybacks the delayed ACK', () => {
  const tr = established();
  tr.recv({ seq: P, ack: A, payload: 'ping' });
  tr.conn.send(new TextEncoder().encode('pong'));
  tr.expectSend({ seq: A, ack: P + 4, flags: { ack: true, psh: true }, payload: 'pong' });
  tr.expectNoSend();
});

test('out-of-order data: immediate duplicate ACK; filling the hole: immediate ACK of everything', () => {
  const tr = established();
  tr.recv({ seq: P + 100, ack: A, payload: fill(100, 100) });
  tr.expectSend({ seq: A, ack: P }, 'dup ACK at once');
  assert.equal(tr.conn.readableBytes(), 0);
  tr.recv({ seq: P + 300, ack: A, payload: fill(100, 300) });
  tr.expectSend({ seq: A, ack: P });
  tr.recv({ seq: P, ack: A, payload: fill(100, 0) });
  tr.expectSend({ seq: A, ack: P + 200 }, 'hole filled up to the next hole');
  tr.recv({ seq: P + 200, ack: A, payload: fill(100, 200) });
  tr.expectSend({ seq: A, ack: P + 400 });
  const got = tr.conn.read();
  const want = new Uint8Array(400);
  for (const off of [0, 100, 200, 300]) want.set(fill(100, off), off);
  assert.deepEqual(got, want);
});

test('duplicate data is ACKed at once and delivered once', () => {
  const tr = established();
  tr.recv({ seq: P, ack: A, payload: 'abcd' });
  tr.recv({ seq: P, ack: A, payload: 'abcd' });
  tr.expectSend({ seq: A, ack: P + 4 });
  tr.recv({ seq: P + 2, ack: A, payload: 'cdef' }); // overlaps: only 'ef' is new
  assert.equal(new TextDecoder().decode(tr.conn.read()), 'abcdef');
});

test('Nagle on: a second small write waits for the ACK of the first', () => {
  const tr = established({ nagle: true });
  tr.conn.send(fill(10));
  tr.expectSend({ seq: A, flags: { ack: true, psh: true }, payload: fill(10) });
  tr.conn.send(fill(10, 10));
  tr.expectNoSend('held by Nagle');
  tr.conn.send(fill(10, 20));
  tr.expectNoSend('still held');
  tr.recv({ seq: P, ack: A + 10 });
  const both = new Uint8Array(20);
  both.set(fill(10, 10)); both.set(fill(10, 20), 10);
  tr.expectSend({ seq: A + 10, flags: { ack: true, psh: true }, payload: both });
});

test('Nagle on: full-sized segments are never held', () => {
  const tr = established({ nagle: true });
  tr.conn.send(fill(10));
  tr.expectSend({ payload: fill(10), flags: { ack: true, psh: true } });
  tr.conn.send(fill(1500));
  tr.expectSend({ seq: A + 10, payload: fill(1500).subarray(0, 1000) });
  tr.expectNoSend('the 500-byte tail waits');
});

test('Nagle off: small writes go out at once', () => {
  const tr = established({ nagle: false });
  tr.conn.send(fill(10));
  tr.expectSend({ seq: A, flags: { ack: true, psh: true }, payload: fill(10) });
  tr.conn.send(fill(10, 10));
  tr.expectSend({ seq: A + 10, flags: { ack: true, psh: true }, payload: fill(10, 10) });
});

test('send window: never more than the peer offered; sender SWS holds a small tail', () => {
  const tr = established();
  tr.recv({ seq: P, ack: A, window: 1500 });
  tr.conn.send(fill(3000));
  tr.expectSend({ seq: A, payload: fill(3000).subarray(0, 1000) });
  tr.expectNoSend('500 bytes of window < half the max window: wait (RFC 1122 §4.2.3.4)');
  tr.recv({ seq: P, ack: A + 1000, window: 1500 });
  tr.expectSend({ seq: A + 1000, payload: fill(3000).subarray(1000, 2000) });
  tr.expectNoSend();
  tr.recv({ seq: P, ack: A + 2000, window: 3000 });
  tr.expectSend({ seq: A + 2000, flags: { ack: true, psh: true }, payload: fill(3000).subarray(2000) });
});

test('send buffer is bounded; writable event when space returns', () => {
  const tr = established({ sndBufBytes: 2000 });
  assert.equal(tr.conn.send(fill(5000)), 2000);
  assert.equal(tr.conn.sendSpace(), 0);
  tr.drainSend();
  tr.recv({ seq: P, ack: A + 1000 });
  assert.deepEqual(tr.takeEvents(), [{ type: 'writable' }]);
  assert.equal(tr.conn.sendSpace(), 1000);
});

test('zero window: persist timer, probes at SND.UNA-1 with backoff, never a timeout while answered', () => {
  const tr = established({ maxRetransmits: 3 });
  tr.recv({ seq: P, ack: A, window: 0 });
  tr.conn.send(fill(100));
  tr.expectNoSend('window is zero');
  const gaps: number[] = [];
  for (let i = 0; i < 6; i++) {
    gaps.push(tr.advanceToDeadline());
    tr.expectSend({ seq: A - 1, ack: P }, `probe ${i}`);
    tr.recv({ seq: P, ack: A, window: 0 }); // the peer answers: still closed
  }
  assert.deepEqual(gaps, [200_000, 400_000, 800_000, 1_600_000, 3_200_000, 6_400_000]);
  assert.equal(tr.state, 'ESTABLISHED');
  tr.recv({ seq: P, ack: A, window: 4000 });
  tr.expectSend({ seq: A, flags: { ack: true, psh: true }, payload: fill(100) });
});

test('zero window: unanswered probes end the connection with timeout', () => {
  const tr = established({ maxRetransmits: 2 });
  tr.recv({ seq: P, ack: A, window: 0 });
  tr.conn.send(fill(100));
  tr.expectNoSend();
  for (let i = 0; i < 2; i++) {
    tr.advanceToDeadline();
    tr.expectSend({ seq: A - 1 });
  }
  tr.advanceToDeadline();
  assert.equal(tr.state, 'CLOSED');
  assert.equal(tr.conn.closeReason, 'timeout');
});

test('receive window: closes as unread data piles up, window update when reading reopens it', () => {
  const tr = established({ rcvBufBytes: 4000 });
  tr.recv({ seq: P, ack: A, payload: fill(1000) });
  tr.recv({ seq: P + 1000, ack: A, payload: fill(1000, 1000) });
  tr.expectSend({ ack: P + 2000, window: 2000 });
  tr.recv({ seq: P + 2000, ack: A, payload: fill(1000, 2000) });
  tr.recv({ seq: P + 3000, ack: A, payload: fill(1000, 3000) });
  tr.expectSend({ ack: P + 4000, window: 0 });
  // Data beyond a zero window is not accepted; the ACK repeats the zero window.
  tr.recv({ seq: P + 4000, ack: A, payload: fill(10) });
  tr.expectSend({ ack: P + 4000, window: 0 });
  // Reading 100 bytes does not reopen the window (receiver SWS avoidance, RFC 1122 §4.2.3.3).
  tr.conn.read(100);
  tr.expectNoSend();
  tr.conn.read(1900);
  tr.expectSend({ ack: P + 4000, window: 2000 }, 'window update');
});

test('sequence numbers wrap past 2^32 in both directions', () => {
  const iss = 0xffffff00 - 1000;
  const riss = 0xfffffff0;
  const tr = established({}, iss, riss);
  const data = fill(3000);
  tr.conn.send(data);
  const s = tr.drainSend();
  assert.deepEqual(s.map((x) => x.seq), [iss + 1, iss + 1001, (iss + 2001) >>> 0]);
  assert.ok(s[2]!.seq < s[1]!.seq && s[2]!.seq < 1000, 'wrapped');
  tr.recv({ seq: riss + 1, ack: (iss + 3001) >>> 0, payload: fill(100) });
  tr.recv({ seq: (riss + 101) >>> 0, ack: (iss + 3001) >>> 0, payload: fill(100, 100) });
  assert.equal(tr.conn.readableBytes(), 200);
  assert.equal(tr.conn.pollDeadline() !== undefined, true, 'delayed ACK pending');
  tr.advanceToDeadline();
  tr.expectSend({ seq: (iss + 3001) >>> 0, ack: (riss + 201) >>> 0 });
  assert.equal(tr.conn.info().sndUna, (iss + 3001) >>> 0);
});

test('window shrunk to zero under data in flight: retransmissions probe, no timeout while the peer answers', () => {
  const tr = established({ maxRetransmits: 2, maxRtoUs: 1_000_000 });
  tr.conn.send(fill(1000));
  tr.drainSend();
  tr.recv({ seq: P, ack: A, window: 0 });
  for (let i = 0; i < 6; i++) {
    tr.advanceToDeadline();
    tr.expectSend({ seq: A, flags: { ack: true, psh: true }, payload: fill(1000) }, `probe by retransmission ${i}`);
    tr.recv({ seq: P, ack: A, window: 0 });
  }
  assert.equal(tr.state, 'ESTABLISHED');
  tr.recv({ seq: P, ack: A + 1000, window: 5000 });
  assert.equal(tr.conn.pollDeadline(), undefined);
  // A peer that stops answering is given up on.
  tr.conn.send(fill(1000));
  tr.drainSend();
  tr.recv({ seq: P, ack: A + 1000, window: 0 });
  for (let i = 0; i < 20 && tr.conn.closeReason === undefined; i++) { tr.advanceToDeadline(); tr.drainSend(); }
  assert.equal(tr.conn.closeReason, 'timeout');
});

test('Nagle (Minshall): the small tail of a reply is not held behind full-sized segments', () => {
  const tr = established({ nagle: true });
  tr.conn.send(fill(2500));
  tr.expectSend({ seq: A, payload: fill(2500).subarray(0, 1000) });
  tr.expectSend({ seq: A + 1000, payload: fill(2500).subarray(1000, 2000) });
  tr.expectSend({ seq: A + 2000, flags: { ack: true, psh: true }, payload: fill(2500).subarray(2000) }, 'no small segment outstanding');
  tr.conn.send(fill(10));
  tr.expectNoSend('now a small segment is outstanding');
  tr.recv({ seq: P, ack: A + 2500 });
  tr.expectSend({ seq: A + 2500, flags: { ack: true, psh: true }, payload: fill(10) });
});
