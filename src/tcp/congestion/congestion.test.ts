// NewReno and CUBIC: RFC 5681/6582/6928/3465 window rules, RFC 9438 curve, Reno-friendly region
// and fast convergence, and a property over random event sequences with snapshot/restore.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { congestionByName, CONGESTION_NAMES } from './index.js';
import { NewReno, CWND_MAX_BYTES, initialWindowBytes } from './newreno.js';
import { Cubic } from './cubic.js';
import type { CongestionControl } from './congestion-control.js';
import { fcParams } from '../testing/fc-seed.js';

const MSS = 1000;

test('RFC 6928 initial window: min(10*MSS, max(2*MSS, 14600)), or a fixed segment count', () => {
  assert.equal(initialWindowBytes({ mss: 1460 }), 14_600);
  assert.equal(initialWindowBytes({ mss: 536 }), 5_360);
  assert.equal(initialWindowBytes({ mss: 9000 }), 18_000);
  assert.equal(initialWindowBytes({ mss: 1460, initialWindowSegments: 4 }), 5_840);
  assert.equal(new NewReno({ mss: 1460 }).window(), 14_600);
  assert.equal(new Cubic({ mss: 1460 }).window(), 14_600);
});

test('bad parameters are rejected', () => {
  assert.throws(() => new NewReno({ mss: 0 }), RangeError);
  assert.throws(() => new Cubic({ mss: 1.5 }), RangeError);
});

test('NewReno slow start grows by min(acked, 2*SMSS) per ACK (RFC 3465 L=2)', () => {
  const c = new NewReno({ mss: MSS, initialWindowSegments: 2 });
  c.onAck(MSS, 2 * MSS, 0, undefined);
  assert.equal(c.window(), 3 * MSS);
  c.onAck(5 * MSS, 3 * MSS, 0, undefined); // stretch ACK: capped at 2 SMSS
  assert.equal(c.window(), 5 * MSS);
  c.onAck(0, 5 * MSS, 0, undefined);
  assert.equal(c.window(), 5 * MSS);
});

test('no growth while the application leaves most of the window unused (RFC 7661)', () => {
  const c = new NewReno({ mss: MSS, initialWindowSegments: 10 });
  c.onAck(MSS, 3 * MSS, 0, undefined);
  assert.equal(c.window(), 10 * MSS);
  c.onAck(MSS, 5 * MSS, 0, undefined);
  assert.equal(c.window(), 11 * MSS);
});

test('NewReno congestion avoidance: +1 SMSS per cwnd of acknowledged bytes (RFC 5681 §3.1, RFC 3465 §2.1)', () => {
  const c = new NewReno({ mss: MSS, initialWindowSegments: 10 });
  c.onCongestionEvent(20 * MSS, 0); // ssthresh = cwnd = 10 MSS
  assert.equal(c.ssthresh(), 10 * MSS);
  assert.equal(c.window(), 10 * MSS);
  for (let i = 0; i < 9; i++) c.onAck(MSS, 10 * MSS, 0, undefined);
  assert.equal(c.window(), 10 * MSS);
  c.onAck(MSS, 10 * MSS, 0, undefined);
  assert.equal(c.window(), 11 * MSS);
});

test('NewReno loss recovery window rules (RFC 5681 eq. 4, RFC 6582 §3.2)', () => {
  const c = new NewReno({ mss: MSS });
  c.onCongestionEvent(MSS, 0);
  assert.equal(c.ssthresh(), 2 * MSS); // floor of 2*SMSS
  c.onCongestionEvent(30 * MSS, 0);
  assert.equal(c.ssthresh(), 15 * MSS);
  c.onPartialAck(4 * MSS);
  assert.equal(c.window(), 15 * MSS);
  c.onRecoveryExit(3 * MSS); // little in flight: min(ssthresh, max(flight, SMSS) + SMSS)
  assert.equal(c.window(), 4 * MSS);
  c.onCongestionEvent(30 * MSS, 0);
  c.onRecoveryExit(40 * MSS);
  assert.equal(c.window(), 15 * MSS);
});

