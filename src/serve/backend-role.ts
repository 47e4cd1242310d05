// `unbroken serve` for role backend: the CRAFT split-splice back-end module. Our stack on
// a TAP device plumbed into the configured interface (net.ts) serves a built-in app (or
// the relay to a local server) at the address the splicers' backends list names. With
// splitSplice (the default) it is wrapped in SplitSpliceBackend (src/craft/split-backend.ts):
// the splicer sends each spliced connection's state, sealed with the shared key, and this
// host rewrites its return segments into the client's connection and sends them straight
// to the client; the splicer then carries only the client→server direction. State is
// accepted only from the configured splicer service addresses (a frame filter below) and
// only when sealed with the key (the module itself).
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { TapDevice } from '../drivers/tap/tap-device.js';
import { TapDriver } from '../drivers/tap/tap-driver.js';
import { SplitSpliceBackend, SPLIT_CONTROL_PORT } from '../craft/split-backend.js';
import { STACK_MSS, STACK_MTU } from '../lab/stack-host.js';
import { tcpConnectionFactory } from '../stack/tcp-engine.js';
import { SeededRng } from '../util/rng.js';
import type { FrameEndpoint, OutgoingFrame } from '../stack/endpoint.js';
import { Host } from '../stack/host.js';
import type { TcpConnection } from '../tcp/connection.js';
import { cubic } from '../tcp/congestion/cubic.js';
import { newReno } from '../tcp/congestion/newreno.js';
import { ETHERNET_HEADER_LEN } from '../wire/ethernet.js';
import { parseIpv4 } from '../wire/addr.js';
import type { BackendSection } from '../config/schema.js';
import type { EventLogger } from '../observe/log.js';
import type { UnbrokenMetrics } from '../observe/metrics.js';
import { DriverTurns, serveApp } from './app-service.js';
import { deviceNames, plumbTap } from './net.js';
import type { RunningRole } from './types.js';
import { ServeError } from './types.js';

/** How often gauges and rejection counters are refreshed (scrapes read the latest values). */
const REFRESH_MS = 100;

/**
 * Drops UDP datagrams to the split-splice control port whose IPv4 source is not one of
 * `allowed` (the splicers' service address) before the module sees them; counts them.
 */
export class SplitSourceFilter implements FrameEndpoint {
  private dropped = 0;
  private readonly allowed: Set<number>;

  constructor(private readonly inner: FrameEndpoint, allowed: readonly string[], private readonly port = SPLIT_CONTROL_PORT) {
    this.allowed = new Set(allowed.map((a) => parseIpv4(a)!));
  }

  droppedCount(): number { return this.dropped; }

  handleFrame(ifIndex: number, frame: Uint8Array, nowUs: number): void {
    if (this.foreignControl(frame)) { this.dropped++; return; }
    this.inner.handleFrame(ifIndex, frame, nowUs);
  }

  private foreignControl(f: Uint8Array): boolean {
    const ip = ETHERNET_HEADER_LEN;
    // IPv4 (ethertype 0x0800), protocol UDP (17), first fragment with its header present.
    if (f.length < ip + 20 || f[12] !== 0x08 || f[13] !== 0x00 || f[ip + 9] !== 17) return false;
    const ihl = (f[ip]! & 0x0f) * 4;
    if (ihl < 20 || f.length < ip + ihl + 4) return false;
    if ((((f[ip + 6]! & 0x1f) << 8) | f[ip + 7]!) !== 0) return false;   // later fragments carry no UDP header
    const dport = (f[ip + ihl + 2]! << 8) | f[ip + ihl + 3]!;
    if (dport !== this.port) return false;
    const src = ((f[ip + 12]! << 24) | (f[ip + 13]! << 16) | (f[ip + 14]! << 8) | f[ip + 15]!) >>> 0;
    return !this.allowed.has(src);
  }

  handleTimeout(nowUs: number): void { this.inner.handleTimeout(nowUs); }
  pollDeadline(): number | undefined { return this.inner.pollDeadline(); }
  pollTransmit(): OutgoingFrame | undefined { return this.inner.pollTransmit(); }
}

/** The split module's rejection counters as control.rejected reasons. */
const REJECT_REASONS: Record<string, string> = {
  'split-auth-failed': 'bad-mac', 'split-replayed': 'replay', 'split-malformed': 'malformed', 'split-table-full': 'table-full',
};

