// Benchmark "tcp-cpu": the TCP engine's own CPU cost. Two TcpConnections in one process
// hand each other TcpRepr values directly (no codec, no IP, no simulator), so the figure
// is segment processing alone: sender, receiver, ACKs, timers bookkeeping.
import { performance } from 'node:perf_hooks';
import { TcpConnection, defaultTcpConfig, type TcpConfig } from '../../tcp/connection.js';
import type { FourTuple } from '../../tcp/four-tuple.js';
import { reverseTuple } from '../../tcp/four-tuple.js';
import type { TcpRepr } from '../../wire/tcp.js';
import { congestionByName } from '../../tcp/congestion/index.js';
import type { Benchmark, BenchContext, BenchRow } from '../types.js';
import { BulkPattern } from './bulk-pattern.js';

export interface PairRun {
  bytes: number;
  dataSegments: number;
  ackSegments: number;
  retransmits: number;
  cpuUs: number;
  wallUs: number;
}

const CLIENT: FourTuple = { localIp: 0x0a000001, localPort: 40_000, remoteIp: 0x0a000002, remotePort: 5001 };
/** Bound on virtual time for one transfer; hitting it means the engine stalled. */
const VIRTUAL_LIMIT_US = 600_000_000;

/**
 * Transfer `totalBytes` from a client to a server connection, in-process, checking every
 * byte, and measure process CPU time for the whole exchange (handshake to FIN).
 */
export function runTcpPair(cfg: TcpConfig, totalBytes: number, pattern: BulkPattern, progress: (m: string) => void): PairRun {
  let now = 1_000;
  const client = TcpConnection.connect(cfg, CLIENT, 0xffffff00 - 1_000_000, now);
  let server: TcpConnection | undefined;
  let sent = 0;
  let received = 0;
  let closing = false;
  let peerFin = false;
  let dataSegments = 0;
  let ackSegments = 0;
  let nextReport = 0;
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  const deliverToServer = (seg: TcpRepr): void => {
    if (server === undefined) {
      if (!seg.flags.syn) throw new Error('first client segment is not a SYN');
      server = TcpConnection.accept(cfg, reverseTuple(CLIENT), seg, 0x7fff0000, now);
    } else {
      server.handleSegment(seg, now);
    }
  };
  // Zero-latency "wires" in each direction. As the FrameEndpoint contract says for drivers,
  // after every handle* call the connection's transmit queue is drained onto the wire.
  const toServer: TcpRepr[] = [];
  const toClient: TcpRepr[] = [];
  const drainClient = (): void => {
    for (let seg = client.pollTransmit(now); seg !== undefined; seg = client.pollTransmit(now)) {
      if (seg.payload.length > 0) dataSegments++;
      toServer.push(seg);
    }
  };
  const drainServer = (): void => {
    if (server === undefined) return;
    for (let seg = server.pollTransmit(now); seg !== undefined; seg = server.pollTransmit(now)) {
      if (seg.payload.length === 0) ackSegments++;
      toClient.push(seg);
    }
  };
  while (!(peerFin && received === totalBytes)) {
    while (sent < totalBytes) {
      const n = client.send(pattern.chunkAt(sent, totalBytes - sent));
      if (n === 0) break;
      sent += n;
    }
    if (sent === totalBytes && !closing) { client.close(); closing = true; }
    drainClient();
    const moved = toServer.length + toClient.length;
    // Deliver what is on the wires, in order, one segment at a time.
    for (let i = 0; i < toServer.length; i++) {
      deliverToServer(toServer[i]!);
      drainServer();
      now += 1;
    }
    toServer.length = 0;
    if (server !== undefined) {
      while (server.readableBytes() > 0) {
        const d = server.read();
        if (!pattern.matches(received, d)) throw new Error(`data mismatch at stream offset ${received}`);
        received += d.length;
      }
      drainServer(); // a window update after reading
      for (let e = server.pollEvent(); e !== undefined; e = server.pollEvent()) {
        if (e.type === 'peer-fin') peerFin = true;
        if (e.type === 'closed') throw new Error(`server closed early: ${e.reason}`);
      }
    }
    for (let i = 0; i < toClient.length; i++) {
      client.handleSegment(toClient[i]!, now);
      drainClient();
      now += 1;
    }
    toClient.length = 0;
    for (let e = client.pollEvent(); e !== undefined; e = client.pollEvent()) {
      if (e.type === 'closed' && e.reason !== 'closed') throw new Error(`client closed: ${e.reason}`);
    }
    if (received >= nextReport) {
      progress(`${(received / 1e6).toFixed(0)} / ${(totalBytes / 1e6).toFixed(0)} MB`);
      nextReport += totalBytes / 20;
    }
    if (moved > 0 || toServer.length > 0) continue;
    // Quiet: jump to the earliest timer (delayed ACK, RTO, ...).
    const deadlines = [client.pollDeadline(), server?.pollDeadline()].filter((d): d is number => d !== undefined);
    if (deadlines.length === 0) throw new Error(`transfer stalled at ${received} of ${totalBytes} bytes`);
    now = Math.max(now + 1, Math.min(...deadlines));
    if (now > VIRTUAL_LIMIT_US) throw new Error(`transfer exceeded ${VIRTUAL_LIMIT_US} µs of virtual time`);
    client.handleTimeout(now);
    server?.handleTimeout(now);
  }
  const cpu = process.cpuUsage(cpu0);
  const wallUs = (performance.now() - wall0) * 1000;
  return {
    bytes: received, dataSegments, ackSegments,
    retransmits: client.stats().retransmits, cpuUs: cpu.user + cpu.system, wallUs,
  };
}

