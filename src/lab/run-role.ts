// The processes a lab starts inside its namespaces: our stack serving an app on a TAP
// (`server`, stack 'ours'), the same app on kernel TCP (`server`, stack 'linux': the
// baseline), and our stack as a client fetching from a Linux server (`fetch`).
// Each prints one JSON line on stdout when ready (server) or done (fetch).
import { createHash } from 'node:crypto';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { createApp, type AppKind } from '../apps/index.js';
import { FsFileStore } from '../drivers/fs-file-store.js';
import { serveOnNet } from '../drivers/node-net/serve.js';
import { TapDevice } from '../drivers/tap/tap-device.js';
import { TapDriver } from '../drivers/tap/tap-driver.js';
import { ImpairedEndpoint, parseImpairment } from '../drivers/impaired-endpoint.js';
import type { FrameEndpoint } from '../stack/endpoint.js';
import type { TcpConfig } from '../tcp/connection.js';
import { STACK_MSS, STACK_MTU, makeStackHost } from './stack-host.js';

export interface StackIface {
  tap: string; mac: string; ip: string; prefixLen: number; seed: number;
  /** netem-style impairment applied inside the driver, both directions (see impaired-endpoint.ts). */
  impair?: string;
  /** TAP checksum and segmentation offloads (IFF_VNET_HDR): 64 KB TCP segments to the kernel. */
  offload?: boolean;
  tcp?: Partial<Pick<TcpConfig, 'sack' | 'timestamps' | 'windowScale' | 'nagle' | 'sndBufBytes' | 'rcvBufBytes'>> }

export type RoleConfig =
  | { role: 'server'; stack: 'ours'; iface: StackIface; app: AppKind; port: number; root?: string }
  | { role: 'server'; stack: 'linux'; ip: string; app: AppKind; port: number; root?: string }
  | {
    role: 'fetch'; stack: 'ours'; iface: StackIface; remoteIp: string; remotePort: number;
    /** Bytes to send first (e.g. an HTTP/1.0 request), then keep reading until the peer's FIN. */
    request: string;
    /** Hash only what follows the first blank line (an HTTP response's body). */
    skipHttpHead: boolean;
    timeoutMs: number;
  };

function makeApp(c: { app: AppKind; root?: string }) {
  return createApp(c.app, { store: c.app === 'http' ? new FsFileStore(c.root ?? '.') : undefined });
}

/**
 * From now on: event-loop delay (perf_hooks, 5 ms resolution) and GC pauses; the
 * returned function reads them (ms). For the lab's log and the tap-cost benchmark.
 */
function watchEventLoop(): () => Record<string, number> {
  const h = monitorEventLoopDelay({ resolution: 5 });
  h.enable();
  const gc = { count: 0, totalMs: 0, maxMs: 0 };
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) { gc.count++; gc.totalMs += e.duration; gc.maxMs = Math.max(gc.maxMs, e.duration); }
  });
  obs.observe({ entryTypes: ['gc'] });
  const ms = (ns: number): number => Math.round(ns / 1e4) / 100;
  return () => {
    h.disable();
    obs.disconnect();
    return {
      delayMaxMs: ms(h.max), delayP99Ms: ms(h.percentile(99)), delayMeanMs: ms(h.mean),
      gcCount: gc.count, gcTotalMs: Math.round(gc.totalMs), gcMaxMs: Math.round(gc.maxMs * 100) / 100,
    };
  };
}

