// SackScoreboard: merging, bounds, and RFC 6675 IsLost/SetPipe/NextSeg by example and against a
// brute-force per-byte model; hostile SACK blocks keep every invariant.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SackScoreboard } from './sack-scoreboard.js';
import { seqAdd } from './seq.js';
import { fcParams } from './testing/fc-seed.js';

const MSS = 100;
const UNA = 0xffffff00;
const at = (o: number): number => seqAdd(UNA, o);
const blk = (l: number, r: number): { left: number; right: number } => ({ left: at(l), right: at(r) });

test('update merges blocks, reports newly SACKed bytes, ignores D-SACK and bogus blocks', () => {
  const sb = new SackScoreboard();
  assert.equal(sb.update(UNA, [blk(200, 300)]), 100);
  assert.equal(sb.update(UNA, [blk(200, 300)]), 0);
  assert.equal(sb.update(UNA, [blk(250, 400), blk(500, 600)]), 200);
  assert.equal(sb.update(UNA, [blk(400, 500)]), 100); // joins the two
  assert.deepEqual(sb.blocks(), [blk(200, 600)]);
  assert.equal(sb.update(UNA, [blk(-100, 0)]), 0); // D-SACK below SND.UNA
  assert.equal(sb.update(UNA, [blk(700, 650)]), 0); // inverted
  assert.equal(sb.update(UNA, [blk(700, 800)], at(750)), 0); // beyond SND.NXT
  assert.equal(sb.sackedBytes(), 400);
  assert.equal(sb.highestSacked(), at(600));
  assert.ok(sb.isSacked(at(200)) && sb.isSacked(at(599)));
  assert.ok(!sb.isSacked(at(199)) && !sb.isSacked(at(600)));
});

test('a cumulative ACK discards and trims ranges below SND.UNA', () => {
  const sb = new SackScoreboard();
  sb.update(UNA, [blk(100, 200), blk(300, 400)]);
  sb.update(at(350), []);
  assert.deepEqual(sb.blocks(), [blk(350, 400)]);
  assert.equal(sb.sackedBytes(), 50);
  sb.update(at(1000), []);
  assert.equal(sb.highestSacked(), undefined);
  assert.equal(sb.sackedBytes(), 0);
});

test('bounded: beyond maxBlocks ranges the lowest are forgotten', () => {
  const sb = new SackScoreboard(3);
  sb.update(UNA, [blk(100, 110), blk(200, 210), blk(300, 310), blk(400, 410)]);
  assert.deepEqual(sb.blocks(), [blk(200, 210), blk(300, 310), blk(400, 410)]);
  assert.equal(sb.sackedBytes(), 30);
});

test('IsLost: DupThresh SACKed ranges above, or more than (DupThresh-1)*SMSS bytes (RFC 6675 §4)', () => {
  const sb = new SackScoreboard();
  sb.update(UNA, [blk(100, 200)]);
  assert.ok(!sb.isLost(at(0), MSS)); // 1 range, 100 bytes
  sb.update(UNA, [blk(200, 300)]);
  assert.ok(!sb.isLost(at(0), MSS)); // 200 bytes is not > 2*SMSS
  sb.update(UNA, [blk(300, 301)]);
  assert.ok(sb.isLost(at(0), MSS)); // 201 bytes
  assert.ok(!sb.isLost(at(150), MSS)); // SACKed itself
  const sc = new SackScoreboard();
  sc.update(UNA, [blk(100, 110), blk(200, 210), blk(300, 310)]);
  assert.ok(sc.isLost(at(0), MSS)); // three discontiguous ranges above
  assert.ok(!sc.isLost(at(150), MSS)); // two
  assert.ok(sc.isLost(at(150), MSS, 2));
});

