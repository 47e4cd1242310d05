// The ST-TCP failover scenario in the simulator: a client host (our stack) and an
// ST-TCP primary and backup on one hub (every port sees every frame: the backup's tap).
// Clients open connections to an echo service and a download service, the primary
// crashes at a chosen time, and every connection's bytes are checked against what a
// failure-free run delivers. Used by the seeded tests, `unbroken demo` and the benches.
import { createHash } from 'node:crypto';
import { Simulator } from '../sim/simulator.js';
import { Hub } from '../sim/boxes.js';
import { TcpObserver } from '../sim/tcp-observer.js';
import type { FaultSpec } from '../sim/faults.js';
import type { LinkConfig } from '../sim/link.js';
import type { PcapWriter } from '../sim/pcap.js';
import { Host } from '../stack/host.js';
import { pausable, type CloseReason, type StreamApp, type StreamConnection, type StreamService } from '../stack/app.js';
import { TcpConnection, type TcpConfig } from '../tcp/connection.js';
import { StTcpNode, type DurabilityMode, type StTcpEvent, type StTcpEventKind, type StTcpNodeConfig } from './node.js';

import type { LivenessConfig } from './liveness.js';
import { stateInt, stateObject, type AppRestore, type SnapshotableApp } from './app-state.js';
import { tcpConnectionFactory } from '../stack/tcp-engine.js';

export const SERVICE = { ip: '10.9.0.100', mac: '02:00:00:00:00:64' } as const;
export const CLIENT = { ip: '10.9.0.1', mac: '02:00:00:00:00:01' } as const;
export const PRIMARY = { ip: '10.9.0.2', mac: '02:00:00:00:00:02' } as const;
export const BACKUP = { ip: '10.9.0.3', mac: '02:00:00:00:00:03' } as const;
export const ECHO_PORT = 7;
export const DOWNLOAD_PORT = 9;

/** Deterministic pattern byte i of a download (so any byte can be checked alone). */
export function patternByte(i: number): number {
  return (Math.imul(i ^ (i >>> 11), 2654435761) >>> 24) & 0xff;
}

/** Echo: every byte back, then close after the client closes. Deterministic by construction. */
export const echoService: StreamService = (conn) => echoApp(conn, [], false);

/** The echo application from its snapshot (DESIGN §ST-TCP 8): the bytes not yet written back, and whether the client ended. */
export const echoRestore: AppRestore = (conn, state) => {
  const o = stateObject(state);
  if (!o || o.app !== 'echo' || !(o.pending instanceof Uint8Array) || typeof o.ended !== 'boolean') return undefined;
  return echoApp(conn, o.pending.length > 0 ? [o.pending.slice()] : [], o.ended);
};

function echoApp(conn: StreamConnection, queue: Uint8Array[], endedAtStart: boolean): SnapshotableApp {
  let ended = endedAtStart;
  const pump = (): void => {
    while (queue.length > 0) {
      const head = queue[0]!;
      const n = conn.write(head);
      if (n < head.length) { queue[0] = head.subarray(n); return; }
      queue.shift();
    }
    if (ended) conn.end();
  };
  return {
    onData: (d) => { queue.push(d.slice()); pump(); },
    onEnd: () => { ended = true; pump(); },
    onWritable: pump,
    snapshot: () => {
      let n = 0;
      for (const q of queue) n += q.length;
      const pending = new Uint8Array(n);
      let off = 0;
      for (const q of queue) { pending.set(q, off); off += q.length; }
      return { app: 'echo', pending, ended };
    },
  };
}

/** Download: the client sends a decimal byte count and '\n'; the service streams that many pattern bytes and closes. */
export const downloadService: StreamService = (conn) => downloadApp(conn, '', -1, 0);

/** The download application from its snapshot: the request head read so far, the size asked for, the bytes written. */
export const downloadRestore: AppRestore = (conn, state) => {
  const o = stateObject(state);
  if (!o || o.app !== 'download' || typeof o.head !== 'string' || o.head.length > 64) return undefined;
  const total = stateInt(o.total, -2, 1 << 30);
  const sent = stateInt(o.sent, 0, 1 << 30);
  if (total === undefined || sent === undefined || (total >= 0 && sent > total)) return undefined;
  return downloadApp(conn, o.head, total, sent);
};

