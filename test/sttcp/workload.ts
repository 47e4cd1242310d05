// Shared ST-TCP simulation workloads for the seeded tests: a long echo conversation, a
// bulk download over a slower access link, and short connections that open and close
// around the crash. Each seed draws the crash time and the short connections' starts.
import { SeededRng } from '../../src/util/rng.js';
import type { ClientPlan, StTcpScenarioOptions, StTcpScenarioResult } from '../../src/sttcp/scenario.js';
import type { LinkConfig } from '../../src/sim/link.js';

export const ACCESS_LINK: LinkConfig = { latencyUs: 50, bandwidthBps: 20_000_000, queueFrames: 256, mtuBytes: 1500 };

export function mixedClients(rng: SeededRng, spanUs: number): ClientPlan[] {
  return [
    { kind: 'echo', startUs: 5_000, bytes: 400_000, chunkBytes: 3000, intervalUs: 5000 },
    { kind: 'download', startUs: 6_000, bytes: 2_000_000 },
    { kind: 'echo', startUs: 5_000 + rng.nextInt(spanUs), bytes: 20_000, chunkBytes: 1000, intervalUs: 1000 },
    { kind: 'download', startUs: 5_000 + rng.nextInt(spanUs), bytes: 200_000 },
  ];
}

export function crashOptions(seed: number, extra: Partial<StTcpScenarioOptions> = {}): StTcpScenarioOptions {
  const rng = new SeededRng(seed * 7919);
  const crash = 20_000 + rng.nextInt(700_000);
  return { seed, fencing: true, crashPrimaryAtUs: crash, link: ACCESS_LINK, clients: mixedClients(rng, 700_000), ...extra };
}

/**
 * The promise: every connection delivered exactly the failure-free bytes and closed
 * normally, no RST reached a connection in progress (one arriving in TIME-WAIT after a
 * duplicate FIN/ACK exchange is ordinary TCP and costs nothing), never two hosts on the
 * service address. In async
 * mode a connection may instead be reset if, and only if, the backup reported that it
 * lacked bytes the primary had acknowledged (and what arrived before is a correct prefix).
 */
export function promiseKept(r: StTcpScenarioResult, mode: 'sync' | 'async'): string[] {
  const problems: string[] = [];
  const reported = Object.entries(r.backupStats)
    .filter(([k]) => k.startsWith('connections-reset-')).reduce((a, [, v]) => a + v, 0);
  const resets = r.connections.filter((c) => c.close === 'reset');
  for (const c of r.connections) {
    if (c.close === 'reset' && mode === 'async') continue;
    if (c.receivedBytes !== c.expectedBytes || !c.match) problems.push(`${c.id}: ${c.receivedBytes}/${c.expectedBytes} bytes${c.match ? '' : ' (content)'}`);
    if (c.close !== 'closed') problems.push(`${c.id}: ended ${c.close ?? 'never'}`);
  }
  if (mode === 'sync' && r.clientRsts > 0) problems.push(`${r.clientRsts} RST(s) reached a connection in progress`);
  if (mode === 'async' && resets.length > reported) problems.push(`${resets.length} connection(s) reset, ${reported} reported`);
  if (r.dualServiceFrames > 0) problems.push('two hosts used the service address at once');
  return problems;
}
