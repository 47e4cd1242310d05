// `unbroken serve` for role splicer: a CRAFT splicer (src/craft/) on a TAP device
// plumbed into the configured interface (net.ts), driven in real time by the TAP driver.
// Without a peer it is a bare Splicer at the service address; with one it is a CraftNode
// (active or standby) that replicates splice state to its peer over the HMAC-sealed
// control channel and takes the service address over when the peer falls silent, after
// running the optional fencing command. The lab's host process for the same thing is
// src/lab/craft-host-main.ts (no config, metrics or fencing command).
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { TapDevice } from '../drivers/tap/tap-device.js';
import { TapDriver } from '../drivers/tap/tap-driver.js';
import { CraftNode, type CraftNodeEvent } from '../craft/node.js';
import { Splicer, type SplicerConfig, type SplicerEvent } from '../craft/splicer.js';
import type { SpliceState } from '../craft/splice.js';
import type { BackendSpec, RouteConfig } from '../craft/routes.js';
import { parseHostPort } from '../config/address.js';
import type { SplicerSection } from '../config/schema.js';
import type { EventLogger } from '../observe/log.js';
import type { UnbrokenMetrics } from '../observe/metrics.js';
import { cubic } from '../tcp/congestion/cubic.js';
import { newReno } from '../tcp/congestion/newreno.js';
import { SeededRng } from '../util/rng.js';
import { formatIpv4 } from '../wire/addr.js';
import { deviceNames, plumbTap } from './net.js';
import { missedIntervals, runFence } from './sttcp-role.js';
import type { RunningRole } from './types.js';
import { ServeError } from './types.js';

/** How often gauges are refreshed from the splicer (scrapes read the latest values). */
const REFRESH_MS = 100;

/**
 * The config's back ends and routes as the splicer's pools and rules: one pool per route
 * (its named back ends), or a single pool of every back end when there are no routes.
 */
export function routesFromConfig(c: Pick<SplicerSection, 'backends' | 'routes'>): RouteConfig {
  const spec = (name: string): BackendSpec => {
    const b = c.backends.find((x) => x.name === name)!;
    return { id: b.name, ip: b.ip, port: b.port, weight: b.weight, ...(b.splitSplice ? { split: true } : {}) };
  };
  if (c.routes.length === 0) return { pools: { all: c.backends.map((b) => spec(b.name)) }, rules: [{ pool: 'all' }] };
  const pools: Record<string, BackendSpec[]> = {};
  const rules = c.routes.map((r, i) => {
    const pool = `route${i}`;
    pools[pool] = r.backends.map(spec);
    return { pool, ...(r.host !== undefined ? { host: r.host } : {}), ...(r.pathPrefix !== undefined ? { pathPrefix: r.pathPrefix } : {}) };
  });
  return { pools, rules };
}

/** The splicer settings common to a solo splicer and a pair's node. */
export function splicerSettings(c: SplicerSection, onEvent: (e: SplicerEvent) => void, onSplice: (sp: Readonly<SpliceState>) => void, split?: SplicerConfig['split']): Omit<SplicerConfig, 'name' | 'rng' | 'prefixLen'> {
  return {
    serviceIp: c.service.ip, serviceMac: c.service.mac, servicePort: c.service.port,
    ...(c.service.gateway !== undefined ? { gateway: c.service.gateway } : {}),
    routes: routesFromConfig(c),
    headLimitBytes: c.maxRequestHeadBytes,
    maxSplices: c.maxConnections,
    healthIntervalUs: c.health.intervalMs * 1000, healthTimeoutUs: c.health.timeoutMs * 1000,
    tcp: {
      sack: c.tcp.sack, timestamps: c.tcp.timestamps, windowScale: c.tcp.windowScale,
      congestion: c.tcp.congestion === 'cubic' ? cubic : newReno,
      ...(c.tcp.mss !== undefined ? { mss: c.tcp.mss } : {}),
    },
    ...(split !== undefined ? { split } : {}),
    onEvent, onSplice,
  };
}

