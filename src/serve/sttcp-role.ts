// `unbroken serve` for roles sttcp-primary and sttcp-backup: one StTcpNode (src/sttcp/)
// on a TAP device plumbed into the configured interface (net.ts), driven in real time
// by the TAP driver, its events turned into JSON log lines and its counters into the
// Prometheus metrics. The lab's host process (src/lab/sttcp-host-main.ts) is the same
// node without config, metrics or fencing by command.
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { TapDevice } from '../drivers/tap/tap-device.js';
import { HEARTBEAT_TURNS, TapDriver } from '../drivers/tap/tap-driver.js';
import { StTcpNode, type StTcpEvent } from '../sttcp/node.js';
import { replicatedService } from '../sttcp/app-state.js';
import { SeededRng } from '../util/rng.js';
import { cubic } from '../tcp/congestion/cubic.js';
import { newReno } from '../tcp/congestion/newreno.js';
import { randomBytes } from 'node:crypto';
import type { SttcpSection } from '../config/schema.js';
import { livenessFromConfig } from '../config/runtime.js';
import type { EventLogger } from '../observe/log.js';
import type { UnbrokenMetrics } from '../observe/metrics.js';
import { deviceNames, plumbTap } from './net.js';
import { DriverTurns, serveApp } from './app-service.js';
import type { RunningRole } from './types.js';
import { ServeError } from './types.js';

/** How often gauges are refreshed from the node (scrapes read the latest values). */
const REFRESH_MS = 100;

/** Heartbeat intervals missed in the current silence, beyond the one a heartbeat may take to arrive. */
export function missedIntervals(silenceUs: number, heartbeatUs: number): number {
  return Math.max(0, Math.floor(silenceUs / heartbeatUs) - 1);
}

