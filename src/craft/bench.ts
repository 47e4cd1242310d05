// CRAFT benchmarks for `unbroken bench` (to be listed in src/bench/registry.ts):
// the per-packet rewrite cost on one core, memory per spliced connection, and the
// client-visible pause at a splicer crash and at a back-end crash over seeded
// simulator runs (virtual time, so the pause figures do not depend on this machine).
import { performance } from 'node:perf_hooks';
import { cpuUsage, memoryUsage } from 'node:process';
import { SeededRng } from '../util/rng.js';
import { emitEthernetFrame, ETHERNET_HEADER_LEN, ETHERTYPE } from '../wire/ethernet.js';
import { emitIpv4Packet, IPV4_HEADER_LEN } from '../wire/ipv4.js';
import { emitTcpSegment, tcpFlags, tcpSegmentLen, type TcpRepr } from '../wire/tcp.js';
import type { Benchmark, BenchContext, BenchRow } from '../bench/types.js';
import { rewriteSegment, type SpliceState } from './splice.js';
import { Splicer } from './splicer.js';
import { runSpliceScenario } from './testing/scenario.js';

const OUR_MAC = new Uint8Array([2, 0, 0, 7, 0, 0x50]);

function spliceState(i: number): SpliceState {
  return {
    id: i, serviceIp: 0x0a070050, backendId: 'b0',
    client: { ip: 0x0a000000 + (i >>> 16), port: 1024 + (i & 0xffff) % 60000, mac: new Uint8Array([2, 0, 0, 0, 0, 1]), localPort: 80 },
    backend: { ip: 0x0a070064, port: 80, mac: new Uint8Array([2, 0, 0, 0, 0, 0x64]), localPort: 1024 + (i % 60000) },
    seqC2B: 12345, seqB2C: 0x80000000, tsC2B: 77, tsB2C: 99,
    winC2B: { inShift: 7, outShift: 7 }, winB2C: { inShift: 7, outShift: 7 }, sackToBackend: true,
    finClient: undefined, finBackend: undefined, finClientAcked: false, finBackendAcked: false, rst: false,
    lastC2BUs: 0, lastB2CUs: 0, expiresUs: undefined, packetsC2B: 0, packetsB2C: 0,
    clientAcked: 0, clientNxt: 0, b2cNxt: 0xffffffff, clientTsVal: undefined, tsToClient: undefined, respStart: 0,
    respHeadLen: 71, respBodyLen: 1_000_000, request: 'GET /bytes/1000000 HTTP/1.1\r\nHost: www.example.test\r\n\r\n',
    clientOpts: { mss: 1460, ws: true, sack: true, ts: true }, resplicing: false,
  };
}

function dataFrame(): Uint8Array {
  const seg: TcpRepr = {
    srcPort: 80, dstPort: 50000, seq: 1, ack: 2, window: 500, urgentPointer: 0, flags: tcpFlags({ ack: true, psh: true }),
    options: { timestamp: { value: 1000, echo: 2000 } }, payload: new Uint8Array(1448).fill(7),
  };
  const frame = new Uint8Array(ETHERNET_HEADER_LEN + IPV4_HEADER_LEN + tcpSegmentLen(seg));
  emitTcpSegment(seg, frame, ETHERNET_HEADER_LEN + IPV4_HEADER_LEN, 0x0a070064, 0x0a070050);
  emitIpv4Packet({ dscp: 0, ecn: 0, identification: 1, dontFragment: true, ttl: 64, protocol: 6, src: 0x0a070064, dst: 0x0a070050, payload: frame.subarray(ETHERNET_HEADER_LEN + IPV4_HEADER_LEN) }, frame, ETHERNET_HEADER_LEN);
  emitEthernetFrame({ dst: OUR_MAC, src: new Uint8Array(6), ethertype: ETHERTYPE.ipv4, payload: frame.subarray(ETHERNET_HEADER_LEN) }, frame, 0);
  return frame;
}

