// `unbroken demo sttcp`: the main job. In the deterministic simulator a client downloads
// and converses with an ST-TCP service; the primary host crashes mid-transfer; the backup
// detects it, takes over the connections at the same sequence numbers, and the client
// carries on. Told as a narrative in virtual time, then a summary; writes the HTML report,
// its JSON and the client-side pcap. Same seed, same output.
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { runStTcpScenario, SERVICE, CLIENT, PRIMARY, BACKUP, type ClientPlan, type StTcpScenarioResult } from '../sttcp/scenario.js';
import type { StTcpEvent } from '../sttcp/node.js';
import type { LinkConfig } from '../sim/link.js';
import type { DemoReport, ReportEvent } from '../report/model.js';
import { writeReportFiles } from '../report/write.js';

export interface StTcpDemoOptions {
  seed: number;
  json: boolean;
  /** Directory for report.html, report.json and client.pcap (undefined: write nothing). */
  outDir?: string;
  mode?: 'sync' | 'async';
}

export const STTCP_DEMO_LINK: LinkConfig = { latencyUs: 100, bandwidthBps: 100_000_000, queueFrames: 100, mtuBytes: 1500 };
export const STTCP_DEMO_CRASH_US = 400_000;

function plans(): ClientPlan[] {
  return [
    { kind: 'download', startUs: 5_000, bytes: 8_000_000 },
    { kind: 'echo', startUs: 6_000, bytes: 500_000, chunkBytes: 1000, intervalUs: 2000 },
    { kind: 'echo', startUs: 7_000, bytes: 500_000, chunkBytes: 1000, intervalUs: 2000 },
    { kind: 'echo', startUs: 8_000, bytes: 500_000, chunkBytes: 1000, intervalUs: 2000 },
  ];
}

const ms = (us: number | undefined): string => (us === undefined ? '—' : `${(us / 1000).toFixed(3)} ms`);

export function replayCommand(o: StTcpDemoOptions): string {
  return `npx unbroken demo sttcp --seed ${o.seed}${o.mode === 'async' ? ' --mode async' : ''}${o.json ? ' --json' : ''}`;
}

