// The splice scenario in the simulator for tests: a client Host (our stack), the
// splicer and N back-end Hosts serving httpPatternService on one learning switch,
// optional faults per port, wire checkers on the client's and the back ends' ports.
// It builds and runs; assertions belong to the tests.
import { Simulator } from '../../sim/simulator.js';
import { LearningSwitch } from '../../sim/boxes.js';
import type { FaultSpec } from '../../sim/faults.js';
import type { LinkConfig } from '../../sim/link.js';
import type { PcapWriter } from '../../sim/pcap.js';
import { Host } from '../../stack/host.js';
import type { StreamService } from '../../stack/app.js';
import { TcpConnection, type TcpConfig } from '../../tcp/connection.js';
import { Splicer, type SplicerConfig } from '../splicer.js';
import type { SpliceState } from '../splice.js';
import type { RouteConfig } from '../routes.js';
import { downloadClient, keepAliveClient, httpPatternService, newDownloadResult, type DownloadResult } from './http-app.js';
import { WireChecker } from './wire-checker.js';
import { CraftNode, type CraftNodeEvent } from '../node.js';
import type { Rng } from '../../util/rng.js';
import { tcpConnectionFactory } from '../../stack/tcp-engine.js';
import { SplitSpliceBackend } from '../split-backend.js';

export const SERVICE_IP = '10.7.0.80';
/** The splicer pair's shared control-channel key in simulations. */
export const TEST_CONTROL_KEY = new TextEncoder().encode('craft simulation control key 0001');
export const SERVICE_MAC = '02:00:00:07:00:50';
export const CLIENT_IP = '10.7.0.1';
export const BACKEND_IP = (i: number): string => `10.7.0.${100 + i}`;

export interface Download {
  startUs: number;
  /** Raw request text (sent as is, so malformed requests can be tested). */
  request: string;
  bodyOffset?: number;
  /** Keep-alive: further requests sent on the same connection, each after the previous response. */
  then?: string[];
}

export interface SpliceScenarioOptions {
  seed: number;
  backends: number;
  downloads: Download[];
  routes?: RouteConfig;
  link?: LinkConfig;
  clientFaults?: FaultSpec[];
  /** Faults on every back end's port. */
  backendFaults?: FaultSpec[];
  clientTcp?: Partial<TcpConfig>;
  backendTcp?: Partial<TcpConfig>;
  splicer?: Partial<SplicerConfig>;
  capture?: boolean;
  limitUs?: number;
  /** A back end's server instead of httpPatternService (by id: b0, b1, ...). */
  backendServices?: Record<string, StreamService>;
  /** Back ends run split splice (they send their data straight to the client). */
  split?: boolean;
  /** Called once the topology is built, before running (to schedule faults, crashes). */
  onStart?: (sim: Simulator) => void;
  /** Run an active/standby splicer pair (replication) instead of one splicer. */
  pair?: {
    crashActiveAtUs?: number;
    /** Crash the active box `delayUs` after its `count`-th splice (a crash while every download is spliced). */
    crashAfterSplices?: { count: number; delayUs: number };
    heartbeatUs?: number; deadAfterUs?: number; controlFaults?: FaultSpec[];
    /** Replicate splice setup (default true). */
    replicateSetup?: boolean;
    /** Control-channel keys (default: one shared test key); fencing on/off (default on). */
    keyA?: Uint8Array; keyB?: Uint8Array; fencing?: boolean;
    /** Crash the standby at this time. */
    crashStandbyAtUs?: number;
  };
}

export interface SpliceScenarioResult {
  sim: Simulator;
  splicer: Splicer;
  results: DownloadResult[];
  splices: SpliceState[];
  clientWire: WireChecker;
  backendWire: WireChecker;
  clientPcap: PcapWriter | undefined;
  backendPcap: PcapWriter | undefined;
  finished: boolean;
  /** With `pair`: both boxes (a starts active) and their events. */
  nodes: { a: CraftNode; b: CraftNode } | undefined;
  nodeEvents: CraftNodeEvent[];
  /** RST segments a client connection received before its response was complete. */
  clientRsts: number;
  /** When the active splicer was crashed (pair runs). */
  crashUs: number | undefined;
  /** Longest time without a data-carrying frame at the client after the crash, µs. */
  pauseUs: number | undefined;
  /** With `split`: the back ends' wrappers. */
  splitBackends: SplitSpliceBackend<TcpConnection>[];
}