test('RTO: ssthresh halves the flight, cwnd = 1 SMSS; idle restart caps at IW (RFC 5681 §3.1, §4.1)', () => {
  for (const name of CONGESTION_NAMES) {
    const c = congestionByName(name)({ mss: MSS });
    c.onRto(40 * MSS);
    assert.equal(c.window(), MSS, name);
    assert.ok(c.ssthresh() >= 2 * MSS);
    const d = congestionByName(name)({ mss: MSS, initialWindowSegments: 4 });
    for (let i = 0; i < 20; i++) d.onAck(MSS, d.window(), i * 1000, 10_000);
    assert.ok(d.window() > 4 * MSS);
    d.onIdleRestart();
    assert.equal(d.window(), 4 * MSS, name);
  }
});

test('congestionByName maps names and rejects unknown ones', () => {
  assert.equal(congestionByName('newreno')({ mss: MSS }).name, 'newreno');
  assert.equal(congestionByName('cubic')({ mss: MSS }).name, 'cubic');
  assert.equal(congestionByName('bbr'), undefined);
  assert.equal(congestionByName('toString'), undefined);
});

/** Drive `c` for `seconds` of ACK-clocked bulk transfer at a fixed RTT, one ACK per segment. */
function runCa(c: CongestionControl, startUs: number, seconds: number, rttUs: number): number {
  let now = startUs;
  const end = startUs + seconds * 1e6;
  while (now < end) {
    const w = c.window();
    const segs = Math.max(1, Math.floor(w / MSS));
    for (let i = 0; i < segs; i++) c.onAck(MSS, w, now + (i * rttUs) / segs, rttUs);
    now += rttUs;
  }
  return now;
}

test('CUBIC: beta = 0.7 decrease; concave return to W_max at about K seconds, then convex (RFC 9438 §4.2, §4.6)', () => {
  // Large window, long RTT: the cubic region (Reno would grow only ~0.53 segment per RTT here).
  const c = new Cubic({ mss: MSS, initialWindowSegments: 1000 });
  c.onCongestionEvent(1000 * MSS, 0);
  assert.equal(c.ssthresh(), 700 * MSS);
  assert.equal(c.window(), 700 * MSS);
  const k = Math.cbrt((1000 - 700) / 0.4); // ~9.09 s
  let now = runCa(c, 0, 2, 100_000);
  const early = c.window() / MSS; // W_cubic(2.1 s) ~ 863
  assert.ok(early > 820 && early < 900, `cwnd ${early} segments at 2 s`);
  now = runCa(c, now, k - 2, 100_000);
  const atK = c.window() / MSS;
  assert.ok(atK >= 990 && atK <= 1010, `cwnd ${atK} segments at K`);
  runCa(c, now, 6, 100_000); // W_cubic(K + 6) ~ 1086
  const late = c.window() / MSS;
  assert.ok(late > 1050 && late < 1120, `cwnd ${late} segments at K+6 s`);
});

test('CUBIC fast convergence: a loss below W_max lowers W_max to cwnd*(1+beta)/2 (RFC 9438 §4.7)', () => {
  const on = new Cubic({ mss: MSS, initialWindowSegments: 100 });
  on.onCongestionEvent(100 * MSS, 0); // W_max 100, cwnd 70
  on.onCongestionEvent(70 * MSS, 1);  // 70 < 100: W_max = 70 * 0.85
  assert.ok(Math.abs(on.snapshot().extra['wMax']! - 59.5) < 1e-9);
  const off = new Cubic({ mss: MSS, initialWindowSegments: 100 }, { fastConvergence: false });
  off.onCongestionEvent(100 * MSS, 0);
  off.onCongestionEvent(70 * MSS, 1);
  assert.equal(off.snapshot().extra['wMax'], 70);
});

