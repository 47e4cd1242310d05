// RttEstimator: RFC 6298 arithmetic by example, clamping and backoff, and a property that
// the RTO stays in bounds and a restored estimator continues identically.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RttEstimator } from './rtt.js';
import { fcParams } from './testing/fc-seed.js';

test('before any sample the RTO is the initial RTO (RFC 6298 §2.1)', () => {
  const e = new RttEstimator();
  assert.equal(e.rtoUs(), 1_000_000);
  assert.equal(e.srttUs(), undefined);
  assert.equal(e.rttvarUs(), undefined);
});

test('first sample: SRTT = R, RTTVAR = R/2, RTO = SRTT + 4*RTTVAR (RFC 6298 §2.2)', () => {
  const e = new RttEstimator({ minRtoUs: 1_000 });
  e.sample(100_000);
  assert.equal(e.srttUs(), 100_000);
  assert.equal(e.rttvarUs(), 50_000);
  assert.equal(e.rtoUs(), 300_000);
});

test('later samples use alpha = 1/8 and beta = 1/4, RTTVAR updated with the old SRTT (§2.3)', () => {
  const e = new RttEstimator({ minRtoUs: 1_000 });
  e.sample(100_000);
  e.sample(200_000);
  // RTTVAR = 0.75*50000 + 0.25*|100000-200000| = 62500; SRTT = 0.875*100000 + 0.125*200000 = 112500
  assert.equal(e.rttvarUs(), 62_500);
  assert.equal(e.srttUs(), 112_500);
  assert.equal(e.rtoUs(), 112_500 + 4 * 62_500);
});

test('clock granularity bounds the variance term (§2.3 max(G, K*RTTVAR))', () => {
  const e = new RttEstimator({ minRtoUs: 1, clockGranularityUs: 10_000 });
  for (let i = 0; i < 200; i++) e.sample(50_000);
  assert.equal(e.srttUs(), 50_000);
  assert.equal(e.rttvarUs(), 0);
  assert.equal(e.rtoUs(), 60_000);
});

test('minimum and maximum RTO clamp the computed value (§2.4, §2.5)', () => {
  const e = new RttEstimator({ minRtoUs: 200_000, maxRtoUs: 2_000_000 });
  e.sample(1_000);
  assert.equal(e.rtoUs(), 200_000);
  const f = new RttEstimator({ minRtoUs: 200_000, maxRtoUs: 2_000_000 });
  f.sample(5_000_000);
  assert.equal(f.rtoUs(), 2_000_000);
});

test('backoff doubles the RTO and is capped; a new sample or resetBackoff ends it (§5.5, §5.7)', () => {
  const e = new RttEstimator({ minRtoUs: 200_000, maxRtoUs: 60_000_000 });
  e.sample(50_000); // RTO = 50000 + 100000 -> clamped to 200000
  assert.equal(e.rtoUs(), 200_000);
  e.backoff();
  assert.equal(e.rtoUs(), 400_000);
  assert.equal(e.backoffCount(), 1);
  for (let i = 0; i < 100; i++) e.backoff();
  assert.equal(e.rtoUs(), 60_000_000);
  assert.ok(e.backoffCount() <= 40);
  e.resetBackoff();
  assert.equal(e.rtoUs(), 200_000);
  e.backoff();
  e.sample(50_000);
  assert.equal(e.backoffCount(), 0);
});

test('garbage samples do not poison the estimator', () => {
  const e = new RttEstimator();
  e.sample(Number.NaN);
  e.sample(Number.POSITIVE_INFINITY);
  assert.equal(e.srttUs(), undefined);
  e.sample(-5);
  assert.equal(e.srttUs(), 0);
  assert.ok(Number.isFinite(e.rtoUs()));
});

test('invalid options are rejected', () => {
  assert.throws(() => new RttEstimator({ minRtoUs: 10, maxRtoUs: 5 }), RangeError);
});

test('property: RTO always within [minRto, maxRto]; snapshot/restore continues identically', () => {
  fc.assert(fc.property(
    fc.integer({ min: 1, max: 1_000_000 }),
    fc.integer({ min: 0, max: 10_000_000 }),
    fc.array(fc.oneof(
      fc.record({ op: fc.constant('sample' as const), v: fc.integer({ min: 0, max: 100_000_000 }) }),
      fc.record({ op: fc.constant('backoff' as const), v: fc.constant(0) }),
      fc.record({ op: fc.constant('reset' as const), v: fc.constant(0) }),
    ), { maxLength: 80 }),
    fc.nat(80),
    (minRto, extra, ops, cut) => {
      const maxRto = minRto + extra;
      const e = new RttEstimator({ minRtoUs: minRto, maxRtoUs: maxRto });
      let restored: RttEstimator | undefined;
      for (let i = 0; i < ops.length; i++) {
        if (i === cut) restored = RttEstimator.restore(structuredClone(e.snapshot()));
        const { op, v } = ops[i]!;
        for (const x of restored ? [e, restored] : [e]) {
          if (op === 'sample') x.sample(v); else if (op === 'backoff') x.backoff(); else x.resetBackoff();
        }
        const rto = e.rtoUs();
        assert.ok(rto >= minRto && rto <= maxRto, `rto ${rto} outside [${minRto}, ${maxRto}]`);
        assert.ok(Number.isInteger(rto));
        if (restored) assert.deepEqual(restored.snapshot(), e.snapshot());
      }
    }), fcParams('src/tcp/rtt.test.ts'));
});