/** Runs a role until SIGTERM (server) or completion (fetch). Resolves with the exit code. */
export async function runRole(c: RoleConfig): Promise<number> {
  if (c.role === 'server' && c.stack === 'linux') {
    const srv = await serveOnNet(makeApp(c).service, { host: c.ip, port: c.port });
    console.log(JSON.stringify({ ready: true, pid: process.pid }));
    process.on('SIGUSR2', () => console.log(JSON.stringify({ stats: true, tcp: null })));   // the kernel's TCP: nothing of ours to count
    await new Promise<void>((resolve) => { process.once('SIGTERM', resolve); process.once('SIGINT', resolve); });
    srv.close();
    return 0;
  }
  // The writer thread for bulk throughput; UNBROKEN_TAP_WRITER=direct writes on the event loop (for measuring).
  const writer = process.env.UNBROKEN_TAP_WRITER === 'direct' ? 'direct' : 'thread';
  const tap = TapDevice.open(c.iface.tap, { writer, offload: c.iface.offload ? { mss: STACK_MSS, mtu: STACK_MTU } : undefined });
  const host = makeStackHost({
    name: c.role, mac: c.iface.mac, ip: c.iface.ip, prefixLen: c.iface.prefixLen, seed: c.iface.seed, offload: c.iface.offload, tcp: c.iface.tcp,
  });
  let fatal: Error | undefined;
  let endpoint: FrameEndpoint = host;
  if (c.iface.impair !== undefined) {
    const imp = parseImpairment(c.iface.impair);
    if (!imp.ok) throw new Error(`--impair: ${imp.error}`);
    endpoint = new ImpairedEndpoint(host, imp.value, c.iface.seed);
  }
  // UNBROKEN_TAP_READER=async-poll selects the other read mechanism (for measuring).
  const reader = process.env.UNBROKEN_TAP_READER === 'async-poll' ? 'async-poll' : 'worker';
  const driver = new TapDriver(tap, endpoint, (e) => { fatal = e; }, reader);
  if (c.role === 'server') {
    host.listen(c.port, makeApp(c).service);
    driver.start();
    // Announce ourselves so the bridge learns the port and neighbours learn the MAC.
    driver.run((now) => host.announce(now));
    const loop = watchEventLoop();
    console.log(JSON.stringify({ ready: true, pid: process.pid, seed: c.iface.seed }));
    // SIGUSR2: the TCP retransmission counters so far (a test reads them beside its capture).
    const onUsr2 = (): void => console.log(JSON.stringify({ stats: true, tcp: host.tcpStatsTotal(), driver: driver.counters }));
    process.on('SIGUSR2', onUsr2);
    await new Promise<void>((resolve) => { process.once('SIGTERM', resolve); process.once('SIGINT', resolve); });
    process.off('SIGUSR2', onUsr2);
    await driver.stop();
    // For the lab's log: what the device and the stack did over the run, and how late the event loop ran.
    console.error(JSON.stringify({ exiting: true, tap: tap.counters, tapWriterErrors: tap.writerErrors(), driver: driver.counters, host: host.counters(), tcp: host.tcpStatsTotal(), eventLoop: loop() }));
    return fatal === undefined ? 0 : 1;
  }
  driver.start();
  const result = await new Promise<{ bytes: number; sha256: string; elapsedMs: number; closeReason: string }>((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const hash = createHash('sha256');
    let bytes = 0;
    let headDone = !c.skipHttpHead;
    let tail = '';
    let pending = new TextEncoder().encode(c.request);
    const timer = setTimeout(() => reject(new Error(`fetch timed out after ${c.timeoutMs} ms (${bytes} bytes)`)), c.timeoutMs);
    const finish = (reason: string): void => {
      clearTimeout(timer);
      resolve({ bytes, sha256: hash.digest('hex'), elapsedMs: Number(process.hrtime.bigint() - t0) / 1e6, closeReason: reason });
    };
    let done = false;
    driver.run((now) => host.connect(c.remoteIp, c.remotePort, (conn) => {
      const push = (): void => {
        if (pending.length === 0) return;
        const n = conn.write(pending);
        pending = pending.subarray(n);
      };
      return {
        onOpen: push,
        onWritable: push,
        onData: (d: Uint8Array): void => {
          if (!headDone) {
            // Find the end of the head across chunk boundaries.
            const text = tail + Buffer.from(d).toString('latin1');
            const i = text.indexOf('\r\n\r\n');
            if (i < 0) { tail = text.slice(-3); return; }
            headDone = true;
            const bodyStart = i + 4 - tail.length;
            d = d.subarray(Math.max(0, bodyStart));
          }
          bytes += d.length;
          hash.update(d);
        },
        onEnd: (): void => { conn.end(); },
        onClose: (reason): void => { if (!done) { done = true; finish(reason); } },
      };
    }, now));
  });
  console.log(JSON.stringify({ pid: process.pid, seed: c.iface.seed, ...result, counters: host.counters(), tap: tap.counters }));
  await driver.stop();
  return result.closeReason === 'closed' && fatal === undefined ? 0 : 1;
}
