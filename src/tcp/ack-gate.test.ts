// Packet traces for the ACK gate (setAckLimit) that ST-TCP's sync mode stands on: the
// peer is never told a byte is safe before the limit covers it, the right edge of the
// window does not move, no duplicate ACKs leak while the gate holds, and raising the
// limit acknowledges at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { established, fill, LOCAL_ISS, REMOTE_ISS } from './testing/trace.js';

const base = REMOTE_ISS + 1;

test('ACK gate: data past the limit is received but not acknowledged until the limit rises', () => {
  const tr = established({ delayedAckUs: 0 });
  tr.conn.setAckLimit(base);
  tr.recv({ seq: base, ack: LOCAL_ISS + 1, payload: fill(100) });
  assert.equal(tr.conn.readableBytes(), 100, 'bytes reach the application');
  tr.expectNoSend('no ACK for gated bytes: a repeat of the last ACK would be a duplicate ACK');
  tr.conn.setAckLimit(base + 60);
  const a = tr.expectSend({ seq: LOCAL_ISS + 1, ack: base + 60, flags: { ack: true } });
  tr.conn.setAckLimit(base + 100);
  const b = tr.expectSend({ seq: LOCAL_ISS + 1, ack: base + 100, flags: { ack: true } });
  // The advertised right edge (ack + window) is the same with the gate as without.
  assert.equal(a.ack + a.window, b.ack + b.window);
  tr.conn.setAckLimit(undefined);
  tr.expectNoSend('lifting a limit that holds nothing back sends nothing');
});

test('ACK gate: data we send carries the gated ACK, never more', () => {
  const tr = established({ delayedAckUs: 0, nagle: false });
  tr.conn.setAckLimit(base + 10);
  tr.recv({ seq: base, ack: LOCAL_ISS + 1, payload: fill(50) });
  tr.expectSend({ seq: LOCAL_ISS + 1, ack: base + 10, flags: { ack: true } });
  tr.conn.send(fill(20));
  tr.expectSend({ seq: LOCAL_ISS + 1, ack: base + 10, flags: { ack: true, psh: true }, payload: fill(20) });
});

test('ACK gate: survives snapshot/restore', () => {
  const tr = established({ delayedAckUs: 0 });
  tr.conn.setAckLimit(base);
  const snap = tr.conn.snapshot();
  assert.equal(snap.vars.ackLimit, base);
});

test('ACK gate: with the peer\'s FIN gated, our FIN waits until it can acknowledge it, then the close completes as in any TCP', () => {
  const tr = established({ delayedAckUs: 0, nagle: false });
  tr.conn.setAckLimit(base);
  // The peer sends 10 bytes and its FIN; the gate holds both back.
  tr.recv({ seq: base, ack: LOCAL_ISS + 1, flags: { ack: true, fin: true }, payload: fill(10) });
  assert.equal(tr.state, 'CLOSE-WAIT');
  tr.conn.close();
  // Sent now, our FIN would carry an ACK short of the peer's FIN, and the peer's ACK of it
  // would close us before we ever acknowledged the peer's FIN: if our last ACK were then
  // lost, its FIN retransmission would meet a closed port and be reset.
  tr.expectNoSend('our FIN waits for the gate');
  assert.equal(tr.state, 'LAST-ACK');
  tr.conn.setAckLimit(base + 11);
  tr.expectSend({ seq: LOCAL_ISS + 1, ack: base + 11, flags: { ack: true, fin: true } });
  tr.recv({ seq: base + 11, ack: LOCAL_ISS + 2 });
  assert.equal(tr.state, 'CLOSED');
});

test('ACK gate: data queued before the close still goes out while the peer\'s FIN is gated; only the FIN waits', () => {
  const tr = established({ delayedAckUs: 0, nagle: false });
  tr.conn.setAckLimit(base);
  tr.recv({ seq: base, ack: LOCAL_ISS + 1, flags: { ack: true, fin: true }, payload: fill(10) });
  tr.conn.send(fill(30));
  tr.conn.close();
  tr.expectSend({ seq: LOCAL_ISS + 1, ack: base, flags: { ack: true, psh: true }, payload: fill(30) });
  tr.expectNoSend('the FIN waits');
  tr.conn.setAckLimit(base + 11);
  tr.expectSend({ seq: LOCAL_ISS + 31, ack: base + 11, flags: { ack: true, fin: true } });
});