/** Runs the demo; returns the process exit code (non-zero when a promise was broken). */
export function runStTcpDemo(o: StTcpDemoOptions, write: (line: string) => void): number {
  const narrative: ReportEvent[] = [];
  const say = (tUs: number, kind: string, text: string): void => {
    narrative.push({ tUs, kind, text });
    if (!o.json) write(`  [${ms(tUs).padStart(12)}] ${text}`);
  };
  if (!o.json) {
    write(`unbroken demo sttcp — seed ${o.seed}: a server host crashes; its clients' TCP connections carry on`);
    write(`  client ${CLIENT.ip} ── hub ── primary ${PRIMARY.ip} / backup ${BACKUP.ip}, serving ${SERVICE.ip} (${o.mode ?? 'sync'} mode)`);
    write(`  the client downloads 8 MB and holds 3 echo conversations; the primary is killed at ${ms(STTCP_DEMO_CRASH_US)}`);
    write('');
  }
  let synced = false;
  const r: StTcpScenarioResult = runStTcpScenario({
    seed: o.seed,
    clients: plans(),
    crashPrimaryAtUs: STTCP_DEMO_CRASH_US,
    link: STTCP_DEMO_LINK,
    mode: o.mode ?? 'sync',
    fencing: true,
    capture: o.outDir !== undefined,
    onCrash: (tUs) => say(tUs, 'crash', `primary ${PRIMARY.ip} crashes (killed in the middle of the transfers)`),
    onEvent: (e: StTcpEvent) => {
      if (e.kind === 'backup.synced' && !synced) { synced = true; say(e.tUs, 'sync', 'backup in sync with the primary: heartbeats, lease and replication running'); }
      if (e.kind === 'failover.detected') say(e.tUs, 'detected', `backup: ${e.text}`);
      if (e.kind === 'takeover.complete') say(e.tUs, 'takeover', `backup: ${e.text}`);
      if (e.kind === 'takeover.fault') say(e.tUs, 'fault', `backup: ${e.text}`);
    },
  });
  // The client's resumption, from the run's own records.
  const resumedUs = firstAfter(r, r.takeoverUs);
  if (resumedUs !== undefined) say(resumedUs, 'resumed', 'client receives bytes again on every open connection');
  for (const c of r.connections) {
    say(c.samples.at(-1)?.[0] ?? r.endUs, 'verify', `${c.id}: ${c.receivedBytes} bytes, ${c.match ? 'every byte as a failure-free run delivers it' : 'MISMATCH'}, ${c.close === 'closed' ? 'closed normally' : `ended ${c.close ?? 'never'}`}`);
  }
  narrative.sort((a, b) => a.tUs - b.tUs);

  const pauses = r.connections.map((c) => c.pauseUs).filter((p): p is number => p !== undefined);
  const maxPauseUs = pauses.length > 0 ? Math.max(...pauses) : undefined;
  const detectionUs = r.detectedUs !== undefined && r.crashUs !== undefined ? r.detectedUs - r.crashUs : undefined;
  const takeoverAfterCrashUs = r.takeoverUs !== undefined && r.crashUs !== undefined ? r.takeoverUs - r.crashUs : undefined;
  const intact = r.connections.filter((c) => c.match && c.close === 'closed').length;
  const summary = [
    { name: 'connections intact', value: `${intact} of ${r.connections.length}`, ok: intact === r.connections.length },
    { name: 'RSTs reaching an open connection', value: String(r.clientRsts), ok: r.clientRsts === 0 },
    { name: 'two hosts on the service address', value: r.dualServiceFrames === 0 ? 'never' : `${r.dualServiceFrames} frames`, ok: r.dualServiceFrames === 0 },
    { name: 'failure detected after', value: ms(detectionUs) },
    { name: 'takeover after the crash', value: ms(takeoverAfterCrashUs) },
    { name: 'longest client-visible pause', value: ms(maxPauseUs), ok: maxPauseUs !== undefined && maxPauseUs <= 200_000 },
    { name: 'connections taken over', value: String(r.backupStats['connections-taken-over'] ?? 0) },
  ];
  const report: DemoReport = {
    title: 'ST-TCP: the primary server crashes mid-transfer',
    seed: o.seed,
    replayCommand: replayCommand(o),
    technique: 'sttcp',
    events: narrative,
    markers: [
      ...(r.crashUs !== undefined ? [{ tUs: r.crashUs, label: 'crash' }] : []),
      ...(r.detectedUs !== undefined ? [{ tUs: r.detectedUs, label: 'detected' }] : []),
      ...(r.takeoverUs !== undefined ? [{ tUs: r.takeoverUs, label: 'takeover' }] : []),
      ...(resumedUs !== undefined ? [{ tUs: resumedUs, label: 'resumed' }] : []),
    ],
    connections: r.connections.map((c) => ({
      id: c.id, samples: c.samples, bytes: c.receivedBytes, sha256: c.sha256, ok: c.match && c.close === 'closed',
      ...(c.pauseUs !== undefined ? { pauseUs: c.pauseUs } : {}),
      ...(c.close !== 'closed' ? { note: `ended ${c.close ?? 'never'}` } : {}),
    })),
    summary,
    files: o.outDir !== undefined ? [{ name: 'client.pcap', description: "every frame at the client's port (open in Wireshark)" }] : [],
  };
  const kept = summary.every((s) => s.ok !== false);
  let written: { html: string; json: string } | undefined;
  if (o.outDir !== undefined) {
    mkdirSync(o.outDir, { recursive: true });
    r.pcap?.writeFile(join(o.outDir, 'client.pcap'));
    written = writeReportFiles(o.outDir, report);
  }
  if (o.json) {
    write(JSON.stringify({
      technique: 'sttcp', seed: o.seed, ok: kept, mode: o.mode ?? 'sync',
      crashUs: r.crashUs, detectedUs: r.detectedUs, takeoverUs: r.takeoverUs, maxPauseUs,
      connections: r.connections.map((c) => ({ id: c.id, bytes: c.receivedBytes, expected: c.expectedBytes, match: c.match, close: c.close, pauseUs: c.pauseUs, sha256: c.sha256 })),
      rstsToOpenConnections: r.clientRsts, dualServiceFrames: r.dualServiceFrames,
      report: written?.html, replay: replayCommand(o),
    }));
  } else {
    write('');
    for (const s of summary) write(`  ${s.ok === false ? '✗' : s.ok === true ? '✓' : ' '} ${s.name.padEnd(36)} ${s.value}`);
    write('');
    if (written) write(`  report: ${written.html}  (pcap beside it)`);
    write(`  ${kept ? 'promise kept' : 'PROMISE BROKEN'} — replay: ${replayCommand(o)}`);
  }
  return kept ? 0 : 1;
}

/** The first time after t at which every connection still open at t had received bytes again. */
function firstAfter(r: StTcpScenarioResult, t: number | undefined): number | undefined {
  if (t === undefined) return undefined;
  let latest: number | undefined;
  for (const c of r.connections) {
    const before = c.samples.some(([u]) => u <= t);
    const after = c.samples.find(([u]) => u > t);
    if (!before || !after) continue;
    latest = latest === undefined ? after[0] : Math.max(latest, after[0]);
  }
  return latest;
}