export async function startBackendRole(node: string, c: BackendSection, log: EventLogger, metrics: UnbrokenMetrics): Promise<RunningRole> {
  const key = readFileSync(c.keyFile);
  if (key.length < 32) throw new ServeError(`${c.keyFile}: the key needs at least 32 bytes`);
  const turns = new DriverTurns();
  const app = await serveApp(c.app, 'backend.app', turns, log);
  const names = deviceNames(node);
  const plumbing = plumbTap(c.interface, [c.address.mac], names);
  let driver: TapDriver | undefined;
  let refresh: NodeJS.Timeout | undefined;
  try {
    const tap = TapDevice.open(plumbing.tap);
    const host = new Host<TcpConnection>({
      name: `${node}-backend`, mac: c.address.mac, ip: c.address.ip, prefixLen: c.address.prefixLen,
      ...(c.address.gateway !== undefined ? { gateway: c.address.gateway } : {}),
      rng: new SeededRng(randomBytes(4).readUInt32LE(0)),
      // A real network: the ISN secret comes from the OS.
      isnKey: randomBytes(16),
      mtu: STACK_MTU,
      tcpFactory: tcpConnectionFactory({
        mss: c.tcp.mss ?? STACK_MSS,
        sack: c.tcp.sack, timestamps: c.tcp.timestamps, windowScale: c.tcp.windowScale,
        congestion: c.tcp.congestion === 'cubic' ? cubic : newReno,
      }),
    });
    host.listen(c.address.port, app.service);
    const split = c.splitSplice ? new SplitSpliceBackend(host, { key: new Uint8Array(key), maxSplices: c.maxSplices }) : undefined;
    const filter = split ? new SplitSourceFilter(split, c.splicers) : undefined;
    const endpoint: FrameEndpoint = filter ?? host;
    metrics.addStackSource(`${node}-backend`, () => host.counters());
    if (split) metrics.addStackSource(`${node}-split`, () => ({ ...split.counters(), 'split-foreign-source': filter!.droppedCount() }));
    const counted: Record<string, number> = {};
    const refreshGauges = (): void => {
      metrics.connections.set({ role: 'backend' }, host.tcpConnections().length);
      if (!split) return;
      metrics.splices.set(split.spliceCount());
      const now: Record<string, number> = { ...split.counters(), 'split-foreign-source': filter!.droppedCount() };
      for (const [k, reason] of Object.entries({ ...REJECT_REASONS, 'split-foreign-source': 'unknown-peer' })) {
        const d = (now[k] ?? 0) - (counted[k] ?? 0);
        if (d <= 0) continue;
        counted[k] = now[k]!;
        metrics.controlRejected.inc({ reason }, d);
        log.event('control.rejected', { reason, count: d, port: SPLIT_CONTROL_PORT }, `dropped ${d} split-splice message${d === 1 ? '' : 's'}: ${reason}`);
      }
    };
    driver = new TapDriver(tap, endpoint, (e) => { log.event('tap.failed', { error: e.message }, 'TAP device failed'); });
    turns.attach(driver, endpoint);
    driver.start();
    driver.run((now) => host.announce(now));
    refresh = setInterval(refreshGauges, REFRESH_MS);
    refresh.unref();
    log.event('interface.attached', { tap: plumbing.tap, bridge: plumbing.bridge, createdBridge: plumbing.createdBridge, interface: c.interface, ...(plumbing.reclaimed.length > 0 ? { reclaimed: plumbing.reclaimed } : {}) }, `TAP ${plumbing.tap} on bridge ${plumbing.bridge}${plumbing.reclaimed.length > 0 ? ` (removed ${plumbing.reclaimed.join(', ')} left by a serve killed without cleanup)` : ''}`);
    const d = driver;
    return {
      describe: {
        tap: plumbing.tap, bridge: plumbing.bridge, address: `${c.address.ip}:${c.address.port}`, app: app.describe,
        splitSplice: c.splitSplice, ...(c.splitSplice ? { splicers: c.splicers, controlPort: SPLIT_CONTROL_PORT } : {}),
      },
      async stop() {
        clearInterval(refresh);
        refreshGauges();
        log.event('node.final', { stats: { backend: host.counters(), ...(split ? { split: split.counters(), splitForeignSource: filter!.droppedCount() } : {}) }, driver: d.counters, app: app.counters() }, 'final counters');
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
