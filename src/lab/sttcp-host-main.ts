// The process the `sttcp` lab starts inside the primary's and the backup's namespace:
// one StTcpNode (src/sttcp/node.ts) on a TAP device, real time. Its SIGKILL is the
// crash of that host. Also the lab's power switch: fencing the peer = SIGKILL of the
// peer's pid, which the lab writes to a file once both processes run. Not the topology
// (sttcp-topology.ts) and not ST-TCP itself (src/sttcp/).
import { readFileSync } from 'node:fs';
import { PerformanceObserver } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { createApp, type AppKind } from '../apps/index.js';
import { RelayApp } from '../apps/relay/relay-app.js';
import { netUpstream, waitForUpstream } from '../apps/relay/net-upstream.js';
import { FsFileStore } from '../drivers/fs-file-store.js';
import { TapDevice } from '../drivers/tap/tap-device.js';
import { HEARTBEAT_TURNS, TapDriver } from '../drivers/tap/tap-driver.js';
import type { FrameEndpoint } from '../stack/endpoint.js';
import { StTcpNode, type DurabilityMode, type StTcpEvent } from '../sttcp/node.js';
import { replicatedService, type AppRestore, type SharedAppState } from '../sttcp/app-state.js';
import type { StreamService } from '../stack/app.js';
import type { LivenessConfig } from '../sttcp/liveness.js';
import { SeededRng } from '../util/rng.js';
import { makeStackHost, OFFLOAD_IP_MAX_BYTES, STACK_MSS, STACK_MTU, TSO_MAX_BYTES } from './stack-host.js';

export interface SttcpHostConfig {
  /** 'solo': the same address and app on a plain Host of our stack, no ST-TCP (the baseline). */
  role: 'primary' | 'backup' | 'solo';
  tap: string;
  /** A built-in app, or 'relay': each connection relayed to `relayUpstream` (an unmodified server in this namespace). */
  app: AppKind | 'relay';
  port: number;
  root?: string;
  /** For 'relay': where this host's copy of the server listens (loopback). */
  relayUpstream?: { host: string; port: number };
  mode: DurabilityMode;
  ownMac: string;
  ownIp: string;
  peerIp: string;
  serviceMac: string;
  serviceIp: string;
  prefixLen: number;
  /** File holding the shared control-channel key (hex), readable by root only. */
  keyFile: string;
  /** File the lab writes the peer's pid into: the target of this host's fence. */
  peerPidFile: string;
  seed: number;
  liveness?: Partial<LivenessConfig>;
  /**
   * The TAP of a dedicated control link to the peer (interface 1 of the node): the own
   * address (ownIp) and the control channel live there, apart from the service LAN.
   */
  controlTap?: string;
  /**
   * TAP checksum and segmentation offloads on the service interface (IFF_VNET_HDR): TCP
   * segments up to 64 KB to the kernel, and the client's segments as the kernel coalesced
   * them (on both hosts alike: the hub forwards each one whole to the primary and the backup).
   */
  offload?: boolean;
}

/** Is `pid` one of our ST-TCP host processes (pids get reused)? */
function isSttcpHost(pid: number): boolean {
  try { return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('run-sttcp'); } catch { return false; }
}

/**
 * The lab's power switch: SIGKILL the peer's process. True once the peer is certainly
 * dead (killed now, or already gone); false when the lab has not told us its pid.
 */
export function fencePeer(peerPidFile: string): boolean {
  let pid: number;
  try { pid = Number(readFileSync(peerPidFile, 'utf8').trim()); } catch { return false; }
  if (!Number.isInteger(pid) || pid <= 1) return false;
  if (!isSttcpHost(pid)) return true; // already gone (or its pid reused by something else)
  try { process.kill(pid, 'SIGKILL'); } catch (e) { return (e as NodeJS.ErrnoException).code === 'ESRCH'; }
  return true;
}

function log(o: Record<string, unknown>): void {
  // Wall-clock and monotonic stamps: the bench relates events to a client's receive times.
  console.log(JSON.stringify({ monoNs: process.hrtime.bigint().toString(), ...o }));
}

