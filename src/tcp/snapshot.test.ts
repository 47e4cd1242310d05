// snapshot()/restore(): the snapshot is plain data, and a restored connection behaves
// exactly like the original from then on — checked by running both on the same inputs
// (property test over random operation scripts, seed printed) and over a lossy pipe.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { TcpConnection } from './connection.js';
import type { TcpRepr } from '../wire/tcp.js';
import { established, fill, fromPeer, LOCAL_ISS as L, REMOTE_ISS as R } from './testing/trace.js';
import { fcParams } from './testing/fc-seed.js';
import { runPair } from './testing/pair.js';

const A = L + 1;
const P = R + 1;

function assertPlainData(v: unknown, path = 'snapshot'): void {
  if (v === null || v === undefined) return;
  const t = typeof v;
  if (t === 'number') { assert.ok(Number.isFinite(v as number), `${path} is not finite`); return; }
  if (t === 'string' || t === 'boolean') return;
  if (v instanceof Uint8Array) return;
  if (Array.isArray(v)) { v.forEach((x, i) => assertPlainData(x, `${path}[${i}]`)); return; }
  assert.equal(t, 'object', `${path} has type ${t}`);
  assert.equal(Object.getPrototypeOf(v), Object.prototype, `${path} is not a plain object`);
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) assertPlainData(x, `${path}.${k}`);
}

test('snapshot is plain data, survives structuredClone and JSON-free copying', () => {
  const tr = established({ sack: true, timestamps: true, windowScale: true }, L, R, { mss: 1000, sackPermitted: true, windowScale: 3, timestamp: { value: 1, echo: L } });
  tr.conn.send(fill(5000));
  tr.drainSend();
  tr.recv({ seq: P + 1000, ack: A + 1000, payload: fill(500), options: { timestamp: { value: 2, echo: L } } });
  tr.recv({ seq: P, ack: A + 1000, payload: fill(300), options: { timestamp: { value: 2, echo: L } } });
  const s = tr.conn.snapshot();
  assertPlainData(s);
  assert.equal(s.vars.state, 'ESTABLISHED');
  assert.equal(s.sendBuffer.data.length, 4000);
  assert.equal(s.reassembly.pieces.length, 1);
  assert.equal(s.rcvQueue.reduce((n, b) => n + b.length, 0), 300);
  assert.ok(s.vars.rtxDeadlineUs !== undefined && s.vars.delackDeadlineUs === undefined);
  // Mutating the live connection does not change the snapshot.
  tr.conn.read();
  assert.equal(s.rcvQueue.reduce((n, b) => n + b.length, 0), 300);
});

type Op =
  | { k: 'send'; n: number }
  | { k: 'data'; off: number; len: number }
  | { k: 'ack'; frac: number; wnd: number }
  | { k: 'advance'; us: number }
  | { k: 'read'; n: number }
  | { k: 'close' }
  | { k: 'fin'; off: number }
  | { k: 'rst'; off: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ k: fc.constant('send' as const), n: fc.integer({ min: 1, max: 4000 }) }) },
  { weight: 4, arbitrary: fc.record({ k: fc.constant('data' as const), off: fc.integer({ min: 0, max: 6000 }), len: fc.integer({ min: 1, max: 1000 }) }) },
  { weight: 4, arbitrary: fc.record({ k: fc.constant('ack' as const), frac: fc.double({ min: 0, max: 1, noNaN: true }), wnd: fc.integer({ min: 0, max: 0xffff }) }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('advance' as const), us: fc.integer({ min: 0, max: 3_000_000 }) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('read' as const), n: fc.integer({ min: 1, max: 5000 }) }) },
  { weight: 1, arbitrary: fc.constant({ k: 'close' as const }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('fin' as const), off: fc.integer({ min: 0, max: 6000 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('rst' as const), off: fc.integer({ min: 0, max: 3 }) }) },
);

interface Driven { conn: TcpConnection; now: number; sent: number }

/** Apply one op and return everything observable: segments, events, deadline, state. */
function apply(d: Driven, op: Op): unknown {
  const c = d.conn;
  switch (op.k) {
    case 'send': d.sent += c.send(fill(op.n, d.sent)); break;
    case 'data': c.handleSegment(fromPeer({ seq: P + op.off, ack: A, payload: fill(op.len, op.off) }), d.now); break;
    case 'ack': {
      const sentSoFar = (c.info().sndMax - A) | 0;
      c.handleSegment(fromPeer({ seq: c.info().rcvNxt, ack: A + Math.floor(Math.max(0, sentSoFar) * op.frac), window: op.wnd }), d.now);
      break;
    }
    case 'advance': d.now += op.us; c.handleTimeout(d.now); break;
    case 'read': c.read(op.n); break;
    case 'close': c.close(); break;
    case 'fin': c.handleSegment(fromPeer({ seq: P + op.off, ack: A, flags: { fin: true, ack: true } }), d.now); break;
    case 'rst': c.handleSegment(fromPeer({ seq: (c.info().rcvNxt + op.off) >>> 0, flags: { rst: true } }), d.now); break;
  }
  const segs: TcpRepr[] = [];
  for (let s = c.pollTransmit(d.now); s !== undefined && segs.length < 10_000; s = c.pollTransmit(d.now)) segs.push(s);
  const events = [];
  for (let e = c.pollEvent(); e !== undefined; e = c.pollEvent()) events.push(e);
  return { segs, events, deadline: c.pollDeadline(), state: c.state, readable: c.readableBytes(), space: c.sendSpace(), stats: c.stats() };
}

