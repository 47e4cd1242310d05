// Packet traces for loss: RTO retransmission with exponential backoff and give-up
// (RFC 6298), go-back-N in slow start after an RTO, fast retransmit on three duplicate
// ACKs with NewReno partial ACKs (RFC 5681, RFC 6582), and SACK generation (RFC 2018)
// and SACK-based recovery (RFC 6675).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { established, fill, LOCAL_ISS as L, REMOTE_ISS as R } from './testing/trace.js';

const A = L + 1;
const P = R + 1;
const SACK_PEER = { mss: 1000, sackPermitted: true };

test('RTO: retransmit the oldest segment with backoff 200, 400, 800 ms, then timeout', () => {
  const tr = established({ maxRetransmits: 3 });
  const data = fill(1000);
  tr.conn.send(data);
  tr.expectSend({ seq: A, flags: { ack: true, psh: true }, payload: data });
  const gaps: number[] = [];
  for (let i = 0; i < 3; i++) {
    gaps.push(tr.advanceToDeadline());
    tr.expectSend({ seq: A, flags: { ack: true, psh: true }, payload: data }, `retransmission ${i}`);
    tr.expectNoSend();
  }
  assert.deepEqual(gaps, [200_000, 400_000, 800_000]);
  assert.equal(tr.conn.stats().retransmits, 3);
  tr.advanceToDeadline();
  assert.equal(tr.state, 'CLOSED');
  assert.deepEqual(tr.takeEvents(), [{ type: 'closed', reason: 'timeout' }]);
});

test('RTO: an ACK resets the backoff and the retry count', () => {
  const tr = established({ maxRetransmits: 2 });
  tr.conn.send(fill(2000));
  tr.drainSend();
  tr.advanceToDeadline();
  tr.expectSend({ seq: A, payload: fill(2000).subarray(0, 1000) });
  tr.recv({ seq: P, ack: A + 1000 });
  tr.expectSend({ seq: A + 1000, flags: { ack: true, psh: true }, payload: fill(2000).subarray(1000) }, 'go-back-N continues');
  const gap = tr.advanceToDeadline();
  assert.ok(gap <= 400_000, `backoff reset (gap ${gap})`);
  tr.expectSend({ seq: A + 1000, flags: { ack: true, psh: true }, payload: fill(2000).subarray(1000) });
  tr.advanceToDeadline();
  tr.expectSend({ seq: A + 1000, flags: { ack: true, psh: true }, payload: fill(2000).subarray(1000) });
  assert.equal(tr.state, 'ESTABLISHED');
});

test('RTO: cwnd falls to one segment; go-back-N resends in slow start', () => {
  const tr = established();
  const data = fill(5000);
  tr.conn.send(data);
  assert.equal(tr.drainSend().length, 5);
  tr.advanceToDeadline();
  tr.expectSend({ seq: A, payload: data.subarray(0, 1000) });
  tr.expectNoSend('cwnd = 1 SMSS after an RTO');
  assert.equal(tr.conn.info().cwnd, 1000);
  tr.recv({ seq: P, ack: A + 1000 });
  tr.expectSend({ seq: A + 1000, payload: data.subarray(1000, 2000) });
  tr.expectSend({ seq: A + 2000, payload: data.subarray(2000, 3000) });
  tr.expectNoSend();
  // The peer had the rest all along: one ACK covers it.
  tr.recv({ seq: P, ack: A + 5000 });
  tr.expectNoSend();
  assert.equal(tr.conn.pollDeadline(), undefined);
});

test('fast retransmit on the third duplicate ACK, NewReno partial ACK, full ACK ends recovery', () => {
  const tr = established({ sack: false });
  const data = fill(6000);
  tr.conn.send(data);
  assert.equal(tr.drainSend().length, 6);
  // Segments 1 and 4 are lost; 2, 3, 5, 6 arrive and each produces a duplicate ACK.
  tr.recv({ seq: P, ack: A });
  tr.recv({ seq: P, ack: A });
  tr.expectNoSend('two duplicate ACKs are not enough');
  tr.recv({ seq: P, ack: A });
  tr.expectSend({ seq: A, payload: data.subarray(0, 1000) }, 'fast retransmit');
  const info = tr.conn.info();
  assert.ok(info.inRecovery);
  assert.equal(info.ssthresh, 3000, 'ssthresh = FlightSize / 2');
  tr.recv({ seq: P, ack: A });
  tr.expectNoSend();
  // Partial ACK: the next hole is retransmitted at once (RFC 6582 §3.2 step 5).
  tr.recv({ seq: P, ack: A + 3000 });
  tr.expectSend({ seq: A + 3000, payload: data.subarray(3000, 4000) }, 'partial ACK retransmission');
  assert.ok(tr.conn.info().inRecovery);
  tr.recv({ seq: P, ack: A + 6000 });
  assert.ok(!tr.conn.info().inRecovery, 'full ACK ends recovery');
  assert.equal(tr.conn.stats().fastRetransmits, 1);
  assert.equal(tr.conn.stats().retransmits, 2);
});

