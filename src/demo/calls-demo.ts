// `unbroken demo calls`: the call controller crashes in the middle of a call mix in the
// seeded simulator (gateways, controllers and RTP on a virtual UDP network); the gateways
// fail over to the alternate controller, which rebuilds every stable call from what the
// gateways kept. Prints what happened and a summary, or one JSON object.
import { CallSim, type SimOptions } from '../calls/sim/call-sim.js';

export interface CallsDemoOptions { seed: number; json: boolean }

const ms = (us: number | undefined): string => (us === undefined ? '—' : `${(us / 1000).toFixed(1)} ms`);

export function callsDemoOptions(seed: number): SimOptions {
  return {
    seed, gateways: 4, linesPerGateway: 12, calls: 14, crashAtUs: 5_000_000,
    durationUs: 16_000_000, rtp: true, controllerTimeoutUs: 300_000, keepaliveUs: 100_000,
  };
}

/** Runs the demo; returns the exit code (non-zero when a stable call was lost or an invariant broke). */
export function runCallsDemo(o: CallsDemoOptions, write: (line: string) => void): number {
  const opt = callsDemoOptions(o.seed);
  if (!o.json) {
    write(`unbroken demo calls — seed ${o.seed}: an H.248 call controller crashes mid-call; the calls go on`);
    write(`  ${opt.gateways} media gateways × ${opt.linesPerGateway} lines, ${opt.calls} calls (some held, transferred, in conference), two controllers; the primary is killed at ${ms(opt.crashAtUs)}`);
    write('');
  }
  const rep = new CallSim(opt).scenario();
  const crash = opt.crashAtUs!;
  const lost = rep.stableAtCrash.filter((c) => !rep.preserved.includes(c));
  const ok = rep.violations.length === 0 && lost.length === 0;
  if (o.json) {
    write(JSON.stringify({
      technique: 'calls', seed: o.seed, ok, callsPlaced: rep.callsPlaced, stableAtCrash: rep.stableAtCrash.length,
      preserved: rep.preserved.length, lost: lost.length, releasedAtFailover: rep.releasedAtFailover,
      detectionUs: rep.detectionUs, controllableAgainUs: rep.controllableAgainUs, largestRtpGapUs: rep.largestRtpGapUs,
      featuresAfterFailover: rep.featuresAfterFailover, cdrs: rep.cdrs, violations: rep.violations,
      replay: `npx unbroken demo calls --seed ${o.seed} --json`,
    }));
    return ok ? 0 : 1;
  }
  write(`  [${ms(crash).padStart(11)}] the primary controller crashes with ${rep.stableAtCrash.length} calls stable (of ${rep.callsPlaced} the mix places)`);
  if (rep.detectionUs !== undefined) write(`  [${ms(crash + rep.detectionUs).padStart(11)}] gateways notice the silence and register with the alternate (ServiceChange Method=Failover)`);
  if (rep.controllableAgainUs !== undefined) write(`  [${ms(crash + rep.controllableAgainUs).padStart(11)}] the alternate has rebuilt every stable call from the gateways' records and audits`);
  write(`  ${rep.featuresAfterFailover} hold/transfer/conference/hang-up actions succeed on preserved calls afterwards`);
  write('');
  const rows: Array<[string, string, boolean | undefined]> = [
    ['stable calls preserved', `${rep.preserved.length} of ${rep.stableAtCrash.length}`, lost.length === 0],
    ['half set-up calls released with a CDR', String(rep.releasedAtFailover), undefined],
    ['failover detected after', ms(rep.detectionUs), rep.detectionUs !== undefined && rep.detectionUs < 1_000_000],
    ['all calls controllable again after', ms(rep.controllableAgainUs), undefined],
    ['largest RTP gap in a call', ms(rep.largestRtpGapUs), undefined],
    ['CDRs written (one per call)', String(rep.cdrs), undefined],
    ['invariant violations', String(rep.violations.length), rep.violations.length === 0],
  ];
  for (const [name, value, good] of rows) write(`  ${good === false ? '✗' : good === true ? '✓' : ' '} ${name.padEnd(38)} ${value}`);
  for (const v of rep.violations.slice(0, 10)) write(`    violation: ${v}`);
  write('');
  write(`  ${ok ? 'promise kept' : 'PROMISE BROKEN'} — replay: npx unbroken demo calls --seed ${o.seed}`);
  return ok ? 0 : 1;
}