const LAN: LinkConfig = { latencyUs: 100, bandwidthBps: 1_000_000_000, queueFrames: 1024, mtuBytes: 1500 };

export function defaultRoutes(backends: number): RouteConfig {
  return { pools: { web: Array.from({ length: backends }, (_, i) => ({ id: `b${i}`, ip: BACKEND_IP(i), port: 80 })) }, rules: [{ pool: 'web' }] };
}

export function runSpliceScenario(o: SpliceScenarioOptions): SpliceScenarioResult {
  const sim = new Simulator({ seed: o.seed });
  const link = o.link ?? LAN;
  const clientTcp: Partial<TcpConfig> = { timeWaitUs: 1_000_000, ...o.clientTcp };
  const backendTcp: Partial<TcpConfig> = { timeWaitUs: 1_000_000, ...o.backendTcp };
  const factory = tcpConnectionFactory;
  const base = o.pair ? 3 : 2;
  sim.addNode('switch', new LearningSwitch({ ports: base + o.backends }));
  sim.addNode('client', new Host<TcpConnection>({ name: 'client', mac: '02:00:00:07:00:01', ip: CLIENT_IP, prefixLen: 24, rng: sim.forkRng(), tcpFactory: factory(clientTcp) }));
  const splices: SpliceState[] = [];
  let crashUs: number | undefined;
  let splicer: Splicer | undefined;
  const routes = o.routes ?? defaultRoutes(o.backends);
  const splitBackends: SplitSpliceBackend<TcpConnection>[] = [];
  const splicerCfg = {
    serviceIp: SERVICE_IP, serviceMac: SERVICE_MAC, servicePort: 80,
    routes: o.split === true ? { ...routes, pools: Object.fromEntries(Object.entries(routes.pools).map(([k, v]) => [k, v.map((b) => ({ ...b, split: true }))])) } : routes,
    ...(o.split === true ? { split: { key: TEST_CONTROL_KEY } } : {}),
    ...o.splicer,
    onSplice: (sp: Readonly<SpliceState>) => {
      splices.push(structuredClone(sp) as SpliceState);
      o.splicer?.onSplice?.(sp);
      const c = o.pair?.crashAfterSplices;
      if (c !== undefined && splices.length === c.count) sim.at(sim.nowUs + c.delayUs, () => { crashUs = sim.nowUs; sim.crash('splicer-a'); });
    },
  };
  let nodes: { a: CraftNode; b: CraftNode } | undefined;
  const nodeEvents: CraftNodeEvent[] = [];
  if (o.pair === undefined) {
    sim.addNode('splicer', (ctx) => (splicer = new Splicer({ ...splicerCfg, name: 'splicer', prefixLen: 24, rng: ctx.rng })));
    sim.link(['splicer', 0], ['switch', 1], link);
  } else {
    const pair = o.pair;
    const mk = (name: 'a' | 'b', rng: Rng): CraftNode => new CraftNode({
      name: `splicer-${name}`, nodeId: name === 'a' ? 1 : 2, epoch: 1, role: name === 'a' ? 'active' : 'standby',
      ownIp: name === 'a' ? '10.7.0.2' : '10.7.0.3', ownMac: name === 'a' ? '02:00:00:07:00:02' : '02:00:00:07:00:03',
      peerIp: name === 'a' ? '10.7.0.3' : '10.7.0.2', prefixLen: 24, rng,
      splicer: { ...splicerCfg, serviceMac: name === 'a' ? SERVICE_MAC : '02:00:00:07:00:51' },
      ...(pair.heartbeatUs !== undefined ? { heartbeatUs: pair.heartbeatUs } : {}),
      ...(pair.deadAfterUs !== undefined ? { deadAfterUs: pair.deadAfterUs } : {}),
      ...(pair.replicateSetup !== undefined ? { replicateSetup: pair.replicateSetup } : {}),
      key: (name === 'a' ? pair.keyA : pair.keyB) ?? TEST_CONTROL_KEY,
      ...(pair.fencing !== undefined ? { fencing: pair.fencing } : {}),
      onEvent: (e) => nodeEvents.push(e),
    });
    let a: CraftNode | undefined;
    let b: CraftNode | undefined;
    sim.addNode('splicer-a', (ctx) => (a = mk('a', ctx.rng)));
    sim.addNode('splicer-b', (ctx) => (b = mk('b', ctx.rng)));
    nodes = { a: a!, b: b! };
    splicer = a!.splicer;
    sim.link(['splicer-a', 0], ['switch', 1], link);
    sim.link(['splicer-b', 0], ['switch', 2], link);
    for (const f of pair.controlFaults ?? []) sim.addFault({ node: 'splicer-b', ifIndex: 0 }, f);
    if (pair.crashStandbyAtUs !== undefined) sim.at(pair.crashStandbyAtUs, () => sim.crash('splicer-b'));
    if (pair.crashActiveAtUs !== undefined) sim.at(pair.crashActiveAtUs, () => { crashUs = sim.nowUs; sim.crash('splicer-a'); });
  }
  sim.link(['client', 0], ['switch', 0], link);
  for (let i = 0; i < o.backends; i++) {
    const h = new Host<TcpConnection>({ name: `b${i}`, mac: `02:00:00:07:01:${(i + 16).toString(16)}`, ip: BACKEND_IP(i), prefixLen: 24, rng: sim.forkRng(), tcpFactory: factory(backendTcp) });
    h.listen(80, o.backendServices?.[`b${i}`] ?? httpPatternService(`b${i}`));
    const sb = o.split === true ? new SplitSpliceBackend(h, { key: TEST_CONTROL_KEY }) : undefined;
    if (sb !== undefined) splitBackends.push(sb);
    sim.addNode(`b${i}`, sb ?? h);
    sim.link([`b${i}`, 0], ['switch', base + i], link);
    for (const f of o.backendFaults ?? []) sim.addFault({ node: `b${i}`, ifIndex: 0 }, f);
  }
  for (const f of o.clientFaults ?? []) sim.addFault({ node: 'client', ifIndex: 0 }, f);
  const clientWire = new WireChecker();
  const backendWire = new WireChecker();
  sim.tapPort('client', 0, clientWire, 'both');
  let clientRsts = 0;
  const clientDataUs: number[] = [];
  sim.tapPort('client', 0, { record: (t, f) => { if (f.length > 14 + 40 + 12) clientDataUs.push(t); } }, 'rx');
  // RSTs that reach a client connection before its response is complete (one after it has
  // everything, e.g. a peer answering a duplicate last ACK after its own close, breaks nothing).
  sim.tapPort('client', 0, { record: (_t, f) => {
    if (!(f.length > 47 && f[12] === 8 && f[13] === 0 && f[23] === 6)) return;
    const t = 14 + ((f[14]! & 15) * 4);
    if ((f[t + 13]! & 4) === 0) return;
    const port = (f[t + 2]! << 8) | f[t + 3]!;
    const r = results.find((x) => x.connId?.startsWith(`${CLIENT_IP}:${port}>`));
    if (r === undefined || !r.complete) clientRsts++;
  } }, 'rx');
  for (let i = 0; i < o.backends; i++) sim.tapPort(`b${i}`, 0, backendWire, 'both');
  const clientPcap = o.capture ? sim.capturePort('client', 0) : undefined;
  const backendPcap = o.capture && o.backends > 0 ? sim.capturePort('b0', 0) : undefined;

  const client = sim.node('client').as<Host<TcpConnection>>();
  const results: DownloadResult[] = [];
  for (const d of o.downloads) {
    const r = newDownloadResult();
    results.push(r);
    const app = d.then !== undefined ? keepAliveClient([d.request, ...d.then], r) : downloadClient(d.request, r, d.bodyOffset ?? 0);
    sim.at(d.startUs, () => { client.connect(SERVICE_IP, 80, app, sim.nowUs); });
  }
  o.onStart?.(sim);
  const lastStart = Math.max(0, ...o.downloads.map((d) => d.startUs));
  const finished = sim.runWhile(() => sim.nowUs <= lastStart || results.some((r) => r.close === undefined), o.limitUs ?? 120_000_000);
  let pauseUs: number | undefined;
  if (crashUs !== undefined) {
    // The longest silence that ends after the crash (the frames already in flight arrive first).
    for (let i = 1; i < clientDataUs.length; i++) {
      if (clientDataUs[i]! > crashUs) pauseUs = Math.max(pauseUs ?? 0, clientDataUs[i]! - clientDataUs[i - 1]!);
    }
  }
  return { sim, splicer: splicer!, results, splices, clientWire, backendWire, clientPcap, backendPcap, finished, nodes, nodeEvents, clientRsts, crashUs, pauseUs, splitBackends };
}
