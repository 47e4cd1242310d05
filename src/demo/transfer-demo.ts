// `unbroken demo` (issue 2 stage): a seeded, simulated TCP transfer between two of our
// hosts over a lossy link, told as a narrative in virtual time, then a summary table or
// one JSON object. Same seed → same output. The simulation itself is src/sim/scenarios.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { runTransfer, CLIENT, SERVER, SERVER_PORT, type TransferEvent, type TransferOptions, type TransferResult } from '../sim/scenarios/transfer.js';
import type { FaultSpec } from '../sim/faults.js';
import type { LinkConfig } from '../sim/link.js';

export interface DemoOptions {
  seed: number;
  json: boolean;
  /** Directory to write the client-port pcap into. */
  outDir?: string;
}

export const DEMO_DEFAULT_SEED = 1;
export const DEMO_LINK: LinkConfig = { latencyUs: 1000, bandwidthBps: 100_000_000, queueFrames: 128, mtuBytes: 1500 };
export const DEMO_FAULTS: FaultSpec[] = [
  { kind: 'loss', rate: 0.03 },
  { kind: 'reorder', rate: 0.02, delayUs: 2000 },
  { kind: 'duplicate', rate: 0.01 },
  { kind: 'jitter', maxUs: 300 },
];
export const DEMO_CLIENT_BYTES = 200_000;
export const DEMO_SERVER_BYTES = 2_000_000;

/** Virtual µs as "   12.345 ms". */
function ms(us: number | undefined): string {
  return us === undefined ? '—' : `${(us / 1000).toFixed(3)} ms`;
}

function replayCommand(o: DemoOptions): string {
  return `npx unbroken demo --seed ${o.seed}${o.json ? ' --json' : ''}${o.outDir !== undefined ? ` --out ${o.outDir}` : ''}`;
}

function describeFaults(): string {
  return DEMO_FAULTS.map((f) => {
    switch (f.kind) {
      case 'loss': return `loss ${f.rate * 100} %`;
      case 'reorder': return `reordering ${f.rate * 100} % (held ${f.delayUs} µs)`;
      case 'duplicate': return `duplication ${f.rate * 100} %`;
      case 'jitter': return `jitter ≤ ${f.maxUs} µs`;
      default: return f.kind;
    }
  }).join(', ');
}

/** Sums fault-rule counters over both directions of the client's link. */
function faultTotals(r: TransferResult): { dropped: number; duplicated: number; delayed: number } {
  const t = { dropped: 0, duplicated: 0, delayed: 0 };
  for (const [k, v] of Object.entries(r.counters)) {
    if (!k.startsWith('fault.')) continue;
    if (k.endsWith('.dropped')) t.dropped += v;
    else if (k.endsWith('.duplicated')) t.duplicated += v;
    else if (k.endsWith('.delayed')) t.delayed += v;
  }
  return t;
}

export type TransferRunner = (o: TransferOptions) => TransferResult;

/**
 * Runs the demo, writing its output through `write` (one call per line). Returns the
 * exit code: 0 when both byte streams arrived intact and both connections closed normally.
 */
