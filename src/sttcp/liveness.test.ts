import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PeerMonitor, Lease, takeoverNotBefore, defaultLiveness, validateLiveness, type LivenessConfig } from './liveness.js';

const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
console.log(`# fast-check seed ${seed} (replay: FC_SEED=${seed} npm test -- src/sttcp/liveness.test.ts)`);
const cfg: LivenessConfig = { ...defaultLiveness };

test('defaults are valid and a bad config names the field', () => {
  assert.deepEqual(validateLiveness(cfg), []);
  assert.match(validateLiveness({ ...cfg, leaseUs: 1 }).join(), /leaseUs/);
  assert.match(validateLiveness({ ...cfg, missLimit: 0 }).join(), /missLimit/);
});

test('PeerMonitor: alive, suspect after one interval, failed after missLimit intervals', () => {
  const m = new PeerMonitor(cfg);
  assert.equal(m.status(0), 'unknown');
  m.heard(1_000);
  assert.equal(m.status(1_000 + cfg.heartbeatUs), 'alive');
  assert.equal(m.status(1_000 + cfg.heartbeatUs + 1), 'suspect');
  assert.equal(m.failureDeadline(), 1_000 + cfg.missLimit * cfg.heartbeatUs);
  assert.equal(m.status(1_000 + cfg.missLimit * cfg.heartbeatUs - 1), 'suspect');
  assert.equal(m.status(1_000 + cfg.missLimit * cfg.heartbeatUs), 'failed');
  m.latchFailed();
  assert.equal(m.status(0), 'failed');
  assert.equal(m.failureDeadline(), undefined);
});

test('PeerMonitor: an excuse for this box\'s own stall holds a failure off until it ends; a heartbeat clears it', () => {
  const m = new PeerMonitor(cfg);
  m.heard(1_000);
  const due = 1_000 + cfg.missLimit * cfg.heartbeatUs;
  m.excuseUntil(due + 5_000);
  assert.equal(m.failureDeadline(), due + 5_000);
  assert.equal(m.status(due + 4_999), 'suspect');
  assert.equal(m.status(due + 5_000), 'failed');
  m.excuseUntil(due + 1_000);                     // never shortened
  assert.equal(m.failureDeadline(), due + 5_000);
  m.heard(due + 2_000);
  assert.equal(m.failureDeadline(), due + 2_000 + cfg.missLimit * cfg.heartbeatUs);
  m.latchFailed();
  m.excuseUntil(10 ** 9);                         // a declared failure stays declared
  assert.equal(m.status(0), 'failed');
});

test('Lease: holds until echoed send time + lease, never shortened, solo always holds', () => {
  const l = new Lease(cfg);
  assert.ok(!l.holds(0));
  l.renew(100);
  assert.ok(l.holds(100 + cfg.leaseUs - 1));
  assert.ok(!l.holds(100 + cfg.leaseUs));
  l.renew(50); // a late echo of an older heartbeat does not shorten
  assert.equal(l.expiry(), 100 + cfg.leaseUs);
  l.goSolo();
  assert.ok(l.holds(10 ** 9));
  l.requireBackup(10 ** 9);
  assert.ok(!l.holds(10 ** 9 + cfg.leaseUs));
});

test('no split brain: whatever the delays, the primary stops serving before the backup starts', () => {
  // Model: the primary sends heartbeat i at time p_i; the backup receives some of them
  // after arbitrary delays, and echoes the newest in its own heartbeats, sent at times
  // b_j; the primary receives some echoes after arbitrary delays and renews its lease.
  // The backup then goes silent and takes over at takeoverNotBefore(last b_j). The
  // primary's lease must have lapsed by then (margin only covers clock-rate skew, so
  // test with no skew and margin 0: the bound must hold exactly).
  const c: LivenessConfig = { ...cfg, marginUs: 0 };
  fc.assert(fc.property(
    fc.array(fc.record({ gapUs: fc.integer({ min: 1, max: 20_000 }), delayUs: fc.integer({ min: 0, max: 200_000 }), lost: fc.boolean() }), { minLength: 1, maxLength: 50 }),
    fc.array(fc.record({ gapUs: fc.integer({ min: 1, max: 20_000 }), delayUs: fc.integer({ min: 0, max: 200_000 }), lost: fc.boolean() }), { minLength: 1, maxLength: 50 }),
    (primarySends, backupSends) => {
      // primary heartbeats: send time and arrival at backup
      let t = 0;
      const p = primarySends.map((s, i) => { t += s.gapUs; return { seq: i + 1, sentUs: t, arriveUs: s.lost ? Infinity : t + s.delayUs }; });
      // backup heartbeats: each echoes the newest primary heartbeat that has arrived by its send time
      let tb = 0;
      const lease = new Lease(c);
      let lastBackupSendUs = 0;
      const renewals: Array<{ atUs: number; echoedSentUs: number }> = [];
      for (const s of backupSends) {
        tb += s.gapUs;
        lastBackupSendUs = tb;
        const echoed = p.filter((h) => h.arriveUs <= tb).pop();
        if (echoed && !s.lost) renewals.push({ atUs: tb + s.delayUs, echoedSentUs: echoed.sentUs });
      }
      for (const r of renewals.sort((a, b) => a.atUs - b.atUs)) lease.renew(r.echoedSentUs);
      const takeoverUs = takeoverNotBefore(c, lastBackupSendUs);
      assert.ok(!lease.holds(takeoverUs), `lease ${lease.expiry()} takeover ${takeoverUs}`);
    }), { seed, numRuns: 500 });
});