/** Full-sized data segments rewritten per CPU second (copy + rewrite + RFC 1624 patches, one core). */
function rewriteRate(ctx: BenchContext): BenchRow[] {
  const n = ctx.quick ? 200_000 : 2_000_000;
  const sp = spliceState(1);
  const frame = dataFrame();
  const tcpOff = ETHERNET_HEADER_LEN + IPV4_HEADER_LEN;
  const timers = { finLingerUs: 1, rstLingerUs: 1 };
  const c0 = cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const out = frame.slice();
    rewriteSegment(sp, 'b2c', out, ETHERNET_HEADER_LEN, tcpOff, out.length, OUR_MAC, i, timers);
  }
  const c = cpuUsage(c0);
  const wallMs = performance.now() - t0;
  const cpuS = (c.user + c.system) / 1e6;
  return [
    { metric: 'rewrite, 1448-byte segments (copy + rewrite)', value: Math.round(n / cpuS), unit: 'packets/CPU-s', note: `${n} packets, ${wallMs.toFixed(0)} ms wall` },
  ];
}

/** Heap bytes per spliced connection: N splices installed in a splicer's table (two keys each). */
function memoryPerSplice(ctx: BenchContext): BenchRow[] {
  const n = ctx.quick ? 20_000 : 60_000;
  const gc = (globalThis as { gc?: () => void }).gc;
  const splicer = new Splicer({
    name: 'bench', serviceIp: '10.7.0.80', serviceMac: '02:00:00:07:00:50', prefixLen: 16, servicePort: 80,
    routes: { pools: { p: [{ id: 'b0', ip: '10.7.0.100', port: 80 }] }, rules: [{ pool: 'p' }] }, rng: new SeededRng(1), maxSplices: n + 1,
  });
  gc?.();
  const before = memoryUsage().heapUsed;
  for (let i = 0; i < n; i++) splicer.installReplica(spliceState(i));
  gc?.();
  const after = memoryUsage().heapUsed;
  const held = splicer.spliceCount();          // keeps the splicer (and its table) alive through the measurement
  return [{
    metric: 'memory per spliced connection', value: Math.round((after - before) / n), unit: 'bytes',
    note: `${held} splices${gc === undefined ? '; no --expose-gc: includes garbage' : ''} (state + two table keys)`,
  }];
}

