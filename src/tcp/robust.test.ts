// Bad input: random segments (any flags, options, numbers, payloads) never make the
// connection throw or break its invariants, and blind out-of-window segments injected
// into a lossy transfer never change a byte of either stream. Seeds are printed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { TcpRepr } from '../wire/tcp.js';
import { seqLe } from './seq.js';
import { established, fill, LOCAL_PORT, REMOTE_PORT } from './testing/trace.js';
import { fcParams } from './testing/fc-seed.js';
import { runPair } from './testing/pair.js';

const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
const segArb: fc.Arbitrary<TcpRepr> = fc.record({
  srcPort: fc.constant(REMOTE_PORT), dstPort: fc.constant(LOCAL_PORT),
  seq: fc.oneof(u32, fc.integer({ min: 50_000, max: 60_000 })),
  ack: fc.oneof(u32, fc.integer({ min: 10_000, max: 20_000 })),
  flags: fc.record({ fin: fc.boolean(), syn: fc.boolean(), rst: fc.boolean(), psh: fc.boolean(), ack: fc.boolean(), urg: fc.boolean(), ece: fc.boolean(), cwr: fc.boolean() }),
  window: fc.integer({ min: 0, max: 0xffff }),
  urgentPointer: fc.integer({ min: 0, max: 0xffff }),
  options: fc.record({
    mss: fc.integer({ min: 0, max: 0xffff }),
    windowScale: fc.integer({ min: 0, max: 255 }),
    sackPermitted: fc.boolean(),
    sack: fc.array(fc.record({ left: u32, right: u32 }), { maxLength: 4 }),
    timestamp: fc.record({ value: u32, echo: u32 }),
  }, { requiredKeys: [] }),
  payload: fc.uint8Array({ maxLength: 3000 }),
});

test('property: random segments never throw and keep SND.UNA <= SND.NXT <= SND.MAX', () => {
  fc.assert(fc.property(fc.array(segArb, { maxLength: 40 }), fc.boolean(), (segs, opts) => {
    const cfg = opts ? { sack: true, timestamps: true, windowScale: true } : {};
    const peer = opts ? { mss: 1000, sackPermitted: true, windowScale: 4, timestamp: { value: 5, echo: 10_000 } } : { mss: 1000 };
    const tr = established(cfg, 10_000, 50_000, peer);
    tr.conn.send(fill(5000));
    tr.drainSend();
    for (const s of segs) {
      tr.conn.handleSegment(s, tr.nowUs);
      tr.nowUs += 1000;
      tr.conn.handleTimeout(tr.nowUs);
      const out = tr.drainSend();
      assert.ok(out.length < 1000);
      for (const o of out) assert.ok(o.payload.length <= 1000, 'never above the peer MSS');
      const i = tr.conn.info();
      assert.ok(seqLe(i.sndUna, i.sndNxt) && seqLe(i.sndNxt, i.sndMax), JSON.stringify(i));
      assert.ok(tr.conn.readableBytes() >= 0 && tr.conn.readableBytes() <= 64 * 1024);
      tr.conn.read();
    }
    tr.conn.snapshot();
  }), { ...fcParams('src/tcp/robust.test.ts'), numRuns: 300 });
});

for (const seed of [31, 32, 33]) {
  test(`blind out-of-window segments during a lossy transfer change nothing, seed ${seed}`, () => {
    const cfg = { timeWaitUs: 30_000_000, sack: seed !== 32 };
    const r = runPair({ seed, aToB: 200_000, bToA: 100_000, lossRate: 0.03, jitterUs: 500, garbageRate: 0.3, cfgA: cfg, cfgB: cfg });
    assert.deepEqual(r.violations, []);
    assert.ok(Buffer.from(r.receivedByB).equals(Buffer.from(r.sentByA)), `A→B seed ${seed}`);
    assert.ok(Buffer.from(r.receivedByA).equals(Buffer.from(r.sentByB)), `B→A seed ${seed}`);
    assert.equal(r.reasonA, 'closed');
    assert.equal(r.reasonB, 'closed');
  });
}

test('property: any order, overlap and duplication of the peer\'s segments yields exactly its stream', () => {
  fc.assert(fc.property(
    fc.array(fc.record({ off: fc.integer({ min: 0, max: 19_999 }), len: fc.integer({ min: 1, max: 1500 }) }), { maxLength: 80 }),
    fc.boolean(), fc.integer({ min: 0, max: 3 }),
    (pieces, sack, readEvery) => {
      const total = 20_000;
      const stream = fill(total, 3);
      const tr = established({ sack, rcvBufBytes: 8_000 }, 10_000, 50_000, sack ? { mss: 1000, sackPermitted: true } : { mss: 1000 });
      const P = 50_001;
      const got: Uint8Array[] = [];
      // The pieces in the given order, then the whole stream in order so it must complete.
      const all = [...pieces, ...Array.from({ length: total / 1000 }, (_, i) => ({ off: i * 1000, len: 1000 }))];
      all.forEach((p, i) => {
        const end = Math.min(total, p.off + p.len);
        tr.conn.handleSegment({ srcPort: 80, dstPort: 49152, seq: (P + p.off) >>> 0, ack: 10_001, flags: { fin: false, syn: false, rst: false, psh: false, ack: true, urg: false, ece: false, cwr: false }, window: 0xffff, urgentPointer: 0, options: {}, payload: stream.subarray(p.off, end) }, tr.nowUs);
        tr.drainSend();
        if (readEvery === 0 || i % readEvery === 0 || i >= pieces.length) got.push(tr.conn.read());
      });
      got.push(tr.conn.read());
      const out = Buffer.concat(got);
      assert.equal(out.length, total);
      assert.ok(out.equals(Buffer.from(stream)));
    },
  ), { ...fcParams('src/tcp/robust.test.ts'), numRuns: 200 });
});
