// Transaction link: the endpoint's many peers over the Annex D engine (h248/transactions.ts):
// retransmission/backoff/timeout, the duplicate-request reply cache, response acks, and
// request ids unique across peers. Message syntax belongs to the h248 codec tests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TransactionLink, defaultLinkConfig } from './transaction-link.js';
import { textCodec } from './text-codec.js';
import type { TransactionReply } from '../h248/model.js';
import { action, auditValue } from '../h248/model.js';

test('transaction link: retransmits with backoff, then reports a timeout once (Annex D.1.3)', () => {
  const replies: (TransactionReply | undefined)[] = [];
  const link = new TransactionLink({ ...defaultLinkConfig('mgc'), retransmitUs: 10_000, retransmitsMax: 3 }, {
    onRequest: () => { throw new Error('unexpected'); },
    onReply: (_p, _t, r) => replies.push(r),
  });
  link.sendRequest('10.0.0.1:2944', [action('-', auditValue('ROOT'))], 0);
  const sends: number[] = [];
  for (let now = 0; now <= 200_000; now += 1_000) {
    link.handleTimeout(now);
    while (link.pollTransmit()) sends.push(now);
  }
  // Sent at 0, then after 10, 20, 40 ms more (doubling), then given up after 80 ms more.
  assert.deepEqual(sends, [0, 10_000, 30_000, 70_000]);
  assert.deepEqual(replies, [undefined]);
  assert.equal(link.counters.timeouts, 1);
});

test('transaction link: a retransmitted request is answered from the reply cache, not executed twice (Annex D.1.2)', () => {
  let executed = 0;
  const link = new TransactionLink(defaultLinkConfig('mg1'), {
    onRequest: (_p, _m, req) => { executed++; return { kind: 'reply', transactionId: req.transactionId, actions: [{ contextId: '-', commands: [{ type: 'auditValue', terminationIds: ['ROOT'] }] }] }; },
    onReply: () => {},
  });
  const req = textCodec.encode({ version: 1, mId: '[10.0.1.1]:2944', body: { kind: 'transactions', transactions: [{ kind: 'request', transactionId: 42, actions: [action('-', auditValue('ROOT'))] }] } });
  link.handleDatagram('10.0.1.1:2944', req, 0);
  link.handleDatagram('10.0.1.1:2944', req, 5_000);
  const out = [link.pollTransmit(), link.pollTransmit()];
  assert.equal(executed, 1);
  assert.ok(out[0] && out[1]);
  assert.deepEqual(out[0]!.bytes, out[1]!.bytes);
  assert.equal(link.counters.duplicateRequests, 1);
  // Garbage after a readable header gets an error message back (400), not a crash.
  link.handleDatagram('10.0.1.1:2944', new TextEncoder().encode('MEGACO/1 [10.0.1.1]:2944 garbage{'), 6_000);
  const e = link.pollTransmit();
  const d = e && textCodec.decode(e.bytes);
  assert.ok(d && d.ok && d.value.body.kind === 'error');
});

test('transaction link: ids are unique across peers; replies are acknowledged (Annex D.1.2.2); Pending stops retransmission', () => {
  const got: [string, number, boolean][] = [];
  const link = new TransactionLink({ ...defaultLinkConfig('mgc'), retransmitUs: 10_000, firstTransactionId: 7 }, {
    onRequest: () => { throw new Error('unexpected'); },
    onReply: (p, t, r) => got.push([p, t, !!r]),
  });
  const a = link.sendRequest('10.0.0.1:2944', [action('-', auditValue('ROOT'))], 0);
  const b = link.sendRequest('10.0.0.2:2944', [action('-', auditValue('ROOT'))], 0);
  assert.notEqual(a, b);
  while (link.pollTransmit()) { /* the two requests */ }
  const reply = (tid: number): Uint8Array => textCodec.encode({ version: 1, mId: 'mg', body: { kind: 'transactions', transactions: [{ kind: 'reply', transactionId: tid, actions: [{ contextId: '-', commands: [{ type: 'auditValue', terminationIds: ['ROOT'] }] }] }] } });
  const pending = (tid: number): Uint8Array => textCodec.encode({ version: 1, mId: 'mg', body: { kind: 'transactions', transactions: [{ kind: 'pending', transactionId: tid }] } });
  // A reply from the wrong peer does not complete the request.
  link.handleDatagram('10.0.0.2:2944', reply(a), 1_000);
  assert.deepEqual(got, []);
  link.handleDatagram('10.0.0.1:2944', reply(a), 1_000);
  assert.deepEqual(got, [['10.0.0.1:2944', a, true]]);
  // The other peer says Pending: no retransmission at the usual timer.
  link.handleDatagram('10.0.0.2:2944', pending(b), 2_000);
  let sent: string[] = [];
  for (let now = 2_000; now <= 100_000; now += 1_000) { link.handleTimeout(now); for (let o = link.pollTransmit(); o; o = link.pollTransmit()) sent.push(`${now} ${o.peer} ${Buffer.from(o.bytes).toString('latin1')}`); }
  // Only the ack of the reply from 10.0.0.1 left (after the ack delay); no retransmission to 10.0.0.2.
  assert.equal(sent.length, 1, sent.join('\n'));
  assert.match(sent[0]!, /10\.0\.0\.1:2944 .*\bK\s*\{/);
  assert.equal(link.counters.pendingsReceived, 1);
  sent = [];
});