export async function startSplicerRole(node: string, c: SplicerSection, log: EventLogger, metrics: UnbrokenMetrics): Promise<RunningRole> {
  const listen = parseHostPort(c.control.listen)!;   // validated: IPv4 on the service LAN
  const peer = c.control.peers[0] !== undefined ? parseHostPort(c.control.peers[0])! : undefined;
  let key: Buffer | undefined;
  const anySplit = c.backends.some((b) => b.splitSplice);
  if (peer || anySplit) {
    key = readFileSync(c.keyFile);
    if (key.length < 32) throw new ServeError(`${c.keyFile}: the key needs at least 32 bytes`);
  }
  const onSplicerEvent = (e: SplicerEvent): void => {
    switch (e.kind) {
      case 'spliced': return;   // onSplice logs it with its fields
      case 'splice-removed': log.event('splice.removed', { tUs: e.tUs }, e.text); return;
      case 'error-response': log.event('splice.error-response', { tUs: e.tUs }, e.text); return;
      // The splicer's text starts with the back end's name.
      case 'backend-failed': log.event('backend.down', { tUs: e.tUs, backend: e.text.split(' ')[0], reason: e.text }, e.text); return;
    }
  };
  const onSplice = (sp: Readonly<SpliceState>): void => {
    log.event('splice.created', {
      conn: sp.id, backend: sp.backendId,
      client: `${formatIpv4(sp.client.ip)}:${sp.client.port}`, backendAddress: `${formatIpv4(sp.backend.ip)}:${sp.backend.port}`,
      // Split: the back end got the splice state and answers the client directly.
      ...(sp.split === true ? { split: true } : {}),
    });
  };
  // Split back ends (role backend) get each splice's state sealed with the shared key,
  // from this splicer's id; the epoch grows with wall time so a restarted splicer's
  // messages pass the back end's replay guard.
  const nodeId = c.control.nodeId ?? (peer === undefined || c.control.startAs === 'active' ? 1 : 2);
  const split = anySplit ? { key: new Uint8Array(key!), sender: nodeId, epoch: Math.floor(Date.now() / 1000) } : undefined;
  const settings = splicerSettings(c, onSplicerEvent, onSplice, split);
  const rng = new SeededRng(randomBytes(4).readUInt32LE(0));
  const names = deviceNames(node);
  const plumbing = plumbTap(c.interface, peer ? [c.service.mac, c.control.mac!] : [c.service.mac], names);
  let driver: TapDriver | undefined;
  let refresh: NodeJS.Timeout | undefined;
  try {
    const tap = TapDevice.open(plumbing.tap);
    let splicer: () => Splicer;
    let craft: CraftNode | undefined;
    let announce: (now: number) => void;
    const heartbeatUs = c.heartbeatMs * 1000;
    if (!peer) {
      const sp = new Splicer({ ...settings, name: `${node}-splicer`, rng, prefixLen: c.service.prefixLen });
      splicer = () => sp;
      announce = (now) => sp.host.announce(now);
    } else {
      const startAs = c.control.startAs!;
      const fence = c.fencing;
      const n: CraftNode = new CraftNode({
        name: node, nodeId,
        // A restarted process is a new incarnation: the epoch grows with wall time.
        epoch: Math.floor(Date.now() / 1000),
        role: startAs, ownIp: listen.host, ownMac: c.control.mac!, peerIp: peer.host, prefixLen: c.service.prefixLen,
        controlPort: listen.port, rng, splicer: settings, key: new Uint8Array(key!),
        heartbeatUs, deadAfterUs: heartbeatUs * c.missCount,
        onEvent: (e) => onNodeEvent(e),
      });
      craft = n;
      splicer = () => n.splicer;
      announce = (now) => { n.own.announce(now); if (n.isActive()) n.splicer.host.announce(now); };
      const onNodeEvent = (e: CraftNodeEvent): void => {
        const heard = n.peerLastHeardUs();
        const since = heard !== undefined ? { sinceLastHeardMs: (e.tUs - heard) / 1000 } : {};
        switch (e.kind) {
          case 'peer-up': log.event('peer.up', { tUs: e.tUs, peer: peer.host }, `peer splicer ${peer.host} answers`); break;
          case 'peer-lost':
            if (n.isActive()) log.event('backup.lost', { tUs: e.tUs, peer: peer.host, ...since }, 'the standby splicer fell silent: serving without replication');
            else {
              log.event('failover.detected', { tUs: e.tUs, peer: peer.host, missed: c.missCount, ...since }, `active splicer ${peer.host} silent`);
              // Synchronously, before the node takes the service address over.
              if (fence) runFence(fence.command, fence.timeoutMs, log);
            }
            break;
          case 'takeover': {
            const fields: Record<string, unknown> = { tUs: e.tUs, splices: n.splicer.spliceCount(), connections: n.splicer.spliceCount(), ...since };
            metrics.failovers.inc({ technique: 'craft', kind: 'takeover' });
            if (heard !== undefined) {
              fields.takeoverMs = (e.tUs - heard) / 1000;
              metrics.takeoverSeconds.observe({ technique: 'craft' }, (e.tUs - heard) / 1e6);
            }
            log.event('takeover.complete', fields, `took over the service address with ${n.splicer.spliceCount()} splices`);
            break;
          }
          case 'fenced': log.event('lease.lapsed', { tUs: e.tUs, leaseMs: (heartbeatUs * (c.missCount - 2)) / 1000 }, e.text); break;
          case 'unfenced': log.event('lease.restored', { tUs: e.tUs }, 'heard the standby again'); break;
          case 'solo': log.event('backup.lost', { tUs: e.tUs, peer: peer.host }, e.text); break;
          case 'demoted': log.event('stepped.down', { tUs: e.tUs, reason: e.text }, `back to standby: ${e.text}`); break;
          case 'replication-failed': log.event('replication.failed', { tUs: e.tUs }, e.text); break;
        }
        refreshGauges();
      };
    }
    metrics.addStackSource(`${node}-splicer`, () => splicer().counters());
    if (craft) {
      const n = craft;
      metrics.addStackSource(`${node}-own`, () => n.own.counters());
      metrics.addStackSource(`${node}-craft`, () => n.counters());
    }
    let resplicesCounted = 0;
    let rejected: Record<string, number> = {};
    let missedCounted = 0;
    let missedHeard: number | undefined;
    const refreshGauges = (): void => {
      const sp = splicer();
      metrics.splices.set(sp.spliceCount());
      metrics.connections.set({ role: 'splicer' }, sp.spliceCount() + sp.sessionCount());
      // Splices moved to another back end: the splicer's resplice counter (per splicer object).
      const resplices = sp.counters()['resplice'] ?? 0;
      if (resplices > resplicesCounted) metrics.failovers.inc({ technique: 'craft', kind: 'backend' }, resplices - resplicesCounted);
      resplicesCounted = resplices;
      if (!craft || !peer) return;
      const now = driver?.nowUs() ?? 0;
      metrics.degraded.set(craft.isActive() && !peerHeardRecently(craft, now) ? 1 : 0);
      const heard = craft.peerLastHeardUs();
      if (heard !== missedHeard) { missedHeard = heard; missedCounted = 0; }
      if (heard !== undefined) {
        const m = missedIntervals(now - heard, heartbeatUs);
        if (m > missedCounted) { metrics.heartbeatsMissed.inc({ peer: peer.host }, m - missedCounted); missedCounted = m; }
      }
      const next: Record<string, number> = {};
      for (const [k, v] of Object.entries(craft.counters())) {
        // The node counts dropped control messages as control-<reason>.
        if (!k.startsWith('control-')) continue;
        const reason = k.slice('control-'.length);
        next[reason] = v;
        const d = v - (rejected[reason] ?? 0);
        if (d > 0) metrics.controlRejected.inc({ reason }, d);
      }
      rejected = next;
    };
    const peerHeardRecently = (n: CraftNode, now: number): boolean => {
      const h = n.peerLastHeardUs();
      return h !== undefined && now - h < heartbeatUs * c.missCount;
    };
    driver = new TapDriver(tap, craft ?? splicer(), (e) => { log.event('tap.failed', { error: e.message }, 'TAP device failed'); });
    driver.start();
    driver.run(announce);
    refresh = setInterval(refreshGauges, REFRESH_MS);
    refresh.unref();
    log.event('interface.attached', { tap: plumbing.tap, bridge: plumbing.bridge, createdBridge: plumbing.createdBridge, interface: c.interface, ...(plumbing.reclaimed.length > 0 ? { reclaimed: plumbing.reclaimed } : {}) }, `TAP ${plumbing.tap} on bridge ${plumbing.bridge}${plumbing.reclaimed.length > 0 ? ` (removed ${plumbing.reclaimed.join(', ')} left by a serve killed without cleanup)` : ''}`);
    const d = driver;
    return {
      describe: {
        tap: plumbing.tap, bridge: plumbing.bridge, service: `${c.service.ip}:${c.service.port}`,
        mode: peer ? `pair, starting ${c.control.startAs}` : 'solo', backends: c.backends.map((b) => `${b.name}=${b.ip}:${b.port}`),
        ...(peer ? { host: listen.host, peer: peer.host } : {}),
      },
      async stop() {
        clearInterval(refresh);
        log.event('node.final', { stats: { splicer: splicer().counters(), ...(craft ? { node: craft.counters() } : {}) }, driver: d.counters }, 'final counters');
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
