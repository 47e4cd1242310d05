// Benchmark "sim-bulk": a bulk transfer between two Hosts across the deterministic
// simulator — TCP engine, codecs, IPv4/ARP host layer and the simulator's event loop,
// all in one process. The CPU figure is the whole stack's cost per byte and per segment.
import { performance } from 'node:perf_hooks';
import { Simulator } from '../../sim/index.js';
import { Host } from '../../stack/host.js';
import type { TcpEngineFactory } from '../../stack/tcp-engine.js';
import type { StreamApp, StreamConnection } from '../../stack/app.js';
import { TcpConnection, defaultTcpConfig, type TcpConfig } from '../../tcp/connection.js';
import type { Benchmark, BenchContext, BenchRow } from '../types.js';
import { BulkPattern } from './bulk-pattern.js';
import { tcpConnectionFactory } from '../../stack/tcp-engine.js';

export interface SimBulkOptions {
  totalBytes: number;
  seed: number;
  /** One-way link latency. */
  latencyUs: number;
  bandwidthBps: number;
  /** Frame loss probability on each direction of the link (0 = none). */
  lossRate?: number;
  tcp?: Partial<TcpConfig>;
}

export interface SimBulkRun {
  bytes: number;
  dataSegments: number;
  segmentsBack: number;
  retransmits: number;
  sackRecoveries: number;
  rtoExpirations: number;
  cpuUs: number;
  wallUs: number;
  virtualUs: number;
  events: number;
}

const PORT = 5001;
/** Virtual-time bound for one transfer; hitting it means the transfer stalled. */
const VIRTUAL_LIMIT_US = 3_600_000_000;

const engines = (cfg: TcpConfig): TcpEngineFactory<TcpConnection> => tcpConnectionFactory(cfg);

/** Client on 10.0.0.1 streams `totalBytes` to a server on 10.0.0.2 over one simulated link. */
export function runSimBulk(o: SimBulkOptions, pattern: BulkPattern, progress: (m: string) => void): SimBulkRun {
  const cfg: TcpConfig = { ...defaultTcpConfig(), ...(o.tcp ?? {}) };
  const sim = new Simulator({ seed: o.seed, maxEventsPerRun: 200_000_000 });
  const mk = (n: number): Host<TcpConnection> => new Host<TcpConnection>({
    name: `h${n}`, mac: `02:00:00:00:00:0${n}`, ip: `10.0.0.${n}`, prefixLen: 24,
    rng: sim.forkRng(), tcpFactory: engines(cfg),
  });
  const a = mk(1);
  const b = mk(2);
  sim.addNode('client', a);
  sim.addNode('server', b);
  const link = sim.link(['client', 0], ['server', 0], { latencyUs: o.latencyUs, bandwidthBps: o.bandwidthBps });
  if ((o.lossRate ?? 0) > 0) sim.addFault(link, { kind: 'loss', rate: o.lossRate! });

  let received = 0;
  let serverEnded = false;
  let failure: string | undefined;
  let serverEngine: TcpConnection | undefined;
  let nextReport = 0;
  b.listen(PORT, (conn: StreamConnection): StreamApp => {
    serverEngine = b.tcpConnections()[0]?.connection;
    return {
      onData(d) {
        if (failure === undefined && !pattern.matches(received, d)) failure = `data mismatch at stream offset ${received}`;
        received += d.length;
        if (received >= nextReport) {
          progress(`${(received / 1e6).toFixed(0)} / ${(o.totalBytes / 1e6).toFixed(0)} MB`);
          nextReport += o.totalBytes / 20;
        }
      },
      onEnd() { serverEnded = true; conn.end(); },
      onClose(reason) { if (!serverEnded) failure ??= `server connection closed early: ${reason}`; },
    };
  });
  let sent = 0;
  let clientEngine: TcpConnection | undefined;
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  sim.act('client', (_ep, nowUs) => {
    const c = a.connect('10.0.0.2', PORT, (conn: StreamConnection): StreamApp => {
      const pump = (): void => {
        while (sent < o.totalBytes) {
          const n = conn.write(pattern.chunkAt(sent, o.totalBytes - sent));
          if (n === 0) return;
          sent += n;
        }
        conn.end();
      };
      return {
        onOpen() { clientEngine = a.tcpConnections()[0]?.connection; pump(); },
        onWritable: pump,
        onData() { failure ??= 'client received data'; },
        onEnd() {},
        onClose(reason) { if (reason !== 'closed') failure ??= `client connection closed: ${reason}`; },
      };
    }, nowUs);
    return c;
  });
  const finished = sim.runWhile(() => !(serverEnded && received === o.totalBytes) && failure === undefined, VIRTUAL_LIMIT_US);
  const cpu = process.cpuUsage(cpu0);
  const wallUs = (performance.now() - wall0) * 1000;
  if (failure !== undefined) throw new Error(failure);
  if (!finished) throw new Error(`transfer did not finish: ${received} of ${o.totalBytes} bytes by ${sim.nowUs} µs`);
  if (clientEngine === undefined || serverEngine === undefined) throw new Error('connection engines not found');
  const cs = clientEngine.stats();
  const ss = serverEngine.stats();
  return {
    bytes: received, dataSegments: cs.segmentsOut, segmentsBack: ss.segmentsOut, retransmits: cs.retransmits,
    sackRecoveries: cs.sackRecoveries, rtoExpirations: cs.rtoExpirations,
    cpuUs: cpu.user + cpu.system, wallUs, virtualUs: sim.nowUs, events: sim.totalEvents(),
  };
}

