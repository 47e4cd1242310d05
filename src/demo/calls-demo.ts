// `unbroken demo calls`: the call controller crashes in the middle of a call mix in the
// seeded simulator (gateways, controllers and RTP on a virtual UDP network); the gateways
// fail over to the alternate controller, which rebuilds every stable call from what the
// gateways kept. Prints what happened and a summary, or one JSON object.
import { CallSim, type SimOptions } from '../calls/sim/call-sim.js';
import { writeReportFiles } from '../report/write.js';
import type { ReportEvent } from '../report/model.js';
import { RtpArrivals, callsReport } from './calls-report.js';

export interface CallsDemoOptions {
  seed: number;
  json: boolean;
  /** Directory for calls-report.html and its JSON (undefined: write nothing). */
  outDir?: string;
}

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
  const arrivals = new RtpArrivals();
  let sim: CallSim | undefined;
  sim = new CallSim(o.outDir === undefined ? opt : { ...opt, onRtp: (g, port, t) => { const gw = sim?.gws[g - 1]; if (gw) arrivals.record(gw, port, t); } });
  const rep = sim.scenario();
  const crash = opt.crashAtUs!;
  const lost = rep.stableAtCrash.filter((c) => !rep.preserved.includes(c));
  const ok = rep.violations.length === 0 && lost.length === 0;
  const rows: Array<[string, string, boolean | undefined]> = [
    ['stable calls preserved', `${rep.preserved.length} of ${rep.stableAtCrash.length}`, lost.length === 0],
    ['half set-up calls released with a CDR', String(rep.releasedAtFailover), undefined],
    ['failover detected after', ms(rep.detectionUs), rep.detectionUs !== undefined && rep.detectionUs < 1_000_000],
    ['all calls controllable again after', ms(rep.controllableAgainUs), undefined],
    ['largest RTP gap in a call', ms(rep.largestRtpGapUs), undefined],
    ['CDRs written (one per call)', String(rep.cdrs), undefined],
    ['invariant violations', String(rep.violations.length), rep.violations.length === 0],
  ];
  let reportPath: string | undefined;
  if (o.outDir !== undefined) {
    const events: ReportEvent[] = [{ tUs: crash, kind: 'crash', text: `the primary controller crashes with ${rep.stableAtCrash.length} calls stable` }];
    if (rep.detectionUs !== undefined) events.push({ tUs: crash + rep.detectionUs, kind: 'detected', text: 'gateways notice the silence and register with the alternate (ServiceChange Method=Failover)' });
    if (rep.controllableAgainUs !== undefined) events.push({ tUs: crash + rep.controllableAgainUs, kind: 'takeover', text: "the alternate has rebuilt every stable call from the gateways' records and audits" });
    reportPath = writeReportFiles(o.outDir, callsReport({
      seed: o.seed, replayCommand: `npx unbroken demo calls --seed ${o.seed}`, arrivals, crashUs: crash,
      detectionUs: rep.detectionUs, controllableAgainUs: rep.controllableAgainUs, stableAtCrash: rep.stableAtCrash, preserved: rep.preserved,
      violations: rep.violations, events,
      summary: rows.map(([name, value, good]) => ({ name, value, ...(good !== undefined ? { ok: good } : {}) })),
    }), 'calls-report').html;
  }
  if (o.json) {
    write(JSON.stringify({
      technique: 'calls', seed: o.seed, ok, callsPlaced: rep.callsPlaced, stableAtCrash: rep.stableAtCrash.length,
      preserved: rep.preserved.length, lost: lost.length, releasedAtFailover: rep.releasedAtFailover,
      detectionUs: rep.detectionUs, controllableAgainUs: rep.controllableAgainUs, largestRtpGapUs: rep.largestRtpGapUs,
      featuresAfterFailover: rep.featuresAfterFailover, cdrs: rep.cdrs, violations: rep.violations,
      replay: `npx unbroken demo calls --seed ${o.seed} --json`, ...(reportPath !== undefined ? { report: reportPath } : {}),
    }));
    return ok ? 0 : 1;
  }
  write(`  [${ms(crash).padStart(11)}] the primary controller crashes with ${rep.stableAtCrash.length} calls stable (of ${rep.callsPlaced} the mix places)`);
  if (rep.detectionUs !== undefined) write(`  [${ms(crash + rep.detectionUs).padStart(11)}] gateways notice the silence and register with the alternate (ServiceChange Method=Failover)`);
  if (rep.controllableAgainUs !== undefined) write(`  [${ms(crash + rep.controllableAgainUs).padStart(11)}] the alternate has rebuilt every stable call from the gateways' records and audits`);
  write(`  ${rep.featuresAfterFailover} hold/transfer/conference/hang-up actions succeed on preserved calls afterwards`);
  write('');
  for (const [name, value, good] of rows) write(`  ${good === false ? '✗' : good === true ? '✓' : ' '} ${name.padEnd(38)} ${value}`);
  for (const v of rep.violations.slice(0, 10)) write(`    violation: ${v}`);
  write('');
  if (reportPath !== undefined) write(`  report: ${reportPath}`);
  write(`  ${ok ? 'promise kept' : 'PROMISE BROKEN'} — replay: npx unbroken demo calls --seed ${o.seed}`);
  return ok ? 0 : 1;
}