export function pairRows(r: PairRun, label: string): BenchRow[] {
  const cpuS = r.cpuUs / 1e6;
  const mb = r.bytes / 1e6;
  return [
    { metric: `${label}: transferred`, value: mb, unit: 'MB', note: 'every byte checked at the receiver' },
    { metric: `${label}: throughput per core`, value: mb / cpuS, unit: 'MB/s', note: 'bytes / process CPU time (both ends on one core)' },
    { metric: `${label}: CPU per data segment`, value: r.cpuUs / r.dataSegments, unit: 'µs', note: 'sender + receiver + its share of ACKs' },
    { metric: `${label}: CPU per segment`, value: r.cpuUs / (r.dataSegments + r.ackSegments), unit: 'µs', note: 'data and pure ACKs, both directions' },
    { metric: `${label}: data segments`, value: r.dataSegments, unit: 'segments' },
    { metric: `${label}: pure ACKs`, value: r.ackSegments, unit: 'segments' },
    { metric: `${label}: retransmissions`, value: r.retransmits, unit: 'segments', note: 'lossless path: expected 0' },
    { metric: `${label}: CPU time`, value: cpuS, unit: 's', note: 'process.cpuUsage user + system' },
    { metric: `${label}: wall time`, value: r.wallUs / 1e6, unit: 's', note: 'includes waiting for the CPU on a busy machine (see Load)' },
  ];
}

export const tcpCpu: Benchmark = {
  id: 'tcp-cpu',
  title: 'TCP engine CPU cost, two connections joined in-process',
  description: 'A client TcpConnection sends a bulk stream to a server TcpConnection; segments pass as '
    + 'TcpRepr values with no codec, IP layer or simulator, at zero latency and no loss, starting '
    + 'near the 2^32 sequence wrap. Default TcpConfig (MSS 1460, 256 KiB buffers, SACK, timestamps, '
    + 'window scaling, delayed ACKs) with each congestion controller. CPU is process.cpuUsage() '
    + 'for the whole exchange, SYN to FIN, after an unmeasured 4 MB warm-up.',
  run(ctx: BenchContext): BenchRow[] {
    const total = ctx.quick ? 20_000_000 : 200_000_000;
    const pattern = new BulkPattern(0x5eed);
    const names = ['newreno', 'cubic'] as const;
    const cfgOf = (name: (typeof names)[number]): TcpConfig => ({ ...defaultTcpConfig(), congestion: congestionByName(name) });
    // Warm up the JIT on every code path first, so the first measured run is not penalised.
    for (const name of names) runTcpPair(cfgOf(name), 4_000_000, pattern, (m) => ctx.progress(`warm-up ${name} ${m}`));
    const rows: BenchRow[] = [];
    for (const name of names) {
      const r = runTcpPair(cfgOf(name), total, pattern, (m) => ctx.progress(`${name} ${m}`));
      rows.push(...pairRows(r, name));
    }
    return rows;
  },
};