function downloadApp(conn: StreamConnection, headAtStart: string, totalAtStart: number, sentAtStart: number): SnapshotableApp {
  let head = headAtStart;
  let total = totalAtStart;
  let sent = sentAtStart;
  const pump = (): void => {
    while (total >= 0 && sent < total) {
      const n = Math.min(16 * 1024, total - sent);
      const chunk = new Uint8Array(n);
      for (let i = 0; i < n; i++) chunk[i] = patternByte(sent + i);
      const w = conn.write(chunk);
      sent += w;
      if (w < n) return;
    }
    if (total >= 0 && sent === total) { conn.end(); total = -2; }
  };
  return {
    onData: (d) => {
      if (total !== -1) return;
      head += new TextDecoder().decode(d);
      const nl = head.indexOf('\n');
      if (nl < 0) { if (head.length > 32) conn.destroy(); return; }
      const n = Number(head.slice(0, nl));
      if (!Number.isInteger(n) || n < 0 || n > 1 << 30) { conn.destroy(); return; }
      total = n;
      pump();
    },
    onEnd: () => { if (total === -1) conn.end(); },
    onWritable: pump,
    snapshot: () => ({ app: 'download', head, total, sent }),
  };
}

export interface ClientPlan {
  /**
   * echo / download: the built-in services, bytes checked here. request: the client sends
   * `requests` lines `GET /NNNNNN\n`, one per intervalUs, to `port`, then closes; the reply
   * bytes are kept in the outcome (`data`) for the caller to judge.
   */
  kind: 'echo' | 'download' | 'request';
  startUs: number;
  /** Echo: bytes the client sends (in writes of up to chunkBytes, one per intervalUs). Download: bytes requested. Request: reply bytes expected in all. */
  bytes: number;
  chunkBytes?: number;
  intervalUs?: number;
  /** Request: the service port and how many requests. */
  port?: number;
  requests?: number;
  /** Request: the text of request i (default requestLine(i)). */
  requestText?: (i: number) => string;
  /**
   * Read in bursts: reading paused for pausedUs, then open for readingUs, alternately,
   * from the handshake on (a client slower to read than to send backs the server's
   * output up while its input keeps coming).
   */
  readBursts?: { pausedUs: number; readingUs: number };
}

/** The request line number i a 'request' client sends. */
export function requestLine(i: number): string {
  return `GET /${String(i).padStart(6, '0')}\n`;
}

export interface ConnectionOutcome {
  id: string;
  kind: ClientPlan['kind'];
  /** Request clients: every byte received, in order. */
  data?: Uint8Array[];
  expectedBytes: number;
  receivedBytes: number;
  match: boolean;
  close: CloseReason | undefined;
  /** Longest gap between two received chunks while bytes were still due, µs. */
  maxGapUs: number;
  /** The client-visible pause: the gap between received bytes that spans the takeover, µs (undefined when idle then). */
  pauseUs: number | undefined;
  /** [tUs, cumulative bytes] samples for time–sequence graphs. */
  samples: Array<[number, number]>;
  sha256: string;
}

