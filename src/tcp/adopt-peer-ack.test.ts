// adoptPeerAck: after an ST-TCP takeover whose tap missed the client's ACKs, the client
// acknowledges output this connection never sent (the crashed primary did). The connection
// counts it as sent and acknowledged, so its own segments carry sequence numbers the client
// accepts again; the caller's application skips the bytes the client already holds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { established, fill, LOCAL_ISS, REMOTE_ISS } from './testing/trace.js';

const base = REMOTE_ISS + 1;

test('adoptPeerAck: an ACK beyond everything buffered moves SND.UNA/NXT/MAX there and reports the bytes the peer holds beyond the buffer', () => {
  const tr = established({ delayedAckUs: 0, nagle: false });
  tr.conn.send(fill(100));
  tr.expectSend({ seq: LOCAL_ISS + 1, ack: base, flags: { ack: true, psh: true }, payload: fill(100) });
  // The client holds 300 bytes of output: 100 we sent and 200 more the old primary sent.
  assert.equal(tr.conn.adoptPeerAck(LOCAL_ISS + 1 + 300), 200);
  const info = tr.conn.info();
  assert.equal(info.sndUna, LOCAL_ISS + 301);
  assert.equal(info.sndNxt, LOCAL_ISS + 301);
  assert.equal(info.sndMax, LOCAL_ISS + 301);
  // Our next segment (an ACK at once) sits at the client's RCV.NXT, where it accepts it.
  tr.expectSend({ seq: LOCAL_ISS + 301, ack: base, flags: { ack: true } });
  // Output the application writes from here continues after what the client holds.
  tr.conn.send(fill(10, 7));
  tr.expectSend({ seq: LOCAL_ISS + 301, ack: base, flags: { ack: true, psh: true }, payload: fill(10, 7) });
});

test('adoptPeerAck: an ACK inside buffered but unsent data drops it up to there and reports nothing beyond', () => {
  const tr = established({ delayedAckUs: 0, nagle: false });
  tr.conn.send(fill(100));
  tr.expectSend({ seq: LOCAL_ISS + 1, ack: base, flags: { ack: true, psh: true }, payload: fill(100) });
  // 1000 bytes queued and held back by a zero window: nothing of them is sent.
  tr.recv({ seq: base, ack: LOCAL_ISS + 1, window: 0 });
  tr.conn.send(fill(1000, 100));
  tr.expectNoSend('zero window');
  assert.equal(tr.conn.adoptPeerAck(LOCAL_ISS + 1 + 400), 0);
  assert.equal(tr.conn.info().sndMax, LOCAL_ISS + 401);
  tr.recv({ seq: base, ack: LOCAL_ISS + 401, window: 65535 });
  // The first byte sent is the one after what the client holds.
  tr.expectSend({ seq: LOCAL_ISS + 401, ack: base, flags: { ack: true, psh: true }, payload: fill(1000, 100).subarray(300) });
});

test('adoptPeerAck: refused (nothing changed) for an ACK not beyond SND.MAX, or once our FIN is queued', () => {
  const tr = established({ delayedAckUs: 0, nagle: false });
  tr.conn.send(fill(100));
  tr.expectSend({ seq: LOCAL_ISS + 1, ack: base, flags: { ack: true, psh: true }, payload: fill(100) });
  assert.equal(tr.conn.adoptPeerAck(LOCAL_ISS + 101), undefined);
  assert.equal(tr.conn.adoptPeerAck(LOCAL_ISS + 50), undefined);
  tr.conn.close();
  tr.expectSend({ seq: LOCAL_ISS + 101, ack: base, flags: { ack: true, fin: true } });
  assert.equal(tr.conn.adoptPeerAck(LOCAL_ISS + 500), undefined);
  assert.equal(tr.conn.info().sndMax, LOCAL_ISS + 102);
});