test('property: a connection restored from a snapshot produces exactly what the original does', () => {
  fc.assert(fc.property(
    fc.array(opArb, { minLength: 1, maxLength: 60 }), fc.nat(), fc.boolean(), fc.boolean(), fc.boolean(),
    (ops, cutRaw, sack, timestamps, nagle) => {
      const cfg = { sack, timestamps, nagle, windowScale: true, rcvBufBytes: 8000, sndBufBytes: 10_000 };
      const peer = { mss: 1000, ...(sack ? { sackPermitted: true } : {}), windowScale: 2, ...(timestamps ? { timestamp: { value: 9, echo: L } } : {}) };
      const tr = established(cfg, L, R, peer);
      const orig: Driven = { conn: tr.conn, now: tr.nowUs, sent: 0 };
      const cut = cutRaw % ops.length;
      for (let i = 0; i < cut; i++) apply(orig, ops[i]!);
      const copy: Driven = { conn: TcpConnection.restore(orig.conn.snapshot()), now: orig.now, sent: orig.sent };
      // A snapshot of a restored connection equals a snapshot of the original.
      assert.deepEqual(copy.conn.snapshot(), orig.conn.snapshot());
      for (let i = cut; i < ops.length; i++) {
        assert.deepEqual(apply(copy, ops[i]!), apply(orig, ops[i]!), `op ${i} ${JSON.stringify(ops[i])}`);
      }
    },
  ), { ...fcParams('src/tcp/snapshot.test.ts'), numRuns: 150 });
});

test('property: restore every N segments over a lossy pipe stays byte-exact', () => {
  fc.assert(fc.property(
    fc.integer({ min: 1, max: 1_000_000 }), fc.integer({ min: 0, max: 10 }), fc.integer({ min: 5, max: 80 }), fc.boolean(),
    (seed, lossPct, every, sack) => {
      const cfg = { sack, timeWaitUs: 30_000_000 };
      const r = runPair({
        seed, aToB: 150_000, bToA: 50_000, lossRate: lossPct / 100, dupRate: 0.01, jitterUs: 700, restoreEvery: every,
        cfgA: cfg, cfgB: cfg,
      });
      assert.deepEqual(r.violations, []);
      assert.ok(r.restores > 0);
      assert.ok(Buffer.from(r.receivedByB).equals(Buffer.from(r.sentByA)), 'A→B');
      assert.ok(Buffer.from(r.receivedByA).equals(Buffer.from(r.sentByB)), 'B→A');
      assert.equal(r.reasonA, 'closed');
      assert.equal(r.reasonB, 'closed');
    },
  ), { ...fcParams('src/tcp/snapshot.test.ts'), numRuns: 8 });
});

test('restore at every step of a whole connection life (SYN-SENT, SYN retransmission, data, RTO, FIN, LAST-ACK, CLOSED) matches the original', () => {
  type Step = (c: TcpConnection, now: number) => void;
  const peer = (s: Parameters<typeof fromPeer>[0]): Step => (c, now) => c.handleSegment(fromPeer(s), now);
  const steps: Array<[number, Step]> = [
    [0, () => undefined],
    [1_500_000, () => undefined], // the SYN is retransmitted
    [1_000, peer({ seq: R, ack: A, flags: { syn: true, ack: true }, options: { mss: 1000, timestamp: { value: 7, echo: L + 1000 } } })],
    [10, (c) => { c.send(fill(2500)); }],
    [2_000, peer({ seq: P, ack: A + 1000, payload: fill(700), options: { timestamp: { value: 9, echo: L + 1500 } } })],
    [300_000, () => undefined], // RTO for the rest
    [2_000, peer({ seq: P + 700, ack: A + 2500, flags: { ack: true, fin: true }, options: { timestamp: { value: 11, echo: L + 1800 } } })],
    [10, (c) => { c.read(); c.close(); }],
    [2_000, peer({ seq: P + 701, ack: A + 2501, options: { timestamp: { value: 13, echo: L + 1800 } } })],
  ];
  const observe = (c: TcpConnection, now: number): unknown => {
    const segs = [];
    for (let s = c.pollTransmit(now); s !== undefined; s = c.pollTransmit(now)) segs.push(s);
    const events = [];
    for (let e = c.pollEvent(); e !== undefined; e = c.pollEvent()) events.push(e);
    return { segs, events, state: c.state, deadline: c.pollDeadline(), stats: c.stats() };
  };
  const cfg = { timestamps: true, sack: false, windowScale: false, mss: 1000, timeWaitUs: 1_000_000 };
  const orig = TcpConnection.connect(cfg, { localIp: 1, localPort: 49152, remoteIp: 2, remotePort: 80 }, L, 0);
  let twin = TcpConnection.restore(orig.snapshot());
  let now = 0;
  const states: string[] = [];
  for (const [dt, step] of steps) {
    now += dt;
    for (const c of [orig, twin]) { c.handleTimeout(now); step(c, now); }
    assert.deepEqual(observe(twin, now), observe(orig, now), `after step at ${now}`);
    states.push(orig.state);
    twin = TcpConnection.restore(twin.snapshot()); // restore again at every step
  }
  assert.deepEqual(states, ['SYN-SENT', 'SYN-SENT', 'ESTABLISHED', 'ESTABLISHED', 'ESTABLISHED', 'ESTABLISHED', 'CLOSE-WAIT', 'LAST-ACK', 'CLOSED']);
  assert.equal(twin.closeReason, 'closed');
});