export interface StTcpScenarioOptions {
  seed: number;
  clients: ClientPlan[];
  /** Crash the primary at this virtual time (undefined: no crash). */
  crashPrimaryAtUs?: number;
  /** Crash the backup at this time instead (the primary must carry on). */
  crashBackupAtUs?: number;
  /**
   * Further crashes and restarts, by box ('primary' and 'backup' name the boxes, not their
   * current roles). A restarted box comes back as a backup with a new epoch and joins
   * whichever box serves (DESIGN §ST-TCP 8).
   */
  schedule?: ScheduleStep[];
  /** The servers' applications (default: echo on ECHO_PORT, download on DOWNLOAD_PORT). */
  services?: StTcpNodeConfig['services'];
  /**
   * Per box and incarnation instead of `services`: applications with a local, asynchronous
   * dependency (the relay app's server), given the box's clock to schedule its replies on, or ones
   * that are not deterministic across hosts (each host's own Date).
   */
  servicesFor?: (box: 'primary' | 'backup', env: BoxEnv) => StTcpNodeConfig['services'];
  /** Both boxes refuse joining backups with this reason (StTcpNodeConfig.joinRefusal). */
  joinRefusal?: string;
  /**
   * A box stops running for a while without crashing (a GC pause, CPU starvation): its
   * input waits, its timer fires late, before the waiting input is read (Simulator.stall).
   */
  stalls?: Array<{ box: 'primary' | 'backup'; atUs: number; durationUs: number; backlogFrames?: number }>;
  /** Cut the backup off the LAN (tap and control channel) from this time, healing at `healBackupAtUs`. */
  partitionBackupAtUs?: number;
  healBackupAtUs?: number;
  mode?: DurabilityMode;
  liveness?: Partial<LivenessConfig>;
  tcp?: Partial<TcpConfig>;
  /** Faults on the backup's port only: it misses frames on the tap (and control messages). */
  backupPortFaults?: FaultSpec[];
  /** The same on the box named primary (after a takeover and its return, the joining backup). */
  primaryPortFaults?: FaultSpec[];
  /** Faults on the client's port (both directions). */
  clientPortFaults?: FaultSpec[];
  /** The client's link (e.g. a slower access link); the servers' links are the LAN unless set below. */
  link?: LinkConfig;
  /**
   * A dedicated control link between the boxes (interface 1 on each), apart from the
   * hub: heartbeats and catch-up never queue behind the tapped service traffic. A
   * partition of the backup then cuts both its links.
   */
  controlLink?: boolean;
  /** The primary's per-connection retention (bytes its application read that the backup has not acknowledged). */
  retentionBytesMax?: number;
  /** The backup's sync acknowledgement spacing (StTcpNodeConfig.syncAckSpacingUs). */
  syncAckSpacingUs?: number;
  /** The backup's link (e.g. slower than the client's, so the tap overflows as a busy backup's would). */
  backupLink?: LinkConfig;
  limitUs?: number;
  capture?: boolean;
  /** Give the nodes fencing (the peer is crashed in the simulator, as a power switch would). */
  fencing?: boolean;
  onEvent?: (e: StTcpEvent) => void;
  /** Called at the instant the scenario crashes the primary. */
  onCrash?: (tUs: number) => void;
}

/** What a box's own services may use: virtual time, and whether this incarnation still runs. */
export interface BoxEnv {
  nowUs(): number;
  /** Runs `fn` after `delayUs` unless the box has crashed (or restarted) meanwhile. */
  after(delayUs: number, fn: () => void): void;
}

/** A crash or restart at a time, or `delayUs` after the nth event of a kind (from either box). */
export type ScheduleStep = { action: 'crash' | 'restart'; box: 'primary' | 'backup' } & (
  | { atUs: number }
  | { after: StTcpEventKind; nth?: number; delayUs: number });

export interface StTcpScenarioResult {
  seed: number;
  ok: boolean;
  problems: string[];
  connections: ConnectionOutcome[];
  crashUs: number | undefined;
  detectedUs: number | undefined;
  takeoverUs: number | undefined;
  /** RST segments that reached a client connection still in progress (data or FIN outstanding). */
  clientRsts: number;
  /** Every RST the client received, including ones for connections already finished (TIME-WAIT). */
  clientRstsTotal: number;
  /** Instants at which both nodes transmitted as the service address within one heartbeat (must be 0). */
  dualServiceFrames: number;
  events: StTcpEvent[];
  primaryStats: Record<string, number>;
  backupStats: Record<string, number>;
  pcap: PcapWriter | undefined;
  endUs: number;
  /** The simulator's link and fault counters (drops by reason). */
  simCounters: Record<string, number>;
}

// A server LAN at 1 Gbit/s with Linux's default transmit queue (txqueuelen 1000).
const LAN: LinkConfig = { latencyUs: 50, bandwidthBps: 1_000_000_000, queueFrames: 1000, mtuBytes: 1500 };

/** The gap between consecutive samples that contains time t, if bytes arrived on both sides of it. */
export function gapSpanning(samples: Array<[number, number]>, t: number): number | undefined {
  for (let i = 1; i < samples.length; i++) {
    if (samples[i - 1]![0] <= t && samples[i]![0] > t) return samples[i]![0] - samples[i - 1]![0];
  }
  return undefined;
}

