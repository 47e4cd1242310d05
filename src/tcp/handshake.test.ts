// Packet traces for opening a connection: active, passive, simultaneous open, SYN
// retransmission and give-up, and what each SYN option does to the negotiation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TcpConnection } from './connection.js';
import {
  established, fromPeer, LOCAL_ISS, REMOTE_ISS, synReceived, synSent, synSentUnpolled, traceConfig, Trace, TUPLE,
} from './testing/trace.js';

test('active open: SYN → SYN-ACK → ACK, established event', () => {
  const tr = synSentUnpolled();
  tr.expectSend({ seq: LOCAL_ISS, flags: { syn: true }, options: { mss: 1000 }, window: 0xffff });
  assert.equal(tr.state, 'SYN-SENT');
  tr.expectNoSend();
  tr.recv({ seq: REMOTE_ISS, ack: LOCAL_ISS + 1, flags: { syn: true, ack: true }, options: { mss: 1000 } });
  assert.equal(tr.state, 'ESTABLISHED');
  assert.deepEqual(tr.takeEvents(), [{ type: 'established' }]);
  tr.expectSend({ seq: LOCAL_ISS + 1, ack: REMOTE_ISS + 1, flags: { ack: true } });
  tr.expectNoSend();
});

test('passive open: SYN-ACK, then the ACK establishes', () => {
  const tr = synReceived();
  assert.equal(tr.state, 'SYN-RECEIVED');
  tr.recv({ seq: REMOTE_ISS + 1, ack: LOCAL_ISS + 1 });
  assert.equal(tr.state, 'ESTABLISHED');
  assert.deepEqual(tr.takeEvents(), [{ type: 'established' }]);
  tr.expectNoSend();
});

test('passive open: data on the handshake-completing ACK is delivered', () => {
  const tr = synReceived();
  tr.recv({ seq: REMOTE_ISS + 1, ack: LOCAL_ISS + 1, flags: { ack: true, psh: true }, payload: 'hello' });
  assert.equal(tr.state, 'ESTABLISHED');
  assert.equal(new TextDecoder().decode(tr.conn.read()), 'hello');
});

test('passive open: a retransmitted SYN gets the SYN-ACK again', () => {
  const tr = synReceived();
  tr.recv({ seq: REMOTE_ISS, flags: { syn: true }, options: { mss: 1000 } });
  tr.expectSend({ seq: LOCAL_ISS, ack: REMOTE_ISS + 1, flags: { syn: true, ack: true } });
  assert.equal(tr.conn.stats().retransmits, 1);
});

test('passive open: an ACK for something else in SYN-RECEIVED is answered with RST <SEQ=SEG.ACK>', () => {
  const tr = synReceived();
  tr.recv({ seq: REMOTE_ISS + 1, ack: LOCAL_ISS + 999 });
  tr.expectSend({ seq: LOCAL_ISS + 999, flags: { rst: true } });
  assert.equal(tr.state, 'SYN-RECEIVED');
});

test('simultaneous open: SYN crosses SYN, both SYN-ACKs, ESTABLISHED (RFC 9293 figure 7)', () => {
  const tr = synSent();
  tr.recv({ seq: REMOTE_ISS, flags: { syn: true }, options: { mss: 1000 } });
  assert.equal(tr.state, 'SYN-RECEIVED');
  tr.expectSend({ seq: LOCAL_ISS, ack: REMOTE_ISS + 1, flags: { syn: true, ack: true }, options: { mss: 1000 } });
  // The peer's SYN-ACK (same SYN, now acknowledging ours).
  tr.recv({ seq: REMOTE_ISS, ack: LOCAL_ISS + 1, flags: { syn: true, ack: true }, options: { mss: 1000 } });
  assert.equal(tr.state, 'ESTABLISHED');
  assert.deepEqual(tr.takeEvents(), [{ type: 'established' }]);
  tr.expectNoSend();
});

test('simultaneous open completed by a plain ACK', () => {
  const tr = synSent();
  tr.recv({ seq: REMOTE_ISS, flags: { syn: true }, options: { mss: 1000 } });
  tr.expectSend({ flags: { syn: true, ack: true } });
  tr.recv({ seq: REMOTE_ISS + 1, ack: LOCAL_ISS + 1 });
  assert.equal(tr.state, 'ESTABLISHED');
});

