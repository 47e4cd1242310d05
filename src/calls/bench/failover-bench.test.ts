// The calls-failover bench world at a small size, deterministic (no CPU charged to
// virtual time): both designs preserve every stable call, the features and billing
// work after the failover, and each design pays where it should (records on the
// gateways, or replication datagrams). 100 lines per gateway, so the alternate audits
// in pages. Figures come from `npx unbroken bench calls-failover`, not from here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FailoverBench } from './failover-bench.js';
import type { FailoverDesign } from './failover-bench.js';

function run(design: FailoverDesign): ReturnType<FailoverBench['scenario']> {
  const seed = Number(process.env.SIM_SEED ?? 11);
  const r = new FailoverBench({ seed, design, gateways: 4, calls: 200, offeredPerS: 2_000, chargeCpu: false, keepaliveUs: 100_000, controllerTimeoutUs: 300_000, holdEvery: 10 }).scenario();
  if (r.violations.length) console.log(`FAILED ${design} seed ${seed} — replay: SIM_SEED=${seed} npm test -- src/calls/bench/\n  ${r.violations.join('\n  ')}`);
  return r;
}

test('calls bench world: the call-preserving design rebuilds 200 calls from records and paged audits', () => {
  const r = run('records');
  assert.deepEqual(r.violations, []);
  assert.equal(r.stableAtCrash, 200);
  assert.equal(r.preserved, 200);
  assert.ok(r.detectionMaxUs < 1_000_000, `detection ${r.detectionMaxUs}`);
  assert.ok(r.controllableUs !== undefined && r.controllableUs < 1_500_000, `controllable ${r.controllableUs}`);
  assert.equal(r.holdsAfterFailover, 20);
  assert.equal(r.cdrsByAlternateWithOriginalStart, 200);
  assert.ok(r.recordBytesPerCall > 0);
  assert.equal(r.replMsgsPerCall, 0);
  // Paged: no audit reply near the 64 KB a datagram (or a TPKT frame) can carry.
  assert.ok(r.largestMessageBytes < 32_000, `largest ${r.largestMessageBytes}`);
});

test('calls bench world: the replication baseline adopts its copies and costs datagrams per change', () => {
  const r = run('replication');
  assert.deepEqual(r.violations, []);
  assert.equal(r.preserved, 200);
  assert.equal(r.holdsAfterFailover, 20);
  assert.equal(r.cdrsByAlternateWithOriginalStart, 200);
  assert.equal(r.recordBytesPerCall, 0);
  // Created, ringing, answered (+ the hold/retrieve and end of some): at least 3 changes, each acked.
  assert.ok(r.replMsgsPerCall >= 6, `replication messages per call ${r.replMsgsPerCall}`);
});
