// Crashing the primary of an `sttcp` lab and checking what followed: bring the topology
// up and down around a body, SIGKILL the primary (the lab's host crash) at a chosen
// moment, read the hosts' event logs. Shared by test/lab/sttcp-*.test.ts and the bench.
import { labDown } from './lab.js';
import { hostEvents, sttcpUp, type SttcpLabOptions } from './sttcp-topology.js';
import type { LabState } from './state.js';

export async function withSttcp<T>(o: SttcpLabOptions, fn: (s: LabState) => Promise<T>): Promise<T> {
  const s = await sttcpUp(o);
  try { return await fn(s); } finally { await labDown(s.name); }
}

/** SIGKILL of the primary's process: the crash of the primary host. Returns CLOCK_MONOTONIC ns at the kill. */
export function crashPrimary(s: LabState): bigint {
  const t = process.hrtime.bigint();
  process.kill(s.pids.primary!, 'SIGKILL');
  return t;
}

export interface FailoverCheck { problems: string[]; takeoverNs?: bigint; detectedNs?: bigint; liveConnections?: number; backupStats?: Record<string, number> }

/**
 * What the hosts' logs say about a run crashed at `crashNs`: exactly one takeover, after
 * the crash, and no failure declared by either side before it (a spurious failover).
 */
export function checkFailover(s: LabState, crashNs: bigint): FailoverCheck {
  const problems: string[] = [];
  const p = hostEvents(s, 'primary');
  const b = hostEvents(s, 'backup');
  for (const e of p) if (e.event === 'backup.lost' || e.event === 'stepped.down') problems.push(`primary: ${e.event} (${e.text})`);
  const detected = b.filter((e) => e.event === 'failover.detected');
  const takeovers = b.filter((e) => e.event === 'takeover.complete');
  for (const e of detected) if (BigInt(e.monoNs) < crashNs) problems.push(`backup declared the primary failed before the crash: ${e.text}`);
  if (takeovers.length !== 1) problems.push(`${takeovers.length} takeovers (expected 1)`);
  for (const e of b.filter((x) => x.event === 'takeover.fault')) problems.push(`takeover fault: ${e.text}`);
  const t = takeovers[0];
  const live = t !== undefined ? Number(/with (\d+) live/.exec(t.text)?.[1] ?? NaN) : undefined;
  return {
    problems,
    ...(t !== undefined ? { takeoverNs: BigInt(t.monoNs) } : {}),
    ...(detected[0] !== undefined ? { detectedNs: BigInt(detected[0].monoNs) } : {}),
    ...(live !== undefined ? { liveConnections: live } : {}),
    ...(t?.stats !== undefined ? { backupStats: t.stats } : {}),
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
