// Seeded simulations of controllers, gateways and phones: crash, failback, partition,
// flapping and the no-crash feature mix. Replay: SIM_SEED=N; soak: SIM_SEEDS=N.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CallSim } from './call-sim.js';
import type { SimOptions } from './call-sim.js';
import { SeededRng } from '../../util/rng.js';

const base = (seed: number): SimOptions => {
  const r = new SeededRng(seed ^ 0x5eed);
  return {
    seed, gateways: 4, linesPerGateway: 12, calls: 14, crashAtUs: 1_500_000 + r.nextInt(7_000_000),
    durationUs: 16_000_000, rtp: true, controllerTimeoutUs: 300_000, keepaliveUs: 100_000,
  };
};

/** Seeds to run: SIM_SEED replays one; SIM_SEEDS=N soaks; otherwise `dflt` fresh ones (printed). */
function seeds(dflt = 3): number[] {
  if (process.env.SIM_SEED) return [Number(process.env.SIM_SEED)];
  const n = Number(process.env.SIM_SEEDS ?? dflt);
  const first = Number(process.env.SIM_FIRST_SEED ?? (Date.now() % 100_000));
  return Array.from({ length: n }, (_, i) => first + i);
}

function runOne(opt: SimOptions): ReturnType<CallSim['scenario']> {
  const rep = new CallSim(opt).scenario();
  console.log(`seed ${opt.seed}: crash ${opt.crashAtUs}us placed ${rep.callsPlaced} stable@crash ${rep.stableAtCrash.length} preserved ${rep.preserved.length} released ${rep.releasedAtFailover} detect ${rep.detectionUs}us controllable ${rep.controllableAgainUs}us rtpGap ${rep.largestRtpGapUs}us features-after ${rep.featuresAfterFailover} cdrs ${rep.cdrs}`);
  if (rep.violations.length > 0) {
    console.log(`FAILED seed ${opt.seed} — replay: SIM_SEED=${opt.seed} npm test -- src/calls/sim/`);
    for (const v of rep.violations.slice(0, 20)) console.log(`  ${v}`);
  }
  assert.deepEqual(rep.violations, [], `seed ${opt.seed}: replay with SIM_SEED=${opt.seed} npm test -- src/calls/sim/`);
  assert.ok(rep.detectionUs !== undefined && rep.detectionUs < 1_000_000, `detection ${rep.detectionUs}`);
  return rep;
}

test('calls sim: controller crash at a random moment of a call mix preserves every stable call', () => {
  let featuresAfter = 0, preserved = 0;
  for (const s of seeds()) { const r = runOne(base(s)); featuresAfter += r.featuresAfterFailover; preserved += r.preserved.length; }
  // Hold, transfer and conference were exercised on preserved calls (not just hang-up).
  if (seeds().length > 1) { assert.ok(preserved > 0); assert.ok(featuresAfter > 0); }
});

test('calls sim: the restarted primary stays passive, then takes every gateway back on command without dropping a call', () => {
  for (const s of seeds(1)) {
    const opt: SimOptions = { ...base(s), rtp: false, crashAtUs: 3_000_000, restartPrimaryAtUs: 4_500_000, failbackAtUs: 6_000_000 };
    const rep = new CallSim(opt).scenario();
    console.log(`seed ${s} failback: stable@crash ${rep.stableAtCrash.length} preserved ${rep.preserved.length} stable@failback ${rep.stableAtFailback.length} cdrs ${rep.cdrs}`);
    if (rep.violations.length) console.log(`FAILED seed ${s} — replay: SIM_SEED=${s} npm test -- src/calls/sim/\n  ${rep.violations.slice(0, 20).join('\n  ')}`);
    assert.deepEqual(rep.violations, []);
    assert.ok(rep.stableAtFailback.length > 0);
  }
});

test('calls sim: a primary cut off from its gateways and healed controls nothing and bills nothing', () => {
  for (const s of seeds(1)) {
    const opt: SimOptions = { ...base(s), rtp: false, crashAtUs: 3_500_000, healPrimaryAtUs: 5_500_000 };
    const rep = new CallSim(opt).scenario();
    console.log(`seed ${s} partition: stable@cut ${rep.stableAtCrash.length} preserved ${rep.preserved.length} cdrs ${rep.cdrs}`);
    if (rep.violations.length) console.log(`FAILED seed ${s} — replay: SIM_SEED=${s} npm test -- src/calls/sim/\n  ${rep.violations.slice(0, 20).join('\n  ')}`);
    assert.deepEqual(rep.violations, []);
  }
});