export function simBulkRows(r: SimBulkRun, label: string, lossless: boolean): BenchRow[] {
  const cpuS = r.cpuUs / 1e6;
  const mb = r.bytes / 1e6;
  const segs = r.dataSegments + r.segmentsBack;
  const rows: BenchRow[] = [
    { metric: 'transferred', value: mb, unit: 'MB', note: 'every byte checked at the receiver' },
    { metric: 'throughput per core', value: mb / cpuS, unit: 'MB/s', note: 'bytes / process CPU time (whole simulation on one core)' },
    { metric: 'CPU per data segment', value: r.cpuUs / r.dataSegments, unit: 'µs', note: 'both hosts, codecs, simulator, its share of ACKs' },
    { metric: 'CPU per segment', value: r.cpuUs / segs, unit: 'µs', note: 'segments sent by either host' },
    { metric: 'client segments out', value: r.dataSegments, unit: 'segments', note: 'including retransmissions' },
    { metric: 'server segments out', value: r.segmentsBack, unit: 'segments', note: 'ACKs and the FIN' },
    { metric: 'retransmissions', value: r.retransmits, unit: 'segments', ...(lossless ? { note: 'lossless link: expected 0' } : {}) },
    ...(lossless ? [] : [
      { metric: 'SACK recoveries', value: r.sackRecoveries, unit: 'episodes' },
      { metric: 'RTO expirations', value: r.rtoExpirations, unit: 'timeouts' },
    ]),
    { metric: 'simulator events', value: r.events, unit: 'events' },
    { metric: 'virtual transfer time', value: r.virtualUs / 1e6, unit: 's', note: 'simulated seconds' },
    { metric: 'goodput in virtual time', value: (r.bytes * 8) / r.virtualUs / 1e3, unit: 'Gbit/s', note: 'what the simulated link carried' },
    { metric: 'CPU time', value: cpuS, unit: 's', note: 'process.cpuUsage user + system' },
    { metric: 'wall time', value: r.wallUs / 1e6, unit: 's', note: 'includes waiting for the CPU on a busy machine (see Load)' },
  ];
  return rows.map((row) => ({ ...row, metric: `${label}: ${row.metric}` }));
}

export const simBulk: Benchmark = {
  id: 'sim-bulk',
  title: 'Bulk transfer across the simulator between two Hosts',
  description: 'Host 10.0.0.1 streams to Host 10.0.0.2 over one simulated 10 Gbit/s link with 50 µs '
    + 'one-way latency, once without faults and once with 1 % frame loss each way (simulator seed 1): '
    + 'ARP, IPv4, TCP codec and engine (default TcpConfig: NewReno, SACK, timestamps), and the '
    + 'simulator\'s event loop all run in this process. CPU is process.cpuUsage() from connect to '
    + 'the server seeing FIN, after an unmeasured 4 MB warm-up.',
  run(ctx: BenchContext): BenchRow[] {
    const total = ctx.quick ? 20_000_000 : 200_000_000;
    const pattern = new BulkPattern(0x5eed);
    const base = { seed: 1, latencyUs: 50, bandwidthBps: 10_000_000_000 };
    runSimBulk({ ...base, totalBytes: 4_000_000, lossRate: 0.01 }, pattern, (m) => ctx.progress(`warm-up ${m}`));
    const clean = runSimBulk({ ...base, totalBytes: total }, pattern, (m) => ctx.progress(`no loss ${m}`));
    const lossy = runSimBulk({ ...base, totalBytes: total, lossRate: 0.01 }, pattern, (m) => ctx.progress(`1% loss ${m}`));
    return [...simBulkRows(clean, 'no loss', true), ...simBulkRows(lossy, '1% loss', false)];
  },
};