test('duplicate ACKs that change the window are not duplicates (RFC 5681 §2)', () => {
  const tr = established({ sack: false });
  tr.conn.send(fill(4000));
  tr.drainSend();
  tr.recv({ seq: P, ack: A, window: 60000 });
  tr.recv({ seq: P, ack: A, window: 50000 });
  tr.recv({ seq: P, ack: A, window: 40000 });
  tr.expectNoSend();
  assert.ok(!tr.conn.info().inRecovery);
});

test('SACK generation: out-of-order data is reported, newest block first (RFC 2018 §4)', () => {
  const tr = established({ sack: true }, L, R, SACK_PEER);
  tr.recv({ seq: P + 1000, ack: A, payload: fill(1000) });
  tr.expectSend({ ack: P, options: { sack: [{ left: P + 1000, right: P + 2000 }] } });
  tr.recv({ seq: P + 3000, ack: A, payload: fill(1000) });
  tr.expectSend({ ack: P, options: { sack: [{ left: P + 3000, right: P + 4000 }, { left: P + 1000, right: P + 2000 }] } });
  tr.recv({ seq: P, ack: A, payload: fill(1000) });
  tr.expectSend({ ack: P + 2000, options: { sack: [{ left: P + 3000, right: P + 4000 }] } });
  tr.recv({ seq: P + 2000, ack: A, payload: fill(1000) });
  tr.expectSend({ ack: P + 4000, options: {} });
});

test('SACK recovery: holes retransmitted per NextSeg, pipe-limited, no SACKed data resent (RFC 6675)', () => {
  const tr = established({ sack: true }, L, R, SACK_PEER);
  const data = fill(6000);
  tr.conn.send(data);
  assert.equal(tr.drainSend().length, 6);
  // Segments 2 and 4 lost.
  const sackAck = (blocks: Array<[number, number]>) => tr.recv({
    seq: P, ack: A + 1000, options: { sack: blocks.map(([l, r]) => ({ left: A + l, right: A + r })) },
  });
  tr.recv({ seq: P, ack: A + 1000 }); // segment 1 arrives
  sackAck([[2000, 3000]]);
  sackAck([[4000, 5000], [2000, 3000]]);
  tr.expectNoSend();
  sackAck([[4000, 6000], [2000, 3000]]);
  tr.expectSend({ seq: A + 1000, payload: data.subarray(1000, 2000) }, 'first hole (IsLost)');
  // ssthresh = cwnd = FlightSize/2 = 2500; pipe = 1000 retransmitted + 1000 not yet lost.
  assert.equal(tr.conn.info().cwnd, 2500);
  tr.expectNoSend('cwnd - pipe < 1 SMSS');
  assert.equal(tr.conn.stats().sackRecoveries, 1);
  tr.recv({ seq: P, ack: A + 3000, options: { sack: [{ left: A + 4000, right: A + 6000 }] } });
  tr.expectSend({ seq: A + 3000, payload: data.subarray(3000, 4000) }, 'second hole (NextSeg rule 3)');
  tr.expectNoSend('nothing left to retransmit');
  tr.recv({ seq: P, ack: A + 6000 });
  assert.ok(!tr.conn.info().inRecovery);
  assert.equal(tr.conn.stats().retransmits, 2);
});

test('SACK: a cumulative ACK that SACKs DupThresh segments above the new SND.UNA starts recovery at once, no duplicate needed (RFC 8985)', () => {
  const tr = established({ sack: true }, L, R, SACK_PEER);
  const data = fill(6000);
  tr.conn.send(data);
  assert.equal(tr.drainSend().length, 6);
  // Segment 2 lost; one ACK covers segment 1 and SACKs 3–6 (an ST-TCP takeover's first ACK).
  tr.recv({ seq: P, ack: A + 1000, options: { sack: [{ left: A + 2000, right: A + 6000 }] } });
  tr.expectSend({ seq: A + 1000, payload: data.subarray(1000, 2000) }, 'the hole, before any timeout');
  assert.equal(tr.conn.stats().sackRecoveries, 1);
  tr.recv({ seq: P, ack: A + 6000 });
  assert.ok(!tr.conn.info().inRecovery);
  // Fewer than DupThresh segments above the hole: no loss proven yet, nothing resent.
  const tr2 = established({ sack: true }, L, R, SACK_PEER);
  tr2.conn.send(fill(4000));
  tr2.drainSend();
  tr2.recv({ seq: P, ack: A + 1000, options: { sack: [{ left: A + 2000, right: A + 4000 }] } });
  tr2.expectNoSend('two segments above the hole are not yet a loss');
});

test('SACK: after an RTO, go-back-N skips what the peer SACKed (RFC 6675 §5.1)', () => {
  const tr = established({ sack: true }, L, R, SACK_PEER);
  const data = fill(4000);
  tr.conn.send(data);
  tr.drainSend();
  tr.recv({ seq: P, ack: A, options: { sack: [{ left: A + 1000, right: A + 2000 }] } });
  tr.advanceToDeadline();
  tr.expectSend({ seq: A, payload: data.subarray(0, 1000) });
  tr.recv({ seq: P, ack: A + 2000 });
  tr.expectSend({ seq: A + 2000, payload: data.subarray(2000, 3000) });
});