test('calls sim: without a crash every call of the mix ends with the billing its script implies', () => {
  for (const s of seeds(1)) {
    const sim = new CallSim({ ...base(s), crashAtUs: undefined });
    const rep = sim.scenario();
    if (rep.violations.length) console.log(`FAILED seed ${s} — replay: SIM_SEED=${s} npm test -- src/calls/sim/\n  ${rep.violations.slice(0, 20).join('\n  ')}`);
    assert.deepEqual(rep.violations, []);
    assert.equal(rep.cdrs, rep.callsPlaced, 'one CDR per placed call');
    for (const p of sim.planned) {
      const cdr = sim.cdrs.find((c) => c.caller === p.x.num);
      assert.ok(cdr, `CDR for ${p.kind} call from ${p.x.num}`);
      const why = `${p.kind} ${JSON.stringify(cdr)} (replay: SIM_SEED=${s})`;
      switch (p.kind) {
        case 'no-answer':
          // The controller gives up after 4 s of ringing, unless the scripted caller hung up first.
          assert.equal(cdr.releaseReason, cdr.endUs - cdr.startUs >= 4_000_000 ? 'no-answer' : 'caller-abandoned', why);
          assert.equal(cdr.answerUs, null, why);
          break;
        case 'abandon': assert.equal(cdr.releaseReason, 'caller-abandoned', why); break;
        case 'basic': assert.equal(cdr.releaseReason, 'normal', why); assert.equal(cdr.features, '', why); break;
        case 'hold': assert.equal(cdr.features, 'hold', why); break;
        case 'blind': case 'attended':
          assert.equal(cdr.features, 'hold,transfer', why);
          assert.equal(cdr.connectedTo, `${p.y.num}+${p.z.num}`, why);
          break;
        case 'conference': assert.equal(cdr.features, 'conference,hold', why); break;
      }
      if (p.kind !== 'no-answer' && p.kind !== 'abandon') assert.ok(cdr.answerUs !== null, why);
    }
    assert.ok(rep.largestRtpGapUs > 0 && rep.largestRtpGapUs < 25_000, `RTP gap ${rep.largestRtpGapUs}`);
  }
});

test('calls sim: a gateway that loses the alternate for a moment and comes back (Disconnected) keeps its calls', () => {
  for (const s of seeds(1)) {
    const opt: SimOptions = { ...base(s), rtp: false, crashAtUs: 3_000_000, flapAtUs: 4_500_000, flapUs: 800_000 };
    const rep = new CallSim(opt).scenario();
    console.log(`seed ${s} flap: stable@crash ${rep.stableAtCrash.length} preserved ${rep.preserved.length} cdrs ${rep.cdrs}`);
    if (rep.violations.length) console.log(`FAILED seed ${s} — replay: SIM_SEED=${s} npm test -- src/calls/sim/\n  ${rep.violations.slice(0, 20).join('\n  ')}`);
    assert.deepEqual(rep.violations, []);
  }
});

test('calls sim: a gateway that gives up on the busy alternate during its rebuild and registers again keeps its calls, each billed once', () => {
  // The alternate's messages to mg2 leave late from mg2's registration on: mg2 hears nothing
  // for its silence bound, fails over (to the dead primary), comes back with Disconnected
  // while the alternate is still rebuilding, and meanwhile the alternate's audit, normalising
  // Modify commands and keepalives reach it late, go unanswered or are refused.
  // 400 ms: mg2 is back before the alternate's transactions give up; 900 ms: after.
  for (const s of seeds(2)) {
    for (const stallUs of [400_000, 900_000]) {
      const opt: SimOptions = { ...base(s), rtp: false, crashAtUs: 3_000_000 + new SeededRng(s).nextInt(2_000_000), stallOnRebuildUs: stallUs };
      const rep = new CallSim(opt).scenario();
      console.log(`seed ${s} stall ${stallUs}us: stable@crash ${rep.stableAtCrash.length} preserved ${rep.preserved.length} cdrs ${rep.cdrs}`);
      if (rep.violations.length) console.log(`FAILED seed ${s} stall ${stallUs} — replay: SIM_SEED=${s} npm test -- src/calls/sim/\n  ${rep.violations.slice(0, 20).join('\n  ')}`);
      assert.deepEqual(rep.violations, [], `seed ${s} stall ${stallUs}: replay with SIM_SEED=${s} npm test -- src/calls/sim/`);
    }
  }
});