test('SYN retransmission: backoff 1 s, 2 s, 4 s … then closed with timeout after synRetries', () => {
  const tr = synSent({ synRetries: 3 });
  const gaps: number[] = [];
  for (let i = 0; i < 3; i++) {
    gaps.push(tr.advanceToDeadline());
    tr.expectSend({ seq: LOCAL_ISS, flags: { syn: true } }, `retry ${i}`);
  }
  assert.deepEqual(gaps, [1_000_000, 2_000_000, 4_000_000]);
  tr.advanceToDeadline();
  assert.equal(tr.state, 'CLOSED');
  assert.deepEqual(tr.takeEvents(), [{ type: 'closed', reason: 'timeout' }]);
  assert.equal(tr.conn.closeReason, 'timeout');
  tr.expectNoSend();
  assert.equal(tr.conn.pollDeadline(), undefined);
});

test('SYN-ACK retransmission in SYN-RECEIVED, then timeout', () => {
  const tr = synReceived({ synRetries: 1 });
  tr.advanceToDeadline();
  tr.expectSend({ seq: LOCAL_ISS, flags: { syn: true, ack: true } });
  tr.advanceToDeadline();
  assert.equal(tr.state, 'CLOSED');
  assert.equal(tr.conn.closeReason, 'timeout');
});

test('SYN-SENT: an ACK not covering our SYN gets RST <SEQ=SEG.ACK>; a bad RST is ignored', () => {
  const tr = synSent();
  tr.recv({ seq: REMOTE_ISS, ack: LOCAL_ISS + 5, flags: { syn: true, ack: true } });
  tr.expectSend({ seq: LOCAL_ISS + 5, flags: { rst: true } });
  assert.equal(tr.state, 'SYN-SENT');
  tr.recv({ seq: 0, ack: LOCAL_ISS + 7, flags: { rst: true, ack: true } });
  assert.equal(tr.state, 'SYN-SENT');
  tr.recv({ seq: 0, ack: 0, flags: { rst: true } }); // no ACK: not acceptable in SYN-SENT
  assert.equal(tr.state, 'SYN-SENT');
  tr.expectNoSend();
});

test('SYN-SENT: RST acknowledging our SYN → closed reset (connection refused)', () => {
  const tr = synSent();
  tr.recv({ seq: 0, ack: LOCAL_ISS + 1, flags: { rst: true, ack: true } });
  assert.equal(tr.state, 'CLOSED');
  assert.deepEqual(tr.takeEvents(), [{ type: 'closed', reason: 'reset' }]);
});

test('SYN options: all offered, all agreed (WS, SACK, TS, MSS)', () => {
  const cfg = { windowScale: true, sack: true, timestamps: true, rcvBufBytes: 1 << 20 };
  const tr = synSentUnpolled(cfg, LOCAL_ISS, 5_000);
  const syn = tr.expectSend({ flags: { syn: true } });
  assert.deepEqual(syn.options, { mss: 1000, windowScale: 5, sackPermitted: true, timestamp: { value: 5 + LOCAL_ISS, echo: 0 } });
  tr.nowUs += 3_000;
  tr.recv({
    seq: REMOTE_ISS, ack: LOCAL_ISS + 1, flags: { syn: true, ack: true }, window: 0x8000,
    options: { mss: 1200, windowScale: 2, sackPermitted: true, timestamp: { value: 777, echo: 5 + LOCAL_ISS } },
  });
  const info = tr.conn.info();
  assert.equal(info.sndMss, 1000);
  assert.equal(info.sndWndShift, 2);
  assert.equal(info.rcvWndShift, 5);
  assert.equal(info.sndWnd, 0x8000, 'the SYN-ACK window is not scaled');
  assert.ok(info.tsOn && info.sackOn);
  assert.equal(info.srttUs, 3_000, 'RTT from TSecr');
  tr.takeEvents();
  const ack = tr.expectSend({ seq: LOCAL_ISS + 1, ack: REMOTE_ISS + 1 });
  assert.deepEqual(ack.options, { timestamp: { value: 8 + LOCAL_ISS, echo: 777 } });
  assert.equal(ack.window, (1 << 20) >> 5, 'window field scaled by our shift');
  // The next window from the peer is scaled by its shift.
  tr.recv({ seq: REMOTE_ISS + 1, ack: LOCAL_ISS + 1, window: 1000, options: { timestamp: { value: 778, echo: 8 + LOCAL_ISS } } });
  assert.equal(tr.conn.info().sndWnd, 4000);
});