/** Client-visible pause (longest gap between data frames after the crash), virtual time, over seeded runs. */
function pauses(ctx: BenchContext): BenchRow[] {
  const runs = ctx.quick ? 5 : 20;
  const get = (n: number): string => `GET /bytes/${n} HTTP/1.1\r\nHost: www.example.test\r\n\r\n`;
  const splicerPause: number[] = [];
  const backendPause: number[] = [];
  const standbyPause: number[] = [];
  for (let i = 0; i < runs; i++) {
    ctx.progress(`craft pauses: run ${i + 1}/${runs}`);
    const rng = new SeededRng(7000 + i);
    const a = runSpliceScenario({
      seed: 7000 + i, backends: 2, limitUs: 300_000_000,
      downloads: [0, 1, 2].map((k) => ({ startUs: 300_000 + k * 3000, request: get(1_500_000) })),
      pair: { crashAfterSplices: { count: 3, delayUs: 1000 + rng.nextInt(1_000) } },
    });
    if (a.pauseUs !== undefined && a.results.every((x) => x.bodyOk && x.complete)) splicerPause.push(a.pauseUs);
    const crashUs = 60_000 + rng.nextInt(40_000);
    const dataUs = new Map<number, number[]>();
    const b = runSpliceScenario({
      seed: 7000 + i, backends: 2, limitUs: 120_000_000,
      downloads: [0, 1].map((k) => ({ startUs: 1000 + k * 2000, request: get(3_000_000) })),
      splicer: { healthIntervalUs: 20_000, healthTimeoutUs: 60_000 },
      link: { latencyUs: 100, bandwidthBps: 100_000_000, queueFrames: 1024, mtuBytes: 1500 },
      onStart: (sim) => {
        sim.at(crashUs, () => sim.crash('b0'));
        sim.tapPort('client', 0, { record: (t, f) => {
          if (f.length <= 66) return;
          const port = (f[36]! << 8) | f[37]!;          // TCP destination port (IPv4 header without options)
          const v = dataUs.get(port) ?? [];
          v.push(t);
          dataUs.set(port, v);
        } }, 'rx');
      },
    });
    if (b.results.every((x) => x.bodyOk && x.complete)) {
      // The connection that was on the crashed back end has the longest gap after the crash.
      let gap = 0;
      for (const v of dataUs.values()) for (let k = 1; k < v.length; k++) if (v[k]! > crashUs) gap = Math.max(gap, v[k]! - v[k - 1]!);
      backendPause.push(gap);
    }
    // Fencing's price: the standby crashes; the active box stops sending when its lease lapses
    // and serves alone once no takeover was announced.
    const standbyCrashUs = 310_000 + rng.nextInt(20_000);
    const seen: number[] = [];
    const c = runSpliceScenario({
      seed: 7000 + i, backends: 2, limitUs: 120_000_000,
      downloads: [0, 1].map((k) => ({ startUs: 300_000 + k * 2000, request: get(3_000_000) })),
      pair: { crashStandbyAtUs: standbyCrashUs },
      link: { latencyUs: 100, bandwidthBps: 100_000_000, queueFrames: 1024, mtuBytes: 1500 },
      onStart: (sim) => sim.tapPort('client', 0, { record: (t, f) => { if (f.length > 66) seen.push(t); } }, 'rx'),
    });
    if (c.results.every((x) => x.bodyOk && x.complete)) {
      let gap = 0;
      for (let k = 1; k < seen.length; k++) if (seen[k]! > standbyCrashUs) gap = Math.max(gap, seen[k]! - seen[k - 1]!);
      standbyPause.push(gap);
    }
  }
  const med = (v: number[]): number => { const s = [...v].sort((x, y) => x - y); return s[Math.floor(s.length / 2)] ?? NaN; };
  const ms = (us: number): number => Math.round(us / 100) / 10;
  return [
    { metric: 'pause at splicer crash, median', value: ms(med(splicerPause)), unit: 'ms (virtual)', note: `${splicerPause.length}/${runs} runs byte-exact; heartbeat 20 ms, dead after 100 ms` },
    { metric: 'pause at splicer crash, max', value: ms(Math.max(...splicerPause)), unit: 'ms (virtual)' },
    { metric: 'pause at back-end crash, median', value: ms(med(backendPause)), unit: 'ms (virtual)', note: `${backendPause.length}/${runs} runs byte-exact; echo every 20 ms, down after 60 ms` },
    { metric: 'pause at back-end crash, max', value: ms(Math.max(...backendPause)), unit: 'ms (virtual)' },
    { metric: 'pause at standby crash (fencing), median', value: ms(med(standbyPause)), unit: 'ms (virtual)', note: `${standbyPause.length}/${runs} runs byte-exact; lease 60 ms, alone after 100 ms more` },
    { metric: 'pause at standby crash (fencing), max', value: ms(Math.max(...standbyPause)), unit: 'ms (virtual)' },
  ];
}

export const craftSplice: Benchmark = {
  id: 'craft-splice',
  title: 'CRAFT splicer: rewrite cost, memory per splice, failover pauses',
  description: 'Per-packet header rewrite with RFC 1624 checksum patching on one core; heap per spliced connection; '
    + 'longest client-visible gap after a splicer crash and after a back-end crash (simulator, virtual time, seeded runs).',
  run: (ctx) => [...rewriteRate(ctx), ...memoryPerSplice(ctx), ...pauses(ctx)],
};