export function runStTcpScenario(o: StTcpScenarioOptions): StTcpScenarioResult {
  const sim = new Simulator({ seed: o.seed });
  const key = new TextEncoder().encode(`sttcp-sim-key-${o.seed}`);
  const events: StTcpEvent[] = [];
  const onEvent = (e: StTcpEvent): void => {
    events.push(e);
    o.onEvent?.(e);
    for (const step of o.schedule ?? []) {
      if (!('after' in step) || step.after !== e.kind) continue;
      if (events.filter((x) => x.kind === e.kind).length === (step.nth ?? 1)) sim.at(sim.nowUs + step.delayUs, (s) => act(s, step));
    }
  };
  const act = (s: Simulator, step: ScheduleStep): void => {
    const alive = s.node(step.box).alive;
    if (step.action === 'crash' && alive) s.crash(step.box);
    if (step.action === 'restart' && !alive) s.restart(step.box);
  };
  const services = o.services ?? [
    { port: ECHO_PORT, service: echoService, restore: echoRestore },
    { port: DOWNLOAD_PORT, service: downloadService, restore: downloadRestore },
  ];
  const common = {
    prefixLen: 24, serviceMac: SERVICE.mac, serviceIp: SERVICE.ip, services, key,
    mode: o.mode ?? 'sync', liveness: o.liveness ?? {}, tcp: o.tcp ?? {}, onEvent,
    ...(o.joinRefusal !== undefined ? { joinRefusal: o.joinRefusal } : {}),
    ...(o.retentionBytesMax !== undefined ? { retentionBytesMax: o.retentionBytesMax } : {}),
    ...(o.syncAckSpacingUs !== undefined ? { syncAckSpacingUs: o.syncAckSpacingUs } : {}),
  } as const;
  // The client's TIME-WAIT only delays its 'closed' report; keep it short so runs end promptly.
  const clientTcp: Partial<TcpConfig> = { timeWaitUs: 1_000_000, ...(o.tcp ?? {}) };
  let primary: StTcpNode | undefined;
  let backup: StTcpNode | undefined;
  sim.addNode('hub', new Hub({ ports: 3 }));
  sim.addNode('client', new Host<TcpConnection>({
    name: 'client', mac: CLIENT.mac, ip: CLIENT.ip, prefixLen: 24, rng: sim.forkRng(),
    tcpFactory: tcpConnectionFactory(clientTcp),
  }));
  // A box restarted after a crash comes back as a backup (a replacement joining the survivor).
  const boxEnv = (box: 'primary' | 'backup', incarnation: number): BoxEnv => ({
    nowUs: () => sim.nowUs,
    after: (delayUs, fn) => sim.at(sim.nowUs + delayUs, (x) => {
      const n = x.node(box);
      if (n.alive && n.incarnation === incarnation) fn();
    }),
  });
  const servicesOf = (box: 'primary' | 'backup', incarnation: number): StTcpNodeConfig['services'] =>
    o.servicesFor ? o.servicesFor(box, boxEnv(box, incarnation)) : services;
  sim.addNode('primary', (ctx) => (primary = new StTcpNode({
    ...common, services: servicesOf('primary', ctx.incarnation), ...(o.controlLink ? { controlIfIndex: 1 } : {}),
    role: ctx.incarnation === 0 ? 'primary' : 'backup', name: 'primary', nodeId: 1, epoch: ctx.incarnation + 1, ownMac: PRIMARY.mac, ownIp: PRIMARY.ip,
    peerIp: BACKUP.ip, rng: ctx.rng, ...(o.fencing ? { fence: () => fenceNode('backup') } : {}),
  })));
  sim.addNode('backup', (ctx) => (backup = new StTcpNode({
    ...common, services: servicesOf('backup', ctx.incarnation), ...(o.controlLink ? { controlIfIndex: 1 } : {}),
    role: 'backup', name: 'backup', nodeId: 2, epoch: ctx.incarnation + 1, ownMac: BACKUP.mac, ownIp: BACKUP.ip,
    peerIp: PRIMARY.ip, rng: ctx.rng, ...(o.fencing ? { fence: () => fenceNode('primary') } : {}),
  })));
  sim.link(['client', 0], ['hub', 0], o.link ?? LAN);
  sim.link(['primary', 0], ['hub', 1], LAN);
  sim.link(['backup', 0], ['hub', 2], o.backupLink ?? LAN);
  if (o.controlLink) sim.link(['primary', 1], ['backup', 1], LAN);
  for (const f of o.backupPortFaults ?? []) sim.addFault({ node: 'backup', ifIndex: 0, direction: 'ingress' }, f);
  for (const f of o.primaryPortFaults ?? []) sim.addFault({ node: 'primary', ifIndex: 0, direction: 'ingress' }, f);
  for (const f of o.clientPortFaults ?? []) sim.addFault({ node: 'client', ifIndex: 0 }, f);

  function fenceNode(name: string): boolean {
    const n = sim.node(name);
    if (n.alive) sim.crash(name);
    return true;
  }

  // Who sends as the service address: frames whose source MAC is the service MAC, by port.
  let lastServiceTx: { node: string; tUs: number } | undefined;
  let dualServiceFrames = 0;
  const watchService = (node: string) => ({
    record(tUs: number, frame: Uint8Array): void {
      if (frame.length < 12) return;
      let same = true;
      const mac = SERVICE.mac.split(':').map((h) => parseInt(h, 16));
      for (let i = 0; i < 6; i++) if (frame[6 + i] !== mac[i]) { same = false; break; }
      if (!same) return;
      if (lastServiceTx && lastServiceTx.node !== node && tUs - lastServiceTx.tUs < 1_000) dualServiceFrames++;
      lastServiceTx = { node, tUs };
    },
  });
  sim.tapPort('primary', 0, watchService('primary'), 'tx');
  sim.tapPort('backup', 0, watchService('backup'), 'tx');
  let clientRsts = 0;
  let clientRstsTotal = 0;
  sim.tapPort('client', 0, new TcpObserver((s) => {
    if (!s.flags.rst) return;
    clientRstsTotal++;
    // flow is "service:port>client:port": the outcome for that client port decides.
    const port = Number(s.flow.slice(s.flow.lastIndexOf(':') + 1));
    const oc = outcomes.find((x) => x.clientPort === port);
    if (oc === undefined || !oc.done) clientRsts++;
  }), 'rx');
  const pcap = o.capture ? sim.capturePort('client', 0) : undefined;

  const outcomes: Array<ConnectionOutcome & { done: boolean; hash: ReturnType<typeof createHash>; clientPort: number }> = [];
  const client = sim.node('client').as<Host<TcpConnection>>();
  let crashUs: number | undefined;
  o.clients.forEach((plan, idx) => {
    sim.at(plan.startUs, () => {
      const oc = {
        id: `${plan.kind}#${idx}`, kind: plan.kind, expectedBytes: plan.bytes, receivedBytes: 0, match: false,
        close: undefined as CloseReason | undefined, maxGapUs: 0, pauseUs: undefined as number | undefined,
        samples: [] as Array<[number, number]>, sha256: '', done: false, hash: createHash('sha256'), clientPort: 0,
      };
      if (plan.kind === 'request') (oc as ConnectionOutcome).data = [];
      outcomes.push(oc);
      const port = plan.kind === 'echo' ? ECHO_PORT : plan.kind === 'download' ? DOWNLOAD_PORT : plan.port ?? ECHO_PORT;
      const c = client.connect(SERVICE.ip, port, (conn) => clientApp(conn, plan, oc, idx), sim.nowUs);
      oc.clientPort = c.tuple.localPort;
    });
  });

  function clientApp(conn: StreamConnection, plan: ClientPlan, oc: typeof outcomes[number], idx: number): StreamApp {
    let lastRxUs: number | undefined;
    let sentBytes = 0;
    const chunk = plan.chunkBytes ?? 4096;
    const expectEcho = (i: number): number => (i * 31 + idx) & 0xff;
    let mismatch = false;
    // One chunk per interval; without an interval, as fast as the connection takes them
    // (until a write is partial: onWritable continues).
    let requestsSent = 0;
    const sendRequest = (): void => {
      conn.write(new TextEncoder().encode((plan.requestText ?? requestLine)(requestsSent++)));
      if (requestsSent >= (plan.requests ?? 1)) conn.end();
      else sim.at(sim.nowUs + (plan.intervalUs ?? 1000), () => { sendRequest(); sim.flushAll(); });
    };
    const writeMore = (): void => {
      if (plan.kind !== 'echo') return;
      for (;;) {
        const n = Math.min(chunk, plan.bytes - sentBytes);
        if (n <= 0) return;
        const b = new Uint8Array(n);
        for (let i = 0; i < n; i++) b[i] = expectEcho(sentBytes + i);
        const w = conn.write(b);
        sentBytes += w;
        if (sentBytes >= plan.bytes) { conn.end(); return; }
        if (plan.intervalUs) { sim.at(sim.nowUs + plan.intervalUs, () => { writeMore(); sim.flushAll(); }); return; }
        if (w < n) return;
      }
    };
    const bursts = plan.readBursts;
    const readPhase = (paused: boolean): void => {
      if (bursts === undefined || oc.done || !pausable(conn)) return;
      if (paused) conn.pauseReading(); else conn.resumeReading();
      sim.at(sim.nowUs + (paused ? bursts.pausedUs : bursts.readingUs), () => { readPhase(!paused); sim.flushAll(); });
    };
    return {
      onOpen: () => {
        readPhase(true);
        if (plan.kind === 'download') conn.write(new TextEncoder().encode(`${plan.bytes}\n`));
        else if (plan.kind === 'request') sendRequest();
        else writeMore();
      },
      onData: (d) => {
        const now = sim.nowUs;
        if (plan.kind === 'request') oc.data!.push(d.slice());
        for (let i = 0; i < d.length && plan.kind !== 'request'; i++) {
          const at = oc.receivedBytes + i;
          const want = plan.kind === 'echo' ? expectEcho(at) : patternByte(at);
          if (d[i] !== want) { mismatch = true; break; }
        }
        oc.hash.update(d);
        if (lastRxUs !== undefined) oc.maxGapUs = Math.max(oc.maxGapUs, now - lastRxUs);
        lastRxUs = now;
        oc.receivedBytes += d.length;
        oc.samples.push([now, oc.receivedBytes]);
        oc.match = !mismatch && oc.receivedBytes === plan.bytes;
      },
      onEnd: () => {
        if (plan.kind === 'download') conn.end();
        oc.done = true;
      },
      onWritable: () => { if (!plan.intervalUs) writeMore(); },
      onClose: (r) => { oc.close = r; oc.done = true; },
    };
  }

  if (o.crashPrimaryAtUs !== undefined) {
    sim.at(o.crashPrimaryAtUs, (s) => {
      crashUs = s.nowUs;
      if (s.node('primary').alive) s.crash('primary');
      o.onCrash?.(s.nowUs);
    });
  }
  if (o.crashBackupAtUs !== undefined) sim.at(o.crashBackupAtUs, (s) => { if (s.node('backup').alive) s.crash('backup'); });
  for (const step of o.schedule ?? []) if ('atUs' in step) sim.at(step.atUs, (s) => act(s, step));
  for (const st of o.stalls ?? []) sim.stallAt(st.atUs, st.box, st.durationUs, st.backlogFrames);
  if (o.partitionBackupAtUs !== undefined) {
    sim.partitionAt(o.partitionBackupAtUs, { node: 'backup', ifIndex: 0 }, o.healBackupAtUs);
    if (o.controlLink) sim.partitionAt(o.partitionBackupAtUs, { node: 'backup', ifIndex: 1 }, o.healBackupAtUs);
  }
  const limitUs = o.limitUs ?? 120_000_000;
  const lastStart = Math.max(0, ...o.clients.map((c) => c.startUs));
  sim.runWhile(() => sim.nowUs <= lastStart || outcomes.some((x) => x.close === undefined), limitUs);

  const problems: string[] = [];
  const conns: ConnectionOutcome[] = outcomes.map(({ done, hash, clientPort, ...rest }) => { void done; void clientPort; return { ...rest, sha256: hash.digest('hex') }; });
  for (const c of conns) {
    if (!c.match) problems.push(`${c.id}: received ${c.receivedBytes}/${c.expectedBytes} bytes${c.receivedBytes === c.expectedBytes ? ' (content differs)' : ''}`);
    if (c.close !== 'closed') problems.push(`${c.id}: ended ${c.close ?? 'never (still open at the time limit)'}`);
  }
  if (clientRsts > 0) problems.push(`${clientRsts} RST segment(s) reached a connection in progress`);
  if (dualServiceFrames > 0) problems.push(`two hosts sent as the service address at once (${dualServiceFrames} frames)`);
  const detected = events.find((e) => e.kind === 'failover.detected');
  const takeover = events.find((e) => e.kind === 'takeover.complete');
  if (takeover) for (const c of conns) c.pauseUs = gapSpanning(c.samples, takeover.tUs);
  return {
    seed: o.seed, ok: problems.length === 0, problems, connections: conns, crashUs,
    detectedUs: detected?.tUs, takeoverUs: takeover?.tUs, clientRsts, clientRstsTotal, dualServiceFrames, events,
    primaryStats: primary?.stats() ?? {}, backupStats: backup?.stats() ?? {}, pcap, endUs: sim.nowUs, simCounters: sim.counters(),
  };
}