test('SetPipe and NextSeg through a recovery episode (RFC 6675 §4, §5)', () => {
  // 10 segments sent; segments 0 and 3 lost; 1,2,4..9 SACKed.
  const sb = new SackScoreboard();
  const nxt = at(1000);
  sb.update(UNA, [blk(100, 300), blk(400, 1000)]);
  // Lost: 0..100 and 300..400 (each has > 2*SMSS SACKed above) -> pipe 0.
  assert.equal(sb.pipe(UNA, nxt, UNA, MSS), 0);
  assert.deepEqual(sb.nextSeg(UNA, nxt, UNA, MSS), { seq: at(0), len: 100, kind: 'rule1' });
  // After retransmitting segment 0, HighRxt = 100: it counts once in pipe (lost + retransmitted).
  assert.equal(sb.pipe(UNA, nxt, at(100), MSS), 100);
  assert.deepEqual(sb.nextSeg(UNA, nxt, at(100), MSS), { seq: at(300), len: 100, kind: 'rule1' });
  assert.equal(sb.pipe(UNA, nxt, at(400), MSS), 200);
  // Nothing more to retransmit below the highest SACK; everything above is SACKed.
  assert.equal(sb.nextSeg(UNA, nxt, at(400), MSS), undefined);
});

test('NextSeg rules 3 and 4', () => {
  const sb = new SackScoreboard();
  sb.update(UNA, [blk(100, 150)]); // hole 0..100 not yet lost
  const nxt = at(500);
  assert.deepEqual(sb.nextSeg(UNA, nxt, UNA, MSS), { seq: at(0), len: 100, kind: 'rule3' });
  assert.deepEqual(sb.nextSeg(UNA, nxt, at(100), MSS), { seq: at(150), len: 100, kind: 'rule4' });
  assert.deepEqual(sb.nextSeg(UNA, nxt, at(450), MSS), { seq: at(450), len: 50, kind: 'rule4' });
  assert.equal(sb.nextSeg(UNA, nxt, nxt, MSS), undefined);
  // pipe without loss: all unSACKed bytes count.
  assert.equal(sb.pipe(UNA, nxt, UNA, MSS), 450);
});

test('snapshot/restore round-trips and clear empties', () => {
  const sb = new SackScoreboard(8);
  sb.update(UNA, [blk(100, 200), blk(300, 400)]);
  const r = SackScoreboard.restore(structuredClone(sb.snapshot()));
  assert.deepEqual(r.snapshot(), sb.snapshot());
  assert.equal(r.sackedBytes(), 200);
  r.clear();
  assert.equal(r.sackedBytes(), 0);
  assert.deepEqual(r.blocks(), []);
});

/** Brute-force RFC 6675 definitions over a per-byte model of offsets [0, flight). */
function model(sacked: boolean[], mss: number, dupThresh: number) {
  const flight = sacked.length;
  const runsAbove = (o: number): [number, number] => {
    let count = 0;
    let bytes = 0;
    for (let k = o + 1; k < flight; k++) {
      if (sacked[k]) { bytes++; if (!sacked[k - 1] || k - 1 === o) count++; }
    }
    return [count, bytes];
  };
  const isLost = (o: number): boolean => {
    if (sacked[o]) return false;
    const [c, b] = runsAbove(o);
    return c >= dupThresh || b > (dupThresh - 1) * mss;
  };
  return { isLost, flight };
}

