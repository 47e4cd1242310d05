// Benchmarks for the wire codecs and the host layer (for `unbroken bench`; the lead
// registers `wireAndHostBenchmark` in src/bench/registry.ts). Measures process CPU time
// only: no network, no simulator; two Hosts hand frames to each other in-process.
import type { Benchmark, BenchRow } from '../bench/types.js';
import { Host } from './host.js';
import { SeededRng } from '../util/rng.js';
import { internetChecksum } from '../wire/checksum.js';
import { emitTcpSegment, parseTcpSegment, tcpFlags, tcpSegmentLen, type TcpRepr } from '../wire/tcp.js';

/** Process CPU seconds (user + system) since `t0`: robust on a busy machine, unlike wall time. */
function elapsedS(t0: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(t0);
  return (d.user + d.system) / 1e6;
}

/** Internet checksum throughput over 1480-byte ranges. */
function checksumRows(iterations: number): BenchRow[] {
  const b = new Uint8Array(1480);
  for (let i = 0; i < b.length; i++) b[i] = (i * 131) & 0xff;
  let x = 0;
  for (let i = 0; i < 1000; i++) x ^= internetChecksum(b);  // warm-up
  const t0 = process.cpuUsage();
  for (let i = 0; i < iterations; i++) x ^= internetChecksum(b);
  const s = elapsedS(t0);
  return [{ metric: 'checksum throughput', value: +(b.length * iterations / s / 1e6).toFixed(1), unit: 'MB/s', note: `1480-byte ranges (x=${x & 1})` }];
}

/** emit + parse of a full-size TCP segment with timestamps, checksums included. */
function tcpCodecRows(iterations: number): BenchRow[] {
  const seg: TcpRepr = {
    srcPort: 40000, dstPort: 80, seq: 1, ack: 2, flags: tcpFlags({ ack: true, psh: true }), window: 512, urgentPointer: 0,
    options: { timestamp: { value: 1, echo: 2 } }, payload: new Uint8Array(1448).fill(7),
  };
  const buf = new Uint8Array(tcpSegmentLen(seg));
  let ok = 0;
  const t0 = process.cpuUsage();
  for (let i = 0; i < iterations; i++) {
    seg.seq = i;
    emitTcpSegment(seg, buf, 0, 0x0a000001, 0x0a000002);
    if (parseTcpSegment(buf, 0x0a000001, 0x0a000002).ok) ok++;
  }
  const s = elapsedS(t0);
  if (ok !== iterations) throw new Error('TCP codec round trip failed during the benchmark');
  return [{ metric: 'TCP segment emit+parse', value: +(s * 1e9 / iterations).toFixed(0), unit: 'ns/segment', note: '1448-byte payload, timestamps, both checksums' }];
}

/** Bulk transfer between two Hosts handing frames to each other directly (both sides on one core). */
function hostPairRows(bytes: number): BenchRow[] {
  const mk = (n: number): Host => new Host({ name: `h${n}`, mac: `02:00:00:00:00:0${n}`, ip: `10.0.0.${n}`, prefixLen: 24, rng: new SeededRng(n) });
  const hosts = [mk(1), mk(2)];
  let received = 0;
  hosts[1]!.listen(9, () => ({ onData(d) { received += d.length; }, onEnd() {} }));
  const chunk = new Uint8Array(65536);
  let sent = 0;
  hosts[0]!.connect('10.0.0.2', 9, (c) => {
    const push = (): void => {
      while (sent < bytes) { const n = c.write(chunk.subarray(0, Math.min(chunk.length, bytes - sent))); sent += n; if (n === 0) return; }
      c.end();
    };
    return { onOpen: push, onWritable: push, onData() {}, onEnd() {} };
  }, 0);
  let now = 0;
  let frames = 0;
  const q: Array<[number, Uint8Array]> = [];
  const t0 = process.cpuUsage();
  while (received < bytes) {
    for (let i = 0; i < 2; i++) for (let f = hosts[i]!.pollTransmit(); f; f = hosts[i]!.pollTransmit()) { q.push([1 - i, f.frame]); frames++; }
    if (q.length > 0) { now += 10; for (const [to, f] of q.splice(0)) hosts[to]!.handleFrame(0, f, now); continue; }
    const ds = hosts.map((h) => h.pollDeadline()).filter((d): d is number => d !== undefined);
    if (ds.length === 0) throw new Error(`transfer stalled at ${received} bytes`);
    now = Math.max(now, Math.min(...ds));
    for (const h of hosts) { const d = h.pollDeadline(); if (d !== undefined && d <= now) h.handleTimeout(now); }
  }
  const s = elapsedS(t0);
  return [
    { metric: 'host pair bulk transfer', value: +(bytes / s / 1e6).toFixed(1), unit: 'MB/s per core', note: `${bytes / 2 ** 20} MiB, sender and receiver on one core` },
    { metric: 'host pair cost per frame', value: +(s * 1e6 / frames).toFixed(2), unit: 'µs/frame', note: `${frames} frames (data + ACKs), both hosts` },
  ];
}

export const wireAndHostBenchmark: Benchmark = {
  id: 'wire-host',
  title: 'Wire codecs and host layer: CPU cost',
  description: 'Internet checksum throughput, TCP segment emit+parse per segment, and a bulk transfer between two Hosts '
    + 'that hand frames to each other in-process (no simulator), so the figures are the stack\'s own CPU cost.',
  run(ctx) {
    const scale = ctx.quick ? 1 : 5;
    ctx.progress('checksum');
    const rows = checksumRows(20_000 * scale);
    ctx.progress('tcp codec');
    rows.push(...tcpCodecRows(10_000 * scale));
    ctx.progress('host pair');
    rows.push(...hostPairRows(scale * 10 * 2 ** 20));
    return rows;
  },
};