/** Runs until SIGTERM/SIGINT; resolves with the exit code. */
export async function runSttcpHost(c: SttcpHostConfig): Promise<number> {
  // Upstream events arrive outside the driver's turn: run them inside it, at the current
  // time, so that what the relay writes is sent at once. The events of one I/O phase go
  // in one turn (one clock update and one drain for many replies, not one each).
  let driver: TapDriver | undefined;
  const queued: Array<() => void> = [];
  const runQueued = (): void => {
    const batch = queued.splice(0);
    driver!.run((now) => {
      endpoint.handleTimeout(now);
      for (const fn of batch) fn();
    });
  };
  const enter = (fn: () => void): void => {
    if (driver === undefined) { fn(); return; }
    queued.push(fn);
    if (queued.length === 1) setImmediate(runQueued);
  };
  const served = await makeService(c, enter);
  const tap = TapDevice.open(c.tap, c.offload ? { offload: { mss: STACK_MSS, mtu: STACK_MTU } } : {});
  let fatal: Error | undefined;
  let node: StTcpNode | undefined;
  let controlTap: TapDevice | undefined;
  let controlLink: ReturnType<typeof withControlTap> | undefined;
  let endpoint: FrameEndpoint;
  let announce: (now: number) => void;
  if (c.role === 'solo') {
    const host = makeStackHost({ name: 'solo', mac: c.serviceMac, ip: c.serviceIp, prefixLen: c.prefixLen, seed: c.seed, offload: c.offload === true });
    host.listen(c.port, served.service);
    endpoint = host;
    announce = (now) => host.announce(now);
  } else {
    const key = Buffer.from(readFileSync(c.keyFile, 'utf8').trim(), 'hex');
    if (key.length < 16) throw new Error(`${c.keyFile}: key too short`);
    const n = new StTcpNode({
      role: c.role, name: c.role, nodeId: c.role === 'primary' ? 1 : 2,
      // A restarted process is a new incarnation: the epoch grows with wall time.
      epoch: Math.floor(Date.now() / 1000),
      ownMac: c.ownMac, ownIp: c.ownIp, prefixLen: c.prefixLen, peerIp: c.peerIp,
      serviceMac: c.serviceMac, serviceIp: c.serviceIp,
      ...(c.controlTap !== undefined ? { controlIfIndex: 1 } : {}),
      // Joinable where the app can be restored (echo, blob, http, resp): a returning backup
      // receives the live connections, and the RESP app's key space with them.
      services: [{ port: c.port, ...served.replicated }],
      ...(served.joinRefusal !== undefined ? { joinRefusal: served.joinRefusal } : {}),
      key: new Uint8Array(key), mode: c.mode, liveness: c.liveness ?? {},
      // The same TCP as the baseline's plain host (stack-host.ts), with the same offloads.
      tcp: { mss: STACK_MSS, ...(c.offload ? { tsoMaxBytes: TSO_MAX_BYTES } : {}) },
      ...(c.offload ? { tcpOffloadMaxBytes: OFFLOAD_IP_MAX_BYTES } : {}),
      rng: new SeededRng(c.seed ^ randomBytes(4).readUInt32LE(0)),
      fence: () => fencePeer(c.peerPidFile),
      onEvent: (e: StTcpEvent) => {
        log({ event: e.kind, tUs: e.tUs, text: e.text, ...(e.kind === 'takeover.complete' ? { stats: node?.stats() } : {}) });
      },
    });
    node = n;
    endpoint = n;
    announce = (now) => { n.own.announce(now); if (c.role === 'primary') n.service.announce(now); };
    if (c.controlTap !== undefined) {
      controlTap = TapDevice.open(c.controlTap);
      controlLink = withControlTap(n, controlTap);
      endpoint = controlLink.endpoint;
    }
  }
  driver = new TapDriver(tap, endpoint, (e) => { fatal = e; log({ fatal: e.message }); }, HEARTBEAT_TURNS);
  driver.start();
  if (controlTap !== undefined && controlLink !== undefined) {
    const d = driver;
    const link = controlLink;
    // Read on the event loop itself ('async-poll'): before a liveness deadline fires, the
    // driver's drainReadable() then reads what the kernel holds for the link at that
    // instant. With a reader thread it saw only what that thread had read, and on a busy
    // machine the thread can be kept off the CPU while the peer's heartbeats wait.
    controlTap.startReading(() => link.onReadable(d), (e) => { fatal = e; log({ fatal: `control link: ${e.message}` }); }, 'async-poll');
  }
  driver.run(announce);
  console.log(JSON.stringify({ ready: true, pid: process.pid, role: c.role, seed: c.seed }));
  const stalls = watchStalls(driver);
  await new Promise<void>((resolve) => { process.once('SIGTERM', resolve); process.once('SIGINT', resolve); });
  stalls();
  log({ exit: true, stats: node?.stats() ?? {}, driver: driver.counters, tap: tap.counters, app: served.counters() });
  await driver.stop();
  await controlTap?.close();
  return fatal === undefined ? 0 : 1;
}

/**
 * The node as the service TAP's driver sees it, with the control link as interface 1:
 * frames the node sends there are written to `controlTap` as they are drained (the rest go
 * to the driver), and the link's frames (taken when readable) reach the node on the driver's clock
 * and turn (one clock for the node; its output drained and its timer rescheduled after
 * each). Before timers fire, the frames the link has already delivered are handled, as
 * the driver does for its own TAP: after an event-loop stall the peer's queued heartbeats
 * come before a liveness deadline that fell due meanwhile.
 */