test('RFC 3042 limited transmit: the first two duplicate ACKs each release one new segment', () => {
  const tr = established({ sack: false, initialWindowSegments: 4 });
  const data = fill(8000);
  tr.conn.send(data);
  assert.equal(tr.drainSend().length, 4, 'initial window of 4 segments');
  tr.recv({ seq: P, ack: A });
  tr.expectSend({ seq: A + 4000, payload: data.subarray(4000, 5000) }, 'after the first dup ACK');
  tr.expectNoSend();
  tr.recv({ seq: P, ack: A });
  tr.expectSend({ seq: A + 5000, payload: data.subarray(5000, 6000) }, 'after the second dup ACK');
  tr.expectNoSend();
  tr.recv({ seq: P, ack: A });
  tr.expectSend({ seq: A, payload: data.subarray(0, 1000) }, 'third: fast retransmit');
});

test('SACK reneging: a cumulative ACK stopping at SACKed data clears the scoreboard (RFC 2018 §8)', () => {
  const tr = established({ sack: true }, L, R, SACK_PEER);
  const data = fill(3000);
  tr.conn.send(data);
  tr.drainSend();
  tr.recv({ seq: P, ack: A, options: { sack: [{ left: A + 1000, right: A + 3000 }] } });
  tr.advanceToDeadline();
  tr.expectSend({ seq: A, payload: data.subarray(0, 1000) }, 'first RTO: the hole only');
  tr.recv({ seq: P, ack: A + 1000 }); // it held A+1000.. yet ACKs only up to it: reneged
  assert.equal(tr.conn.stats().sackReneging, 1);
  tr.expectSend({ seq: A + 1000, payload: data.subarray(1000, 2000) }, 'go-back-N resends what was SACKed');
});

// Eifel detection (RFC 3522) and response (RFC 4015): with timestamps, the first ACK after
// a timeout tells whether the original or the retransmission reached the peer.
function eifelSetup(): { tr: ReturnType<typeof established>; sent: Array<{ seq: number; len: number; ts: number }>; rtx: { seq: number; ts: number }; cwndBefore: number } {
  const tr = established({ timestamps: true }, L, R, { mss: 1000, timestamp: { value: 100, echo: L } });
  tr.advance(10_000);
  tr.conn.send(fill(4000));
  const sent = tr.drainSend().map((s) => ({ seq: s.seq, len: s.payload.length, ts: s.options.timestamp!.value }));
  assert.ok(sent.length >= 4, `${sent.length} segments in flight`);
  const cwndBefore = tr.conn.info().cwnd;
  tr.advanceToDeadline();
  const r = tr.poll();
  assert.ok(r !== undefined && r.seq === A, 'the head is retransmitted at the timeout');
  tr.expectNoSend('cwnd = 1 SMSS after the timeout');
  assert.ok(r.options.timestamp!.value > sent[0]!.ts, 'the retransmission carries a later TSval');
  return { tr, sent, rtx: { seq: r.seq, ts: r.options.timestamp!.value }, cwndBefore };
}

test('Eifel: an ACK echoing the original TSval undoes the timeout — no go-back-N, congestion state restored', () => {
  const { tr, sent, cwndBefore } = eifelSetup();
  // The peer had the first segment all along; its ACK was only late (a stalled path).
  tr.recv({ seq: P, ack: A + sent[0]!.len, options: { timestamp: { value: 200, echo: sent[0]!.ts } } });
  tr.expectNoSend('segments 2.. were sent before the timeout and are not sent again');
  assert.equal(tr.conn.stats().spuriousRtos, 1);
  assert.equal(tr.conn.stats().retransmits, 1);
  assert.ok(tr.conn.info().cwnd >= cwndBefore, `cwnd ${tr.conn.info().cwnd} restored (was ${cwndBefore})`);
  const last = sent[sent.length - 1]!;
  tr.recv({ seq: P, ack: last.seq + last.len, options: { timestamp: { value: 201, echo: last.ts } } });
  assert.equal(tr.conn.pollDeadline(), undefined, 'all acknowledged');
  assert.equal(tr.conn.stats().retransmits, 1);
});

test('Eifel: an ACK echoing the retransmission TSval is a real loss — go-back-N in slow start goes on', () => {
  const { tr, sent, rtx } = eifelSetup();
  tr.recv({ seq: P, ack: A + sent[0]!.len, options: { timestamp: { value: 200, echo: rtx.ts } } });
  assert.equal(tr.conn.stats().spuriousRtos, 0);
  const next = tr.poll();
  assert.ok(next !== undefined && next.seq === sent[1]!.seq, 'the second segment is sent again');
  assert.ok(tr.conn.info().cwnd <= 2 * 1000, `cwnd ${tr.conn.info().cwnd} stays in slow start`);
});
