// The multi-peer endpoint: per-peer engines created on contact, outputs tagged with the peer,
// distinct transaction id ranges, the peer-table bound, and a controller talking to two gateways.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { H248Endpoint } from './endpoint.js';
import * as M from './model.js';

test('a controller endpoint talks to two gateways; replies and events carry the peer', () => {
  const mgc = new H248Endpoint({ mId: '[10.0.0.1]:2944' });
  const gws = { 'gw1:2944': new H248Endpoint({ mId: 'gw1' }), 'gw2:2944': new H248Endpoint({ mId: 'gw2' }) };
  const r1 = mgc.sendRequest('gw1:2944', [M.action('-', M.auditValue('ROOT'))], 0);
  const r2 = mgc.sendRequest('gw2:2944', [M.action('-', M.auditValue('ROOT'))], 0);
  assert.ok(r1.ok && r2.ok && r1.transactionId !== r2.transactionId);
  for (let t = mgc.pollTransmit(); t; t = mgc.pollTransmit()) gws[t.peer as keyof typeof gws].handle('mgc:2944', t.bytes, 10);
  for (const [name, gw] of Object.entries(gws)) {
    const ev = gw.pollEvent();
    assert.ok(ev && ev.peer === 'mgc:2944' && ev.event.type === 'request');
    gw.sendReply('mgc:2944', M.reply(ev.event.transactionId, M.actionReply('-', { type: 'auditValue', terminationIds: ['ROOT'] })), 20);
    for (let t = gw.pollTransmit(); t; t = gw.pollTransmit()) mgc.handle(name, t.bytes, 30);
  }
  const got = [mgc.pollEvent(), mgc.pollEvent(), mgc.pollEvent()];
  assert.deepEqual(got.map((g) => g && `${g.peer}:${g.event.type}`), ['gw1:2944:reply', 'gw2:2944:reply', undefined]);
  assert.equal(mgc.pollDeadline(), 30 + 20_000, 'delayed acks for both peers');
  mgc.handleTimeout(30 + 20_000);
  const acks = [mgc.pollTransmit(), mgc.pollTransmit()];
  assert.deepEqual(acks.map((a) => a?.peer), ['gw1:2944', 'gw2:2944']);
});

test('the peer table is bounded', () => {
  const ep = new H248Endpoint({ mId: 'mgc', maxPeers: 2 });
  const msg = new TextEncoder().encode('!/1 gw T=1{C=-{AV=ROOT{AT{}}}}');
  ep.handle('a', msg, 0);
  ep.handle('b', msg, 0);
  ep.handle('c', msg, 0);
  assert.equal(ep.droppedNewPeers, 1);
  assert.deepEqual(ep.peerAddresses(), ['a', 'b']);
  assert.equal(ep.removePeer('a'), true);
  ep.handle('c', msg, 0);
  assert.deepEqual(ep.peerAddresses(), ['b', 'c']);
});
