// The CRAFT demo in the simulator (for `unbroken demo craft`, to be wired into
// src/cli/commands/demo.ts): clients download through an active/standby splicer pair;
// the active splicer crashes, later a back end crashes mid-response; every download
// completes byte-exact. Prints a narrative or one JSON object; writes the client pcap.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runSpliceScenario } from './testing/scenario.js';
import { StreamRecorder } from '../demo/stream-recorder.js';
import { craftReport } from '../demo/craft-report.js';
import { writeReportFiles } from '../report/write.js';
import type { ReportEvent } from '../report/model.js';

export interface CraftDemoOptions { seed: number; json: boolean; outDir: string | undefined }

export const CRAFT_DEMO_DEFAULT_SEED = 42;

/** Runs the demo; returns the exit code (0: every download byte-exact, no RST). */
export function runCraftDemo(o: CraftDemoOptions, write: (line: string) => void): number {
  const sizes = [4_000_000, 3_000_000, 5_000_000, 2_500_000];
  const events: string[] = [];
  let backendCrashUs: number | undefined;
  // For the HTML report: what reached the client, and the events with their times.
  const streams = new StreamRecorder();
  const timed: ReportEvent[] = [];
  let respliceUs: number | undefined;
  const r = runSpliceScenario({
    seed: o.seed, backends: 2, limitUs: 300_000_000, capture: o.outDir !== undefined,
    downloads: sizes.map((n, i) => ({ startUs: 300_000 + i * 3000, request: `GET /bytes/${n} HTTP/1.1\r\nHost: www.example.test\r\n\r\n` })),
    link: { latencyUs: 100, bandwidthBps: 100_000_000, queueFrames: 1024, mtuBytes: 1500 },
    splicer: {
      healthIntervalUs: 20_000, healthTimeoutUs: 60_000,
      onEvent: (e) => {
        events.push(`${(e.tUs / 1000).toFixed(1).padStart(8)} ms  splicer: ${e.kind} ${e.text}`);
        if (e.kind !== 'spliced' || /re-spliced/.test(e.text)) timed.push({ tUs: e.tUs, kind: e.kind === 'spliced' ? 'resumed' : e.kind, text: `splicer: ${e.text}` });
        if (/re-spliced/.test(e.text) && respliceUs === undefined) respliceUs = e.tUs;
      },
    },
    pair: { crashAfterSplices: { count: sizes.length, delayUs: 50_000 } },
    onStart: (sim) => {
      sim.at(900_000, () => { backendCrashUs = sim.nowUs; sim.crash('b0'); });
      if (o.outDir !== undefined) sim.tapPort('client', 0, streams, 'rx');
    },
  });
  const ok = r.finished && r.clientRsts === 0 && r.results.every((x, i) => x.status === 200 && x.bodyOk && x.complete && x.bodyBytes === sizes[i] && x.close === 'closed');
  const b = r.nodes!.b;
  const outcome = {
    seed: o.seed, ok, splicerCrashUs: r.crashUs, takeoverUs: b.takeoverUs, backendCrashUs, clientRsts: r.clientRsts,
    downloads: r.results.map((x, i) => ({ bytes: sizes[i], received: x.bodyBytes, byteExact: x.bodyOk && x.complete, close: x.close, firstBackend: x.headers['x-backend'] })),
    standbySplicer: b.splicer.counters(),
  };
  if (o.outDir !== undefined && r.clientPcap !== undefined) {
    mkdirSync(o.outDir, { recursive: true });
    writeFileSync(join(o.outDir, 'craft-client.pcap'), r.clientPcap.bytes());
    writeFileSync(join(o.outDir, 'craft-backend0.pcap'), r.backendPcap!.bytes());
  }
  let reportPath: string | undefined;
  if (o.outDir !== undefined) {
    for (const e of r.nodeEvents) timed.push({ tUs: e.tUs, kind: e.kind, text: `${e.node}: ${e.text || e.kind}` });
    if (r.crashUs !== undefined) timed.push({ tUs: r.crashUs, kind: 'crash', text: 'splicer A crashes (all downloads spliced and streaming)' });
    if (backendCrashUs !== undefined) timed.push({ tUs: backendCrashUs, kind: 'crash', text: 'back end b0 crashes mid-response' });
    reportPath = writeReportFiles(o.outDir, craftReport({
      seed: o.seed, replayCommand: `npx unbroken demo craft --seed ${o.seed}`,
      downloads: r.results.map((x, i) => ({ connId: x.connId, expectedBytes: sizes[i]!, bodyBytes: x.bodyBytes, byteExact: x.bodyOk && x.complete, close: x.close, firstBackend: x.headers['x-backend'] })),
      streams, splicerCrashUs: r.crashUs, takeoverUs: b.takeoverUs, backendCrashUs, respliceUs, clientRsts: r.clientRsts, events: timed,
      files: [{ name: 'craft-client.pcap', description: "every frame at the client's port" }, { name: 'craft-backend0.pcap', description: 'every frame at back end b0 (it crashes at 900 ms)' }],
    }), 'craft-report').html;
  }
  if (o.json) { write(JSON.stringify({ ...outcome, ...(reportPath !== undefined ? { report: reportPath } : {}) })); return ok ? 0 : 1; }
  write(`CRAFT demo (seed ${o.seed}): ${sizes.length} downloads through splicer A (standby B), 2 back ends`);
  for (const e of r.nodeEvents) events.push(`${(e.tUs / 1000).toFixed(1).padStart(8)} ms  ${e.node}: ${e.kind} ${e.text}`);
  if (r.crashUs !== undefined) events.push(`${(r.crashUs / 1000).toFixed(1).padStart(8)} ms  splicer A crashes (all downloads spliced and streaming)`);
  if (backendCrashUs !== undefined) events.push(`${(backendCrashUs / 1000).toFixed(1).padStart(8)} ms  back end b0 crashes mid-response`);
  for (const line of events.sort()) write(line);
  r.results.forEach((x, i) => write(`download ${i}: ${x.bodyBytes}/${sizes[i]} bytes, ${x.bodyOk && x.complete ? 'byte-exact' : 'DIFFERS'}, first served by ${x.headers['x-backend']}, closed: ${x.close}`));
  write(`client saw ${r.clientRsts} RST; longest pause after the splicer crash ${r.pauseUs === undefined ? '-' : `${(r.pauseUs / 1000).toFixed(1)} ms`}`);
  if (o.outDir !== undefined) write(`pcaps: ${join(o.outDir, 'craft-client.pcap')}, ${join(o.outDir, 'craft-backend0.pcap')}`);
  if (reportPath !== undefined) write(`report: ${reportPath}`);
  write(ok ? 'OK: no client noticed either crash' : 'FAILED');
  return ok ? 0 : 1;
}