test('CUBIC Reno-friendly region: at short RTT the window follows W_est, not W_cubic (RFC 9438 §4.3)', () => {
  const c = new Cubic({ mss: MSS, initialWindowSegments: 10 });
  c.onCongestionEvent(10 * MSS, 0); // cwnd 7, W_max 10, K ~ 1.96 s
  runCa(c, 0, 0.1, 1_000); // 100 RTTs of 1 ms
  // W_cubic(0.1 s) is ~7.4 segments; Reno would be at 7 + ~(0.53*3 + 1*97) segments.
  assert.ok(c.window() / MSS > 60, `cwnd ${c.window() / MSS} segments`);
  const r = new NewReno({ mss: MSS, initialWindowSegments: 10 });
  r.onCongestionEvent(10 * MSS, 0);
  runCa(r, 0, 0.1, 1_000);
  assert.ok(c.window() >= 0.5 * r.window() && c.window() <= 1.5 * r.window(),
    `cubic ${c.window()} vs newreno ${r.window()}`);
});

test('CUBIC: RTO reduces with beta and restarts from 1 SMSS in slow start (RFC 9438 §4.8)', () => {
  const c = new Cubic({ mss: MSS, initialWindowSegments: 50 });
  c.onRto(50 * MSS);
  assert.equal(c.window(), MSS);
  assert.equal(c.ssthresh(), 35 * MSS);
  c.onAck(MSS, MSS, 0, 10_000);
  assert.equal(c.window(), 2 * MSS);
});

type Op =
  | { k: 'ack'; acked: number; flightPct: number; dtUs: number; srttUs: number }
  | { k: 'loss'; flightPct: number } | { k: 'partial'; acked: number } | { k: 'exit'; flightPct: number }
  | { k: 'rto'; flightPct: number } | { k: 'idle' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 10, arbitrary: fc.record({ k: fc.constant('ack' as const), acked: fc.integer({ min: 0, max: 5 * MSS }), flightPct: fc.integer({ min: 0, max: 150 }), dtUs: fc.integer({ min: 0, max: 300_000 }), srttUs: fc.integer({ min: 100, max: 500_000 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('loss' as const), flightPct: fc.integer({ min: 0, max: 150 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('partial' as const), acked: fc.integer({ min: 0, max: 5 * MSS }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('exit' as const), flightPct: fc.integer({ min: 0, max: 150 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('rto' as const), flightPct: fc.integer({ min: 0, max: 150 }) }) },
  { weight: 1, arbitrary: fc.constant({ k: 'idle' as const }) },
);

test('property: cwnd within [1 SMSS, 2^30], ssthresh >= 2 SMSS; restore mid-run continues identically', () => {
  fc.assert(fc.property(
    fc.constantFrom(...CONGESTION_NAMES), fc.integer({ min: 100, max: 9000 }),
    fc.array(opArb, { maxLength: 200 }), fc.nat(200),
    (name, mss, ops, cut) => {
      const make = congestionByName(name);
      const a = make({ mss });
      let b: CongestionControl | undefined;
      let now = 0;
      for (let i = 0; i < ops.length; i++) {
        if (i === cut) { b = make({ mss }); b.restore(structuredClone(a.snapshot())); }
        const o = ops[i]!;
        for (const c of b ? [a, b] : [a]) {
          const flight = (pct: number): number => Math.floor((c.window() * pct) / 100);
          switch (o.k) {
            case 'ack': c.onAck(o.acked, flight(o.flightPct), now + o.dtUs, o.srttUs); break;
            case 'loss': c.onCongestionEvent(flight(o.flightPct), now); break;
            case 'partial': c.onPartialAck(o.acked); break;
            case 'exit': c.onRecoveryExit(flight(o.flightPct)); break;
            case 'rto': c.onRto(flight(o.flightPct)); break;
            case 'idle': c.onIdleRestart(); break;
          }
        }
        if (o.k === 'ack') now += o.dtUs;
        assert.ok(a.window() >= mss && a.window() <= CWND_MAX_BYTES, `${name} cwnd ${a.window()}`);
        assert.ok(Number.isInteger(a.window()));
        assert.ok(a.ssthresh() >= 2 * mss);
        if (b) assert.deepEqual(b.snapshot(), a.snapshot());
      }
    }), fcParams('src/tcp/congestion/congestion.test.ts'));
});