test('SYN options: peer without options → MSS 536, no scaling, no SACK, no timestamps', () => {
  const cfg = { windowScale: true, sack: true, timestamps: true, rcvBufBytes: 1 << 20 };
  const tr = synReceived(cfg, LOCAL_ISS, {});
  const info = tr.conn.info();
  assert.equal(info.sndMss, 536, 'RFC 9293 §3.7.1 default');
  assert.equal(info.sndWndShift, 0);
  assert.equal(info.rcvWndShift, 0);
  assert.ok(!info.tsOn && !info.sackOn);
  tr.recv({ seq: REMOTE_ISS + 1, ack: LOCAL_ISS + 1 });
  tr.conn.send(new Uint8Array(2000));
  const s = tr.expectSend({ seq: LOCAL_ISS + 1, flags: { ack: true }, payload: new Uint8Array(536) });
  assert.equal(s.window, 0xffff, 'unscaled window capped at 65535');
  assert.deepEqual(s.options, {});
});

test('SYN-ACK carries only the options the SYN offered', () => {
  const cfg = { windowScale: true, sack: true, timestamps: true };
  for (const [offer, expectKeys] of [
    [{ mss: 1400, windowScale: 7 }, ['mss', 'windowScale']],
    [{ mss: 1400, sackPermitted: true }, ['mss', 'sackPermitted']],
    [{ mss: 1400, timestamp: { value: 1, echo: 0 } }, ['mss', 'timestamp']],
  ] as const) {
    const syn = fromPeer({ seq: REMOTE_ISS, flags: { syn: true }, options: { ...offer } });
    const tr = new Trace(TcpConnection.accept(traceConfig(cfg), TUPLE, syn, LOCAL_ISS, 0), 0);
    const synAck = tr.expectSend({ flags: { syn: true, ack: true } });
    assert.deepEqual(Object.keys(synAck.options).sort(), [...expectKeys].sort());
    if (synAck.options.timestamp) assert.equal(synAck.options.timestamp.echo, 1);
  }
});

test('our side without window scaling never sends the option even if the peer does', () => {
  const tr = established({ windowScale: false }, LOCAL_ISS, REMOTE_ISS, { mss: 1000, windowScale: 7 });
  assert.equal(tr.conn.info().sndWndShift, 0);
});

test('close() in SYN-SENT → CLOSED without a segment', () => {
  const tr = synSent();
  tr.conn.close();
  assert.equal(tr.state, 'CLOSED');
  assert.deepEqual(tr.takeEvents(), [{ type: 'closed', reason: 'closed' }]);
  tr.expectNoSend();
});

test('established fixture leaves nothing pending', () => {
  const tr = established();
  tr.expectNoSend();
  assert.equal(tr.conn.pollDeadline(), undefined);
});

test('RFC 6298 §5.7: after a retransmitted SYN with no RTT sample, data starts with RTO = 3 s', () => {
  const tr = synSent();
  tr.advanceToDeadline();
  tr.expectSend({ seq: LOCAL_ISS, flags: { syn: true } });
  // The SYN-ACK answers the retransmission: Karn forbids timing it (no timestamps here).
  tr.recv({ seq: REMOTE_ISS, ack: LOCAL_ISS + 1, flags: { syn: true, ack: true }, options: { mss: 1000 } });
  tr.drainSend();
  assert.equal(tr.conn.info().srttUs, undefined);
  assert.equal(tr.conn.info().rtoUs, 3_000_000);
  tr.conn.send(new Uint8Array(10));
  tr.drainSend();
  assert.equal(tr.conn.pollDeadline(), tr.nowUs + 3_000_000);
});