export async function startSttcpRole(role: 'sttcp-primary' | 'sttcp-backup', node: string, c: SttcpSection, log: EventLogger, metrics: UnbrokenMetrics): Promise<RunningRole> {
  const key = readFileSync(c.keyFile);
  if (key.length < 32) throw new ServeError(`${c.keyFile}: the key needs at least 32 bytes`);
  const turns = new DriverTurns();
  const app = await serveApp(c.app, 'sttcp.app', turns, log);
  const me = role === 'sttcp-primary' ? 'primary' : 'backup';
  const live = livenessFromConfig(c);
  const names = deviceNames(node);
  const plumbing = plumbTap(c.interface, [c.service.mac, c.host.mac], names);
  let driver: TapDriver | undefined;
  let refresh: NodeJS.Timeout | undefined;
  try {
    const tap = TapDevice.open(plumbing.tap);
    const fenceCmd = c.fencing;
    let n!: StTcpNode; // assigned just below; the node reports events only once it runs
    const onNodeEvent = (e: StTcpEvent): void => {
      const fields: Record<string, unknown> = { tUs: e.tUs, text: e.text };
      if (e.kind === 'failover.detected') {
        const heard = n.peerLastHeardUs();
        if (heard !== undefined) fields.sinceLastHeartbeatMs = (e.tUs - heard) / 1000;
      }
      if (e.kind === 'takeover.complete') {
        const heard = n.peerLastHeardUs();
        fields.connections = n.stats()['connections-taken-over'] ?? 0;
        metrics.failovers.inc({ technique: 'sttcp', kind: 'takeover' });
        if (heard !== undefined) {
          fields.takeoverMs = (e.tUs - heard) / 1000;
          metrics.takeoverSeconds.observe({ technique: 'sttcp' }, (e.tUs - heard) / 1e6);
        }
      }
      // With a fencing command, runFence logs fence.done with the command's outcome.
      if (e.kind === 'fence.done' && fenceCmd) return;
      // Every node event kind is a log event name (StTcpEventKind ⊆ LogEvent, checked by the compiler).
      log.event(e.kind, fields, e.text);
      refreshGauges();
    };
    n = new StTcpNode({
      role: me, name: node, nodeId: c.nodeId ?? (me === 'primary' ? 1 : 2),
      // A restarted process is a new incarnation: the epoch grows with wall time.
      epoch: Math.floor(Date.now() / 1000),
      ownMac: c.host.mac, ownIp: c.host.ip, prefixLen: c.service.prefixLen, peerIp: c.control.peer, controlPort: c.control.port,
      serviceMac: c.service.mac, serviceIp: c.service.ip,
      // Built-in apps resume from snapshots at a backup's join; the relay refuses joins:
      // the server's state behind it cannot be copied.
      services: [{ port: c.service.port, ...(app.app ? replicatedService(app.app) : { service: app.service }) }],
      ...(app.joinRefusal !== undefined ? { joinRefusal: app.joinRefusal } : {}),
      key: new Uint8Array(key), mode: c.mode, liveness: live,
      tcp: {
        sack: c.tcp.sack, timestamps: c.tcp.timestamps, windowScale: c.tcp.windowScale,
        congestion: c.tcp.congestion === 'cubic' ? cubic : newReno,
        ...(c.tcp.mss !== undefined ? { mss: c.tcp.mss } : {}),
      },
      ackEveryBytes: c.ackEveryBytes, ackIntervalUs: c.ackEveryMs * 1000, retentionBytesMax: c.retentionBytes, maxShadows: c.maxConnections,
      rng: new SeededRng(randomBytes(4).readUInt32LE(0)),
      // Without a fencing command the node fences nothing and a primary that loses its
      // backup stops serving rather than risk two hosts on the service address.
      ...(fenceCmd ? { fence: () => runFence(fenceCmd.command, fenceCmd.timeoutMs, log) } : {}),
      onEvent: (e: StTcpEvent) => onNodeEvent(e),
    });
    metrics.addStackSource(`${node}-service`, () => n.service.counters());
    metrics.addStackSource(`${node}-own`, () => n.own.counters());
    metrics.addStackSource(`${node}-sttcp`, () => n.stats());
    let missedCounted = 0;
    let missedHeard: number | undefined;
    let rejected: Record<string, number> = {};
    const refreshGauges = (): void => {
      const now = driver?.nowUs() ?? 0;
      metrics.connections.set({ role }, n.role() === 'backup' || n.role() === 'takeover-pending' ? n.shadowCount() : n.service.tcpConnections().length);
      metrics.replicationLagBytes.set(n.replicationLagBytes());
      const p = n.protection();
      metrics.degraded.set(p === 'degraded' || p === 'down' ? 1 : 0);
      // Missed heartbeats: counted once per silent interval, while the peer is still expected.
      const heard = n.peerLastHeardUs();
      if (heard !== missedHeard) { missedHeard = heard; missedCounted = 0; }
      if (heard !== undefined && p !== 'degraded') {
        const m = missedIntervals(now - heard, live.heartbeatUs);
        if (m > missedCounted) { metrics.heartbeatsMissed.inc({ peer: c.control.peer }, m - missedCounted); missedCounted = m; }
      }
      const stats = n.stats();
      const next: Record<string, number> = {};
      for (const [k, v] of Object.entries(stats)) {
        // The node counts dropped control messages as control-<reason>; control-sent is traffic.
        if (!k.startsWith('control-') || k === 'control-sent') continue;
        const reason = k.slice('control-'.length);
        next[reason] = v;
        const d = v - (rejected[reason] ?? 0);
        if (d > 0) metrics.controlRejected.inc({ reason }, d);
      }
      rejected = next;
    };
    driver = new TapDriver(tap, n, (e) => { log.event('tap.failed', { error: e.message }, 'TAP device failed'); }, HEARTBEAT_TURNS);
    turns.attach(driver, n);
    driver.start();
    driver.run((now) => { n.own.announce(now); if (me === 'primary') n.service.announce(now); });
    refresh = setInterval(refreshGauges, REFRESH_MS);
    refresh.unref();
    log.event('interface.attached', { tap: plumbing.tap, bridge: plumbing.bridge, createdBridge: plumbing.createdBridge, interface: c.interface, ...(plumbing.reclaimed.length > 0 ? { reclaimed: plumbing.reclaimed } : {}) }, `TAP ${plumbing.tap} on bridge ${plumbing.bridge}${plumbing.reclaimed.length > 0 ? ` (removed ${plumbing.reclaimed.join(', ')} left by a serve killed without cleanup)` : ''}`);
    const d = driver;
    return {
      describe: { tap: plumbing.tap, bridge: plumbing.bridge, service: `${c.service.ip}:${c.service.port}`, host: c.host.ip, app: app.describe },
      async stop() {
        clearInterval(refresh);
        log.event('node.final', { stats: n.stats(), driver: d.counters, app: app.counters() }, 'final counters');
        await d.stop();
        return plumbing.remove();
      },
    };
  } catch (e) {
    clearInterval(refresh);
    await driver?.stop();
    plumbing.remove();
    throw e;
  }
}

/** Runs the operator's fencing command; true when it exits 0 within its time limit. */
export function runFence(argv: readonly string[], timeoutMs: number, log: EventLogger): boolean {
  const t0 = Date.now();
  // Synchronous on purpose: the node must not act until the peer is certainly down.
  const r = spawnSync(argv[0]!, argv.slice(1), { timeout: timeoutMs, stdio: 'ignore' });
  const ok = r.status === 0;
  log.event('fence.done', { command: argv.join(' '), exitCode: r.status, ms: Date.now() - t0 }, ok ? 'fencing command succeeded' : 'fencing command failed', ok ? 'warn' : 'error');
  return ok;
}
