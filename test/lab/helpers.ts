// Shared pieces of the lab interop tests: bringing a pair up and down around a test,
// running commands inside its namespaces with a timeout, files with known digests,
// and the tshark checks over a capture. Needs root; see src/lab/prerequisites.ts.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { blobChunk } from '../../src/apps/index.js';
import { labDown } from '../../src/lab/lab.js';
import { pairUp, type PairOptions } from '../../src/lab/pair.js';
import type { LabState } from '../../src/lab/state.js';
import assert from 'node:assert/strict';
import { PAIR_NET, addTap, fetchWithOurStack } from '../../src/lab/pair.js';

export interface Exec { stdout: string; stderr: string; code: number }

/** Runs argv inside namespace `ns`; never rejects, reports the exit code. */
export function inNs(ns: string, argv: string[], timeoutMs = 120_000): Promise<Exec> {
  return new Promise((resolve) => {
    execFile('ip', ['netns', 'exec', ns, ...argv], { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1;
      resolve({ stdout, stderr, code });
    });
  });
}

/** Starts a long-running process inside `ns` (a Linux server, a capture). */
export function spawnInNs(ns: string, argv: string[]): ChildProcess {
  return spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Ends a process we started: `signal`, then SIGKILL if it is still there after `graceMs`. */
export async function stop(p: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = 3000): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const done = new Promise<void>((r) => p.once('exit', () => r()));
  p.kill(signal);
  const t = setTimeout(() => p.kill('SIGKILL'), graceMs);
  await done;
  clearTimeout(t);
}

/** Brings a pair up, runs `fn`, always tears it down. */
export async function withPair<T>(o: PairOptions, fn: (s: LabState) => Promise<T>): Promise<T> {
  const s = await pairUp(o);
  try {
    return await fn(s);
  } finally {
    await labDown(s.name);
  }
}

/** A directory holding `<n>.bin` files of the blob pattern; returns the dir and their digests. */
export function makeFiles(sizes: number[]): { dir: string; sha: Record<number, string> } {
  const dir = mkdtempSync(join(tmpdir(), 'unbroken-lab-'));
  const sha: Record<number, string> = {};
  for (const n of sizes) {
    const h = createHash('sha256');
    const path = join(dir, `${n}.bin`);
    writeFileSync(path, new Uint8Array(0));
    const step = 4 * 1024 * 1024;
    for (let off = 0; off < n; off += step) {
      const c = blobChunk(off, Math.min(step, n - off));
      writeFileSync(path, c, { flag: 'a' });
      h.update(c);
    }
    sha[n] = h.digest('hex');
  }
  return { dir, sha };
}

/** curl in the client namespace; returns "<http code> <sha256 of body>". */
export async function curlSha(s: LabState, path: string, timeoutMs = 120_000): Promise<string> {
  const r = await inNs(s.netns.client, ['bash', '-c',
    `set -o pipefail; curl -sS --fail -o /dev/stdout http://${s.service.ip}:${s.service.port}${path} | sha256sum`], timeoutMs);
  if (r.code !== 0) return `curl failed (${r.code}): ${r.stderr.trim()}`;
  return r.stdout.split(' ')[0];
}

/** Sets the Linux peer's TCP options inside the client namespace (per-namespace sysctls). */
export async function setPeerTcp(s: LabState, o: { sack: boolean; timestamps: boolean; windowScaling: boolean }): Promise<void> {
  for (const [k, v] of [['tcp_sack', o.sack], ['tcp_timestamps', o.timestamps], ['tcp_window_scaling', o.windowScaling]] as const) {
    const r = await inNs(s.netns.client, ['sysctl', '-qw', `net.ipv4.${k}=${v ? 1 : 0}`]);
    if (r.code !== 0) throw new Error(`sysctl ${k}: ${r.stderr}`);
  }
}

export interface CaptureCheck {
  frames: number; tcpSegments: number; badChecksums: number; peerChecksumAnomalies: number; malformed: number; retransmissions: number;
  /** Data-carrying segments our stack sent (`ourMacs`), and how many of them tshark judges retransmissions. */
  ourDataSegments: number; ourRetransmissions: number;
  /** The same for the Linux peer's data (its originals are all in the capture). */
  peerDataSegments: number; peerRetransmissions: number;
  offenders: string[];
}

/**
 * The tshark command line for a lab capture of `devs` into `file`. tshark (and the dumpcap
 * it starts) run at a raised priority: `npm test` runs the other test files beside the lab's,
 * and a capture starved of the CPU dropped hundreds of frames in three attempts running.
 */
export function tsharkArgv(devs: readonly string[], file: string, extra: readonly string[] = []): string[] {
  return ['nice', '-n', '-10', 'tshark', '-q', ...extra, ...devs.flatMap((d) => ['-i', d]), '-w', file];
}

/**
 * Starts tshark on `devs` in `ns`, writing `file`; resolves once it is capturing.
 * Capture on the TAPs, not the bridge: frames from the kernel's veth carry offloaded
 * (partial) checksums until the TAP's transmit path completes them.
 */
