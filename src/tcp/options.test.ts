// Packet traces for RFC 7323 timestamps (TSval clock, TSecr echo rules, PAWS with the
// 24-day rule) and keepalive (RFC 1122 §4.2.3.6).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { established, fill, synReceived, LOCAL_ISS as L, REMOTE_ISS as R } from './testing/trace.js';

const A = L + 1;
const P = R + 1;
const ts = (value: number, echo: number) => ({ timestamp: { value, echo } });

/** Timestamps agreed; the peer's SYN-ACK carried TSval 100. Our TSval = ms clock + ISS. */
function withTimestamps() {
  return established({ timestamps: true }, L, R, { mss: 1000, ...ts(100, L) });
}

test('timestamps: every segment carries TSval (ms clock + offset) and echoes TS.Recent', () => {
  const tr = withTimestamps();
  tr.advance(7_500);
  tr.conn.send(fill(10));
  tr.expectSend({ seq: A, flags: { ack: true, psh: true }, payload: fill(10), options: ts(L + 7, 100) });
});

test('timestamps: TS.Recent follows in-order segments, not out-of-order ones (RFC 7323 §4.3)', () => {
  const tr = withTimestamps();
  tr.recv({ seq: P + 1000, ack: A, payload: fill(100), options: ts(300, L) });
  tr.expectSend({ ack: P, options: ts(L, 100) }, 'out-of-order: TS.Recent unchanged');
  tr.recv({ seq: P, ack: A, payload: fill(1000), options: ts(250, L) });
  tr.expectSend({ ack: P + 1100, options: ts(L, 250) });
});

test('PAWS: a segment with an older TSval is dropped and ACKed (RFC 7323 §5.3)', () => {
  const tr = withTimestamps();
  tr.recv({ seq: P, ack: A, payload: 'new', options: ts(200, L) });
  tr.drainSend();
  tr.advance(40_000);
  tr.drainSend();
  tr.recv({ seq: P + 3, ack: A, payload: 'old', options: ts(150, L) });
  assert.equal(tr.conn.readableBytes(), 3, 'the old segment is not delivered');
  assert.equal(tr.conn.stats().pawsDrops, 1);
  tr.expectSend({ ack: P + 3, options: ts(L + 40, 200) });
  // A RST is not subject to PAWS (RFC 7323 §5.2).
  tr.recv({ seq: P + 3, flags: { rst: true }, options: ts(1, 0) });
  assert.equal(tr.state, 'CLOSED');
});

test('PAWS: TS.Recent older than 24 days is invalid; an old TSval is accepted again (RFC 7323 §5.5)', () => {
  const tr = withTimestamps();
  tr.recv({ seq: P, ack: A, payload: 'new', options: ts(0x7000_0000, L) });
  tr.advance(40_000);
  tr.drainSend();
  tr.advance(25 * 86_400 * 1_000_000);
  tr.recv({ seq: P + 3, ack: A, payload: 'wrapped', options: ts(5, L) });
  assert.equal(tr.conn.readableBytes(), 10);
  assert.equal(tr.conn.stats().pawsDrops, 0);
});

test('RTT from TSecr: the echo of an ACK for new data gives the sample', () => {
  const tr = withTimestamps();
  tr.conn.send(fill(10));
  tr.drainSend();
  tr.advance(30_000);
  tr.recv({ seq: P, ack: A + 10, options: ts(120, L) });
  // The timed segment (µs clock) and TSecr agree here: 30 ms.
  const srtt = tr.conn.info().srttUs!;
  assert.ok(srtt > 0 && srtt <= 30_000, `srtt ${srtt}`);
});

test('keepalive: probes at SND.UNA-1 after the idle time; answered probes keep it open', () => {
  const tr = established({ keepaliveIdleUs: 10_000_000, keepaliveIntervalUs: 1_000_000, keepaliveProbes: 3 });
  assert.equal(tr.advanceToDeadline(), 10_000_000);
  tr.expectSend({ seq: A - 1, ack: P });
  tr.recv({ seq: P, ack: A });
  assert.equal(tr.advanceToDeadline(), 10_000_000, 'the answer restarts the idle period');
  tr.expectSend({ seq: A - 1, ack: P });
  assert.equal(tr.state, 'ESTABLISHED');
});

test('keepalive: unanswered probes close the connection with timeout', () => {
  const tr = established({ keepaliveIdleUs: 10_000_000, keepaliveIntervalUs: 1_000_000, keepaliveProbes: 3 });
  const gaps: number[] = [];
  for (let i = 0; i < 3; i++) {
    gaps.push(tr.advanceToDeadline());
    tr.expectSend({ seq: A - 1 });
  }
  gaps.push(tr.advanceToDeadline());
  assert.deepEqual(gaps, [10_000_000, 1_000_000, 1_000_000, 1_000_000]);
  assert.equal(tr.state, 'CLOSED');
  assert.equal(tr.conn.closeReason, 'timeout');
});

test('keepalive: a passive open whose peer vanishes after the handshake ACK is probed and timed out', () => {
  const tr = synReceived({ keepaliveIdleUs: 10_000_000, keepaliveIntervalUs: 1_000_000, keepaliveProbes: 2 });
  tr.recv({ seq: R + 1, ack: L + 1 });
  assert.equal(tr.state, 'ESTABLISHED');
  tr.takeEvents();
  assert.equal(tr.advanceToDeadline(), 10_000_000, 'the idle period runs from the handshake ACK');
  tr.expectSend({ seq: L, ack: R + 1 });
  tr.advanceToDeadline();
  tr.expectSend({ seq: L, ack: R + 1 });
  tr.advanceToDeadline();
  assert.equal(tr.conn.closeReason, 'timeout');
});

test('keepalive: a half-closed side in FIN-WAIT-2 notices a dead peer', () => {
  const tr = established({ keepaliveIdleUs: 10_000_000, keepaliveIntervalUs: 1_000_000, keepaliveProbes: 2 });
  tr.conn.close();
  tr.expectSend({ seq: A, ack: P, flags: { ack: true, fin: true } });
  tr.recv({ seq: P, ack: A + 1 });
  assert.equal(tr.state, 'FIN-WAIT-2');
  for (let i = 0; i < 2; i++) { tr.advanceToDeadline(); tr.expectSend({ seq: A, ack: P }); }
  tr.advanceToDeadline();
  assert.equal(tr.conn.closeReason, 'timeout');
});

test('keepalive off by default: an idle connection has no deadline', () => {
  const tr = established();
  assert.equal(tr.conn.pollDeadline(), undefined);
});