export function runDemo(o: DemoOptions, write: (line: string) => void, run: TransferRunner = runTransfer): number {
  const events: TransferEvent[] = [];
  if (!o.json) {
    write(`unbroken demo — seed ${o.seed}: a TCP transfer between two of our hosts, simulated in virtual time`);
    write(`  ${CLIENT.name} ${CLIENT.ip} ── switch ── ${SERVER.name} ${SERVER.ip}:${SERVER_PORT}`);
    write(`  links ${DEMO_LINK.latencyUs} µs, ${DEMO_LINK.bandwidthBps! / 1e6} Mbit/s; on the client's link: ${describeFaults()}`);
    write(`  the client uploads ${DEMO_CLIENT_BYTES} bytes while the server sends ${DEMO_SERVER_BYTES}; each side checks SHA-256`);
    write('');
  }
  const r = run({
    seed: o.seed,
    clientBytes: DEMO_CLIENT_BYTES,
    serverBytes: DEMO_SERVER_BYTES,
    link: DEMO_LINK,
    faults: DEMO_FAULTS,
    capture: o.outDir !== undefined,
    onEvent: (e) => {
      events.push(e);
      if (!o.json) write(`  [${ms(e.tUs).padStart(13)}] ${e.text}`);
    },
  });
  let pcapPath: string | undefined;
  if (o.outDir !== undefined && r.pcap) {
    mkdirSync(o.outDir, { recursive: true });
    pcapPath = join(o.outDir, `demo-seed-${o.seed}.pcap`);
    r.pcap.writeFile(pcapPath);
  }
  const faults = faultTotals(r);
  const elapsedUs = r.completeUs === undefined ? undefined : r.completeUs - r.startUs;
  const goodputMbps = elapsedUs ? ((r.clientToServer.receivedBytes + r.serverToClient.receivedBytes) * 8) / elapsedUs : undefined;
  const replay = replayCommand(o);

  if (o.json) {
    write(JSON.stringify({
      seed: o.seed,
      ok: r.ok,
      reason: r.reason ?? null,
      topology: { client: CLIENT, server: { ...SERVER, port: SERVER_PORT }, link: DEMO_LINK, faultsOnClientLink: DEMO_FAULTS },
      virtualTimeUs: { start: r.startUs, complete: r.completeUs ?? null, closed: r.closedUs ?? null },
      clientToServer: r.clientToServer,
      serverToClient: r.serverToClient,
      close: { client: r.clientClose ?? null, server: r.serverClose ?? null },
      wire: { ...r.wire, firstRstUs: r.wire.firstRstUs ?? null },
      faults,
      goodputMbitPerS: goodputMbps === undefined ? null : Number(goodputMbps.toFixed(3)),
      traceHash: r.traceHash,
      pcap: pcapPath ?? null,
      events: events.map((e) => ({ tUs: e.tUs, kind: e.kind, side: e.side, text: e.text })),
      replay,
    }));
    return r.ok ? 0 : 1;
  }

  const check = (d: TransferResult['clientToServer']): string => (d.match ? 'sha256 verified' : 'MISMATCH');
  write('');
  write(`  [${ms(r.closedUs ?? r.sim.nowUs).padStart(13)}] ${r.ok ? 'sha256 verified both ways' : `FAILED: ${r.reason}`}`);
  write('');
  const rows: Array<[string, string, string, string, string]> = [
    ['direction', 'sent (B)', 'received (B)', 'sha256', 'result'],
    ['client → server', String(r.clientToServer.sentBytes), String(r.clientToServer.receivedBytes), r.clientToServer.receivedSha256.slice(0, 16), check(r.clientToServer)],
    ['server → client', String(r.serverToClient.sentBytes), String(r.serverToClient.receivedBytes), r.serverToClient.receivedSha256.slice(0, 16), check(r.serverToClient)],
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  for (const row of rows) write(`  ${row.map((c, i) => (i === 1 || i === 2 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ')}`.trimEnd());
  write('');
  const facts: Array<[string, string]> = [
    ['transfer complete', r.completeUs === undefined ? 'no' : `at ${ms(r.completeUs)} (${ms(elapsedUs)} after the connect call)`],
    ['connections closed', `at ${ms(r.closedUs)} (client ${r.clientClose ?? '—'}, server ${r.serverClose ?? '—'})`],
    ['goodput (virtual)', goodputMbps === undefined ? '—' : `${goodputMbps.toFixed(2)} Mbit/s`],
    ['segments on the wire', `${r.wire.segments} (${r.wire.retransmits} retransmitted, ${r.wire.rst} RST)`],
    ['frames hit by faults', `${faults.dropped} dropped, ${faults.duplicated} duplicated, ${faults.delayed} delayed (held back or jittered)`],
    ['trace hash', r.traceHash.slice(0, 32)],
  ];
  if (pcapPath) facts.push(['pcap', pcapPath]);
  const fw = Math.max(...facts.map(([k]) => k.length));
  for (const [k, v] of facts) write(`  ${k.padEnd(fw)}  ${v}`);
  write('');
  write(`replay: ${replay}`);
  return r.ok ? 0 : 1;
}
