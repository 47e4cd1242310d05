// H.248 over TCP: two peers exchange a transaction through a byte stream cut into 1..7-byte
// chunks; no retransmission happens; a broken TPKT header is a sticky fatal error.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { H248TcpPeer } from './tcp-peer.js';
import * as M from './model.js';

function pipe(from: H248TcpPeer, to: H248TcpPeer, nowUs: number): number {
  let n = 0;
  for (let b = from.pollTransmit(); b; b = from.pollTransmit()) {
    for (let i = 0; i < b.length; i += 1 + (i % 7)) to.handleBytes(b.subarray(i, i + 1 + (i % 7)), nowUs);
    n++;
  }
  return n;
}

test('a transaction over TPKT in small chunks, no retransmissions', () => {
  const c = new H248TcpPeer({ mId: '[10.0.0.1]:2944', initialRtoUs: 10_000 });
  const g = new H248TcpPeer({ mId: '[10.0.0.11]:2944' });
  const r = c.sendRequest([M.action('-', M.auditValue('ROOT', ['packages']))], 0);
  assert.ok(r.ok);
  assert.equal(pipe(c, g, 1), 1);
  const ev = g.pollEvent();
  assert.ok(ev && ev.type === 'request');
  c.handleTimeout(50_000); // past the RTO: over TCP nothing is resent
  assert.equal(pipe(c, g, 50_000), 0);
  g.sendReply(M.reply(ev.transactionId, M.actionReply('-', { type: 'auditValue', terminationIds: ['ROOT'], audit: { packages: [{ name: 'al', version: 1 }] } })), 60_000);
  pipe(g, c, 60_000);
  const rep = c.pollEvent();
  assert.ok(rep && rep.type === 'reply' && rep.reply.actions[0]?.commands[0]?.type === 'auditValue');
  assert.equal(c.engine.counters.retransmits, 0);
});

test('a broken TPKT header is fatal and sticky', () => {
  const g = new H248TcpPeer({ mId: 'mg' });
  g.handleBytes(new Uint8Array([9, 0, 0, 10, 1, 2, 3]), 0);
  assert.equal(g.fatalError()?.layer, 'tpkt');
  g.handleBytes(new Uint8Array([3, 0, 0, 5, 0x41]), 1);
  assert.equal(g.pollEvent(), undefined);
});