export async function startCapture(ns: string, devs: string | string[], file: string): Promise<ChildProcess> {
  const p = spawnInNs(ns, tsharkArgv([devs].flat(), file));
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('tshark did not start capturing')), 10_000);
    p.stderr?.on('data', (d: Buffer) => { if (/Capturing on/.test(d.toString())) { clearTimeout(t); resolve(); } });
    p.once('exit', (c) => { clearTimeout(t); reject(new Error(`tshark exited ${c}`)); });
  });
  // tshark says "Capturing on" before its capture child has every interface open: on a busy
  // machine the start of a fast transfer was missed (543 of ~1000 segments of a 1 MB download).
  await new Promise((r) => setTimeout(r, 1000));
  return p;
}

/**
 * Ends a capture: SIGINT (tshark writes out what it has buffered and exits), and a long
 * grace before SIGKILL — a busy machine took longer than stop()'s 3 s, and the SIGKILL
 * cut the capture's tail.
 */
export function stopCapture(p: ChildProcess): Promise<void> {
  return stop(p, 'SIGINT', 20_000);
}

/**
 * Reads a capture with checksum validation on and counts what must be zero. `ourMacs`:
 * the checksum check applies to frames our stack sent (the Linux peer's software checksum
 * completion occasionally writes 0xFFFF, the one's-complement -0, which RFC 1071
 * verification accepts but Wireshark flags; those are counted apart, for information).
 */
export async function checkCapture(file: string, ourMacs?: string[]): Promise<CaptureCheck> {
  const ANY_BAD = '(tcp.checksum.status == 0 || ip.checksum.status == 0)';
  const FROM_US = ourMacs && ourMacs.length > 0 ? `(${ourMacs.map((m) => `eth.src == ${m}`).join(' || ')})` : 'frame';
  const BAD = `${ANY_BAD} && ${FROM_US}`;
  const RETRANSMISSION = '(tcp.analysis.retransmission || tcp.analysis.fast_retransmission)';
  const RESENT = `(${RETRANSMISSION} || tcp.analysis.out_of_order)`;
  const MALFORMED = '_ws.malformed || (tcp && _ws.expert.severity == error && !(tcp.checksum.status == 0))';
  const lines = async (filter: string, fields: boolean): Promise<string[]> => {
    // No stream reassembly: an application-layer reassembly complaint about a peer's
    // re-segmented retransmission is not malformed TCP.
    const r = await new Promise<Exec>((resolve) => execFile('tshark', ['-n', '-r', file, '-o', 'tcp.check_checksum:TRUE', '-o', 'ip.check_checksum:TRUE',
      '-o', 'tcp.desegment_tcp_streams:FALSE',
      '-Y', filter, ...(fields ? ['-T', 'fields', '-e', 'frame.number'] : [])], { maxBuffer: 256 * 1024 * 1024 }, (err, stdout, stderr) => resolve({ stdout, stderr, code: err === null ? 0 : 1 })));
    if (r.code !== 0) throw new Error(`tshark -Y '${filter}': ${r.stderr.trim()}`);
    return r.stdout.split('\n').filter((l) => l.trim() !== '');
  };
  const count = async (filter: string): Promise<number> => (await lines(filter, true)).length;
  return {
    frames: await count('frame'),
    tcpSegments: await count('tcp'),
    badChecksums: await count(BAD),
    peerChecksumAnomalies: await count(`${ANY_BAD} && !(${FROM_US})`),
    // Malformed packets, and TCP expert errors other than the checksum (counted above).
    malformed: await count(MALFORMED),
    retransmissions: await count(RETRANSMISSION),
    ourDataSegments: await count(`tcp.len > 0 && ${FROM_US}`),
    // Segments sent again. tshark calls a resent segment out-of-order rather than a
    // retransmission when it follows the previous one within its threshold (3 ms, far above
    // this lab's round trip: every fast retransmit), or when the capture lacks the original
    // (dropped inside our driver, before the TAP). Only meaningful without reordering.
    ourRetransmissions: await count(`tcp.len > 0 && ${FROM_US} && ${RESENT}`),
    peerDataSegments: await count(`tcp.len > 0 && !(${FROM_US})`),
    peerRetransmissions: await count(`tcp.len > 0 && !(${FROM_US}) && ${RESENT}`),
    // The first few offending frames, for the failure message.
    offenders: (await lines(`${BAD} || ${MALFORMED}`, false)).slice(0, 5),
  };
}

let netemCache: boolean | undefined;
/** Whether this kernel has sch_netem (tried in a throwaway namespace). */
export function netemAvailable(): boolean {
  if (netemCache !== undefined) return netemCache;
  const ns = `ubnetem-${process.pid}`;
  try {
    execFileSync('ip', ['netns', 'add', ns]);
    execFileSync('ip', ['netns', 'exec', ns, 'tc', 'qdisc', 'add', 'dev', 'lo', 'root', 'netem', 'delay', '1ms'], { stdio: 'ignore' });
    netemCache = true;
  } catch {
    netemCache = false;
  } finally {
    try { execFileSync('ip', ['netns', 'del', ns]); } catch { /* not created */ }
  }
  return netemCache;
}

