// Packet traces for closing: active close, passive close, simultaneous close, FIN+ACK
// together, TIME-WAIT (2*MSL expiry, FIN retransmission restarts it), half-close with data
// flowing the other way, FIN retransmission on RTO, a FIN beyond a hole.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { established, fill, LOCAL_ISS as L, REMOTE_ISS as R, synReceived } from './testing/trace.js';

const A = L + 1;
const P = R + 1;

test('active close: FIN-WAIT-1 → FIN-WAIT-2 → TIME-WAIT → CLOSED after 2*MSL', () => {
  const tr = established({ timeWaitUs: 1_000_000 });
  tr.conn.close();
  assert.equal(tr.state, 'FIN-WAIT-1');
  tr.expectSend({ seq: A, ack: P, flags: { fin: true, ack: true } });
  tr.recv({ seq: P, ack: A + 1 });
  assert.equal(tr.state, 'FIN-WAIT-2');
  tr.expectNoSend();
  tr.recv({ seq: P, ack: A + 1, flags: { fin: true, ack: true } });
  assert.equal(tr.state, 'TIME-WAIT');
  assert.deepEqual(tr.takeEvents(), [{ type: 'peer-fin' }]);
  tr.expectSend({ seq: A + 1, ack: P + 1 });
  assert.equal(tr.advanceToDeadline(), 1_000_000);
  assert.equal(tr.state, 'CLOSED');
  assert.deepEqual(tr.takeEvents(), [{ type: 'closed', reason: 'closed' }]);
  tr.expectNoSend();
});

test('active close with queued data: the FIN rides on the last data segment', () => {
  const tr = established();
  tr.conn.send(fill(1500));
  tr.conn.close();
  assert.equal(tr.conn.send(fill(1)), 0, 'no writes after close');
  tr.expectSend({ seq: A, payload: fill(1500).subarray(0, 1000) });
  tr.expectSend({ seq: A + 1000, flags: { ack: true, psh: true, fin: true }, payload: fill(1500).subarray(1000) });
  tr.expectNoSend();
  tr.recv({ seq: P, ack: A + 1501 });
  assert.equal(tr.state, 'FIN-WAIT-2');
});

test('passive close: peer FIN → CLOSE-WAIT (ACK at once), our FIN → LAST-ACK → CLOSED', () => {
  const tr = established();
  tr.recv({ seq: P, ack: A, flags: { fin: true, ack: true } });
  assert.equal(tr.state, 'CLOSE-WAIT');
  assert.deepEqual(tr.takeEvents(), [{ type: 'peer-fin' }]);
  tr.expectSend({ seq: A, ack: P + 1 });
  tr.conn.close();
  assert.equal(tr.state, 'LAST-ACK');
  tr.expectSend({ seq: A, ack: P + 1, flags: { fin: true, ack: true } });
  tr.recv({ seq: P + 1, ack: A + 1 });
  assert.equal(tr.state, 'CLOSED');
  assert.deepEqual(tr.takeEvents(), [{ type: 'closed', reason: 'closed' }]);
});

test('simultaneous close: FINs cross → CLOSING → TIME-WAIT', () => {
  const tr = established();
  tr.conn.close();
  tr.expectSend({ seq: A, flags: { fin: true, ack: true } });
  tr.recv({ seq: P, ack: A, flags: { fin: true, ack: true } }); // the peer's FIN, not yet ACKing ours
  assert.equal(tr.state, 'CLOSING');
  tr.expectSend({ seq: A + 1, ack: P + 1 });
  tr.recv({ seq: P + 1, ack: A + 1 });
  assert.equal(tr.state, 'TIME-WAIT');
});

test('FIN-WAIT-1: FIN and ACK of our FIN in one segment → TIME-WAIT', () => {
  const tr = established();
  tr.conn.close();
  tr.drainSend();
  tr.recv({ seq: P, ack: A + 1, flags: { fin: true, ack: true } });
  assert.equal(tr.state, 'TIME-WAIT');
  tr.expectSend({ seq: A + 1, ack: P + 1 });
});

test('TIME-WAIT: a retransmitted FIN is ACKed again and restarts 2*MSL', () => {
  const tr = established({ timeWaitUs: 1_000_000 });
  tr.conn.close();
  tr.drainSend();
  tr.recv({ seq: P, ack: A + 1, flags: { fin: true, ack: true } });
  tr.drainSend();
  tr.advance(600_000);
  tr.recv({ seq: P, ack: A + 1, flags: { fin: true, ack: true } });
  tr.expectSend({ seq: A + 1, ack: P + 1 });
  assert.equal(tr.conn.pollDeadline(), tr.nowUs + 1_000_000);
  tr.advance(999_999);
  assert.equal(tr.state, 'TIME-WAIT');
  tr.advance(1);
  assert.equal(tr.state, 'CLOSED');
});

test('half-close: after our FIN the peer keeps sending; data delivered in FIN-WAIT-2', () => {
  const tr = established();
  tr.conn.close();
  tr.drainSend();
  tr.recv({ seq: P, ack: A + 1 });
  assert.equal(tr.state, 'FIN-WAIT-2');
  tr.recv({ seq: P, ack: A + 1, payload: fill(1000) });
  tr.recv({ seq: P + 1000, ack: A + 1, payload: fill(1000, 1000) });
  tr.expectSend({ seq: A + 1, ack: P + 2000 });
  tr.recv({ seq: P + 2000, ack: A + 1, flags: { fin: true, ack: true } });
  assert.equal(tr.state, 'TIME-WAIT');
  assert.equal(tr.conn.readableBytes(), 2000);
});

test('half-close: after the peer FIN we keep sending in CLOSE-WAIT', () => {
  const tr = established();
  tr.recv({ seq: P, ack: A, flags: { fin: true, ack: true } });
  tr.drainSend();
  assert.equal(tr.conn.send(fill(1500)), 1500);
  tr.expectSend({ seq: A, ack: P + 1, payload: fill(1500).subarray(0, 1000) });
  tr.expectSend({ seq: A + 1000, flags: { ack: true, psh: true }, payload: fill(1500).subarray(1000) });
  tr.recv({ seq: P + 1, ack: A + 1500 });
  tr.conn.close();
  tr.expectSend({ seq: A + 1500, flags: { ack: true, fin: true } });
});

test('FIN is retransmitted on RTO', () => {
  const tr = established();
  tr.conn.close();
  tr.expectSend({ seq: A, flags: { ack: true, fin: true } });
  tr.advanceToDeadline();
  tr.expectSend({ seq: A, flags: { ack: true, fin: true } });
  assert.equal(tr.state, 'FIN-WAIT-1');
});

test('a FIN beyond a hole waits until the hole is filled', () => {
  const tr = established();
  tr.recv({ seq: P + 100, ack: A, flags: { ack: true, fin: true }, payload: fill(100, 100) });
  assert.equal(tr.state, 'ESTABLISHED');
  tr.expectSend({ ack: P });
  tr.recv({ seq: P, ack: A, payload: fill(100) });
  assert.equal(tr.state, 'CLOSE-WAIT');
  tr.expectSend({ ack: P + 201 });
  assert.deepEqual(tr.conn.read(), new Uint8Array([...fill(100), ...fill(100, 100)]));
});

test('close() during SYN-RECEIVED: FIN goes out once the handshake completes', () => {
  const tr = synReceived();
  tr.conn.close();
  tr.expectNoSend();
  tr.recv({ seq: P, ack: A });
  assert.equal(tr.state, 'FIN-WAIT-1');
  tr.expectSend({ seq: A, flags: { ack: true, fin: true } });
});