test('property: scoreboard agrees with a per-byte model of RFC 6675 (IsLost, SetPipe, NextSeg), across 2^32', () => {
  fc.assert(fc.property(
    fc.integer({ min: 0xffffff00 - 2000, max: 0xffffffff }),
    fc.integer({ min: 1, max: 1500 }),
    fc.array(fc.array(fc.tuple(fc.nat(1600), fc.integer({ min: 1, max: 300 })), { maxLength: 4 }), { maxLength: 12 }),
    fc.oneof(fc.integer({ min: 1, max: 30 }), fc.integer({ min: 1, max: 200 })),
    fc.integer({ min: 1, max: 4 }),
    fc.nat(1600),
    fc.nat(1600),
    (una0, flight, acks, mss, dupThresh, ackAdvance, rxtOff) => {
      const sb = new SackScoreboard(1000);
      const nxt = seqAdd(una0, flight);
      const sacked = new Array<boolean>(flight).fill(false);
      for (const blocks of acks) {
        const bs = blocks.map(([o, l]) => ({ left: seqAdd(una0, o), right: seqAdd(una0, o + l) }));
        let fresh = 0;
        for (const [o, l] of blocks) {
          if (o + l > flight) continue; // beyond SND.NXT: must be ignored
          for (let k = o; k < o + l; k++) if (!sacked[k]) { sacked[k] = true; fresh++; }
        }
        assert.equal(sb.update(una0, bs, nxt), fresh);
      }
      // Optionally advance SND.UNA.
      const adv = Math.min(ackAdvance % (flight + 1), flight);
      const una = seqAdd(una0, adv);
      sb.update(una, [], nxt);
      const view = sacked.slice(adv);
      const m = model(view, mss, dupThresh);
      assert.equal(sb.sackedBytes(), view.filter(Boolean).length);
      const highRxt = seqAdd(una, Math.min(rxtOff, m.flight));
      const rxt = Math.min(rxtOff, m.flight);
      let pipe = 0;
      for (let o = 0; o < m.flight; o++) {
        assert.equal(sb.isSacked(seqAdd(una, o)), view[o]);
        assert.equal(sb.isLost(seqAdd(una, o), mss, dupThresh), m.isLost(o), `IsLost(${o})`);
        if (view[o]) continue;
        if (!m.isLost(o)) pipe++;
        if (o < rxt) pipe++;
      }
      assert.equal(sb.pipe(una, nxt, highRxt, mss, dupThresh), pipe);
      // NextSeg: first unSACKed offset >= rxt; rule by the model.
      const got = sb.nextSeg(una, nxt, highRxt, mss, dupThresh);
      let s = rxt;
      while (s < m.flight && view[s]) s++;
      if (s >= m.flight) { assert.equal(got, undefined); return; }
      let e = s;
      while (e < m.flight && !view[e] && e - s < mss) e++;
      let top = -1;
      for (let o = 0; o < m.flight; o++) if (view[o]) top = o;
      const kind = s < top ? (m.isLost(s) ? 'rule1' : 'rule3') : 'rule4';
      assert.deepEqual(got, { seq: seqAdd(una, s), len: e - s, kind });
    }), fcParams('src/tcp/sack-scoreboard.test.ts', 500));
});

test('SetPipe/NextSeg at the IsLost byte threshold: exactly (DupThresh-1)*SMSS above is not yet loss', () => {
  const sb = new SackScoreboard();
  sb.update(UNA, [blk(100, 300)]);
  assert.equal(sb.pipe(UNA, at(300), UNA, MSS), 100);
  assert.equal(sb.nextSeg(UNA, at(300), UNA, MSS)?.kind, 'rule3');
  sb.update(UNA, [blk(300, 301)]);
  assert.equal(sb.pipe(UNA, at(301), UNA, MSS), 0);
  assert.equal(sb.nextSeg(UNA, at(301), UNA, MSS)?.kind, 'rule1');
});

test('property: arbitrary (hostile) SACK blocks never throw; ranges stay bounded, sorted and counted', () => {
  fc.assert(fc.property(
    fc.nat(0xffffffff), fc.integer({ min: 1, max: 8 }),
    fc.array(fc.tuple(fc.nat(0xffffffff), fc.nat(0xffffffff), fc.integer({ min: 0, max: 100_000 })), { maxLength: 40 }),
    (una0, maxBlocks, acks) => {
      const sb = new SackScoreboard(maxBlocks);
      let una = una0 >>> 0;
      for (const [l, r, adv] of acks) {
        sb.update(una, [{ left: l, right: r }, { left: seqAdd(una, adv), right: seqAdd(una, adv + 1000) }]);
        una = seqAdd(una, adv % 3000);
        sb.update(una, []);
        const bl = sb.blocks();
        assert.ok(bl.length <= maxBlocks);
        let sum = 0;
        let prevRight: number | undefined;
        for (const b of bl) {
          const lo = (b.left - una) >>> 0;
          const hi = (b.right - una) >>> 0;
          assert.ok(lo < hi && hi < 0x8000_0000, 'above SND.UNA and non-empty');
          if (prevRight !== undefined) assert.ok(lo > prevRight, 'sorted, disjoint, non-adjacent');
          prevRight = hi;
          sum += hi - lo;
        }
        assert.equal(sb.sackedBytes(), sum);
        const p = sb.pipe(una, seqAdd(una, 200_000), una, 1460);
        assert.ok(p >= 0 && p <= 200_000);
        sb.nextSeg(una, seqAdd(una, 200_000), una, 1460);
      }
    }), fcParams('src/tcp/sack-scoreboard.test.ts'));
});