/**
 * Link impairment for a pair: real `tc netem` where the kernel has it, otherwise the
 * same arguments applied inside our TAP driver (both directions of our stack's link).
 */
export function impairment(args: string): { netem?: string; impair?: string; how: string } {
  return netemAvailable() ? { netem: args, how: 'tc netem' } : { impair: args, how: 'driver impairment (kernel has no netem)' };
}

// ---- both directions under a condition (the conditions-*.test.ts files) ----

/** A 1 MB file served both ways; made once per test file. */
export function conditionFiles(): { dir: string; sha: Record<number, string> } { return makeFiles([CONDITION_SIZE]); }
export const CONDITION_SIZE = 1_000_000;

/** Waits until something listens on `port` in the client namespace. */
export async function waitListening(s: LabState, port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const r = await inNs(s.netns.client, ['sh', '-c', `ss -ltn | grep -q ':${port} '`]);
    if (r.code === 0) return;
    await new Promise((res) => setTimeout(res, 25));
  }
  throw new Error(`nothing listening on ${port} in ${s.netns.client}`);
}

/** The pair server's TCP retransmission counters (it logs them on SIGUSR2); undefined if it did not answer in 3 s. */
export async function serverTcpStats(s: LabState): Promise<Record<string, number> | undefined> {
  const log = join(s.dir, 'server.log');
  const lines = (): string[] => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter((l) => l.startsWith('{"stats":true')) : []);
  const before = lines().length;
  const pid = s.pids.server;
  if (pid === undefined) return undefined;
  process.kill(pid, 'SIGUSR2');
  const until = Date.now() + 3000;
  while (Date.now() < until && lines().length <= before) await new Promise((r) => setTimeout(r, 25));
  const l = lines()[before];
  return l === undefined ? undefined : (JSON.parse(l) as { tcp: Record<string, number> | null }).tcp ?? undefined;
}

/** Both directions once, under whatever the lab applies; returns the capture summary. */
export async function bothWays(s: LabState, files: { dir: string; sha: Record<number, string> }, label: string): Promise<CaptureCheck> {
  const pcap = join(s.dir, 'cond.pcap');
  const srv = spawnInNs(s.netns.client, ['python3', '-m', 'http.server', '-b', PAIR_NET.clientIp, '8000', '-d', files.dir]);
  addTap(s.netns.server, 'tap1');
  const cap = await startCapture(s.netns.server, ['tap0', 'tap1'], pcap);
  try {
    assert.equal(await curlSha(s, `/${CONDITION_SIZE}.bin`, 90_000), files.sha[CONDITION_SIZE], `${label}: curl ← our server`);
    await waitListening(s, 8000);
    const r = await fetchWithOurStack(s, { remotePort: 8000, request: `GET /${CONDITION_SIZE}.bin HTTP/1.0\r\n\r\n`, skipHttpHead: true, timeoutMs: 90_000 });
    assert.equal(r.sha256, files.sha[CONDITION_SIZE], `${label}: our client ← python http.server (${r.bytes} bytes, ${r.closeReason})`);
  } finally {
    await stop(srv);
    await stopCapture(cap);
  }
  const c = await checkCapture(pcap, [PAIR_NET.serviceMac, PAIR_NET.ourClientMac]);
  console.log(`${label}: ${JSON.stringify(c)}`);
  // Why our server sent what the capture counts: its retransmissions, timeouts (and those
  // undone as spurious) and fast retransmits.
  console.log(`${label}: our server's TCP ${JSON.stringify(await serverTcpStats(s))}`);
  assert.equal(c.badChecksums, 0, `${label}: bad checksums:\n${c.offenders.join("\n")}`);
  assert.equal(c.malformed, 0, `${label}: malformed:\n${c.offenders.join("\n")}`);
  return c;
}


/**
 * Retransmissions in proportion to the loss applied, for each sender with enough data
 * segments in the capture. With loss rate p on each frame, a sender's N data segments lose
 * about λ = pN (binomial, ≈ Poisson): the count must lie within λ ± 3.5√λ, widened above
 * by a factor 2 and a constant for retransmissions that are not one-for-one (a lost
 * retransmission, a go-back-N after a timeout). Without loss: a small bound, not zero — a
 * stalled event loop on a shared machine can still fire one spurious timeout.
 */
export function assertRetransmissionsInProportion(c: CaptureCheck, lossRate: number, label: string): void {
  for (const [who, n, r] of [['our stack', c.ourDataSegments, c.ourRetransmissions], ['Linux peer', c.peerDataSegments, c.peerRetransmissions]] as const) {
    if (n < 200) continue;
    const lambda = lossRate * n;
    const low = Math.max(0, Math.floor(lambda - 3.5 * Math.sqrt(lambda)));
    const high = Math.ceil(2 * lambda + 3.5 * Math.sqrt(lambda) + Math.max(3, 0.02 * n));
    assert.ok(r >= low && r <= high, `${label}: ${who} retransmitted ${r} of ${n} data segments at ${lossRate * 100}% loss; expected ${low}..${high}`);
  }
}