function withControlTap(n: StTcpNode, controlTap: TapDevice): { endpoint: FrameEndpoint; onReadable: (driver: TapDriver) => void } {
  const endpoint: FrameEndpoint = {
    handleFrame: (ifIndex, frame, nowUs) => n.handleFrame(ifIndex, frame, nowUs),
    handleTimeout: (nowUs) => {
      // Inside the driver's turn: it drains the output afterwards.
      controlTap.drainReadable();
      controlTap.takeFrames(CONTROL_FRAMES_PER_TURN, (f) => { n.handleFrame(1, f, nowUs); });
      n.handleTimeout(nowUs);
    },
    pollDeadline: () => n.pollDeadline(),
    pollTransmit: () => {
      for (;;) {
        const out = n.pollTransmit();
        if (out === undefined || out.ifIndex !== 1) return out;
        controlTap.write(out.frame);
      }
    },
  };
  let again = false;
  const onReadable = (driver: TapDriver): void => {
    controlTap.takeFrames(CONTROL_FRAMES_PER_TURN, (f) => { driver.run((now) => n.handleFrame(1, f, now)); });
    // A bounded turn, like the driver's own: the rest on the next turn.
    if (controlTap.waitingFrames() > 0 && !again) {
      again = true;
      setImmediate(() => { again = false; onReadable(driver); });
    }
  };
  return { endpoint, onReadable };
}

/** Control-link frames handled per event-loop turn (heartbeats and replication: few, small). */
const CONTROL_FRAMES_PER_TURN = 256;

/**
 * Logs event-loop stalls (a timer firing late by more than 10 ms), the real-time hazard
 * of heartbeat timing, and garbage-collection pauses over 5 ms, one of their causes.
 * Returns the function that stops watching.
 */
function watchStalls(driver: TapDriver): () => void {
  let last = driver.nowUs();
  let lastSched = threadSchedStat();
  const t = setInterval(() => {
    const now = driver.nowUs();
    const lateUs = now - last - 5_000;
    const sched = threadSchedStat();
    // Whose stall: the event-loop thread on a CPU (a long turn, GC) or waiting for one.
    if (lateUs > 10_000) {
      log({ stall: true, tUs: now, lateUs, ...(sched && lastSched ? { ranUs: Math.round((sched.runNs - lastSched.runNs) / 1000), waitedUs: Math.round((sched.waitNs - lastSched.waitNs) / 1000) } : {}) });
    }
    last = now;
    lastSched = sched;
  }, 5);
  t.unref();
  const gc = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if (e.duration > 5) log({ gc: true, tUs: driver.nowUs(), ms: Math.round(e.duration * 10) / 10, kind: (e as unknown as { detail?: { kind?: number } }).detail?.kind });
    }
  });
  gc.observe({ entryTypes: ['gc'] });
  return () => { clearInterval(t); gc.disconnect(); };
}

/** The calling thread's time on a CPU and waiting in a run queue, ns (/proc schedstat; undefined where absent). */
function threadSchedStat(): { runNs: number; waitNs: number } | undefined {
  try {
    const [run, wait] = readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ');
    return { runNs: Number(run), waitNs: Number(wait) };
  } catch { return undefined; }
}

/**
 * The service this host runs: a built-in app (replicated by snapshots where it can be),
 * or the relay to this namespace's copy of an unmodified server, once that accepts
 * connections. A relay's upstream state (the server's keyspace, its connections) cannot
 * be copied to a joining backup, so a relay host refuses joins (node.ts joinRefusal).
 */
async function makeService(c: SttcpHostConfig, enter: (fn: () => void) => void): Promise<{
  service: StreamService; replicated: { service: StreamService; restore?: AppRestore; shared?: SharedAppState }; joinRefusal?: string; counters: () => Readonly<Record<string, number>>;
}> {
  if (c.app === 'relay') {
    const up = c.relayUpstream;
    if (up === undefined) throw new Error('the relay app needs relayUpstream');
    await waitForUpstream(up.host, up.port, 10_000);
    const relay = new RelayApp({
      connector: netUpstream({ host: up.host, port: up.port, enter }),
      onError: (id, e) => log({ relayError: e.code, connection: id, detail: e.detail }),
    });
    return {
      service: relay.service, replicated: { service: relay.service },
      joinRefusal: `relayed to ${up.host}:${up.port}: the server's state cannot be copied to a joining backup`,
      counters: () => relay.counters(),
    };
  }
  const app = createApp(c.app, { store: c.app === 'http' ? new FsFileStore(c.root ?? '.') : undefined });
  return { service: app.service, replicated: replicatedService(app), counters: () => app.counters() };
}
