// Packet traces for resets and RFC 5961 defences: exact RST, in-window RST → challenge
// ACK, out-of-window RST ignored, SYN in a synchronized state, unacceptable ACKs,
// challenge-ACK rate limit, RST in TIME-WAIT, abort, and stickiness after CLOSED.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { established, fill, LOCAL_ISS as L, REMOTE_ISS as R } from './testing/trace.js';

const A = L + 1;
const P = R + 1;

test('RST with SEQ = RCV.NXT closes the connection (reset)', () => {
  const tr = established();
  tr.recv({ seq: P, flags: { rst: true } });
  assert.equal(tr.state, 'CLOSED');
  assert.deepEqual(tr.takeEvents(), [{ type: 'closed', reason: 'reset' }]);
  tr.expectNoSend();
});

test('RFC 5961 §3: RST in the window but not exact → challenge ACK, connection stays', () => {
  const tr = established();
  tr.recv({ seq: P + 10, flags: { rst: true } });
  assert.equal(tr.state, 'ESTABLISHED');
  tr.expectSend({ seq: A, ack: P });
  assert.equal(tr.conn.stats().challengeAcks, 1);
});

test('RST outside the window is dropped silently', () => {
  const tr = established();
  tr.recv({ seq: P + 100_000, flags: { rst: true } });
  tr.recv({ seq: P - 1, flags: { rst: true } });
  assert.equal(tr.state, 'ESTABLISHED');
  tr.expectNoSend();
});

test('RFC 5961 §4: SYN in ESTABLISHED → challenge ACK, never a reset', () => {
  const tr = established();
  tr.recv({ seq: P + 5, flags: { syn: true } });
  assert.equal(tr.state, 'ESTABLISHED');
  tr.expectSend({ seq: A, ack: P });
  tr.recv({ seq: 12345, flags: { syn: true } }); // out of window: plain dup ACK (rate limited)
  assert.equal(tr.state, 'ESTABLISHED');
});

test('RFC 5961 §5: an ACK for data never sent → challenge ACK, segment (and its data) dropped', () => {
  const tr = established();
  tr.recv({ seq: P, ack: A + 500, payload: 'evil' });
  tr.expectSend({ seq: A, ack: P });
  assert.equal(tr.conn.readableBytes(), 0);
  assert.equal(tr.conn.info().sndUna, A);
});

test('RFC 5961 §5: an ACK older than SND.UNA - MAX.SND.WND is dropped', () => {
  const tr = established();
  tr.recv({ seq: P, ack: A - 70_000, payload: 'old' });
  assert.equal(tr.conn.readableBytes(), 0);
  tr.expectSend({ seq: A, ack: P });
  tr.recv({ seq: P, ack: A - 100, payload: 'ok' }); // old but within MAX.SND.WND: data accepted
  assert.equal(tr.conn.readableBytes(), 2);
});

test('RFC 5961 §7: challenge ACKs are rate limited per second', () => {
  const tr = established({ challengeAckPerSecond: 3 });
  for (let i = 0; i < 10; i++) {
    tr.recv({ seq: P + 1 + i, flags: { rst: true } });
    tr.drainSend();
  }
  assert.equal(tr.conn.stats().challengeAcks, 3);
  assert.equal(tr.conn.stats().challengeAcksSuppressed, 7);
  tr.advance(1_000_000);
  tr.recv({ seq: P + 1, flags: { rst: true } });
  tr.expectSend({ ack: P });
});

test('RST in TIME-WAIT ends it', () => {
  const tr = established();
  tr.conn.close();
  tr.drainSend();
  tr.recv({ seq: P, ack: A + 1, flags: { fin: true, ack: true } });
  tr.drainSend();
  tr.recv({ seq: P + 1, flags: { rst: true } });
  assert.equal(tr.state, 'CLOSED');
});

test('abort: RST <SEQ=SND.NXT>, closed aborted, queued data discarded; everything after is a no-op', () => {
  const tr = established();
  tr.conn.send(fill(3000));
  tr.drainSend();
  tr.conn.abort();
  assert.equal(tr.state, 'CLOSED');
  tr.expectSend({ seq: A + 3000, ack: P, flags: { rst: true, ack: true } });
  tr.expectNoSend();
  assert.deepEqual(tr.takeEvents(), [{ type: 'closed', reason: 'aborted' }]);
  // Sticky: the connection stays closed with the same reason.
  assert.equal(tr.conn.send(fill(1)), 0);
  assert.equal(tr.conn.sendSpace(), 0);
  tr.recv({ seq: P, ack: A, payload: 'late' });
  tr.advance(10_000_000);
  tr.expectNoSend();
  assert.equal(tr.conn.pollDeadline(), undefined);
  assert.equal(tr.conn.closeReason, 'aborted');
  tr.conn.close();
  tr.conn.abort();
  assert.equal(tr.conn.closeReason, 'aborted');
  assert.deepEqual(tr.takeEvents(), []);
});

test('reset delivers what was already received; nothing more', () => {
  const tr = established();
  tr.recv({ seq: P, ack: A, payload: 'abc' });
  tr.recv({ seq: P + 3, flags: { rst: true } });
  assert.equal(tr.conn.closeReason, 'reset');
  assert.equal(new TextDecoder().decode(tr.conn.read()), 'abc');
});
