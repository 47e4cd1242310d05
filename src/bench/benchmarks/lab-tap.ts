// Our stack on a TAP against Linux, in the same run and the same namespace topology
// (src/lab/pair.ts): single-connection throughput, 1-byte round trips, and
// redis-benchmark against our RESP app and a real redis-server. Tools run unmodified.
import { blobSha256 } from '../../apps/index.js';
import { parseRedisCsv, pyEchoServer, rrScript, spawnInNs, stopChild, timedInNs, waitPort } from '../../lab/bench-tools.js';
import { labDown } from '../../lab/lab.js';
import { pairUp, type PairOptions } from '../../lab/pair.js';
import type { LabState } from '../../lab/state.js';
import type { Benchmark, BenchRow } from '../types.js';

async function withLab<T>(o: PairOptions, fn: (s: LabState) => Promise<T>): Promise<T> {
  const s = await pairUp(o);
  try { return await fn(s); } finally { await labDown(s.name); }
}

const gbit = (bytes: number, s: number): number => Math.round((bytes * 8) / s / 1e6) / 1000;
const ratio = (a: number, b: number): number => Math.round((a / b) * 1000) / 1000;

export const tapThroughput: Benchmark = {
  id: 'tap-throughput',
  title: 'Single-connection throughput: Linux client ← our stack on a TAP vs Linux ← Linux over veth',
  description: 'nc in the client namespace reads N bytes from the blob app on our stack (TAP without offloads, and with checksum/TSO offloads: 64 KB segments); '
    + 'the anchor is nc ← nc (kernel to kernel) over the same veth and bridge, and the same blob app on kernel TCP (node:net). One connection each, same run.',
  requires: ['root', { program: 'nc', debianPackage: 'netcat-openbsd' }],
  async run(ctx) {
    const oursBytes = ctx.quick ? 20_000_000 : 200_000_000;
    const kernelBytes = ctx.quick ? 500_000_000 : 4_000_000_000;
    const oursRun = (offload: boolean): Promise<number> => withLab({ app: 'blob', port: 9000, offload }, async (s) => {
      const t = await timedInNs(s.netns.client, `echo ${oursBytes} | nc -N ${s.service.ip} 9000 | sha256sum`);
      if (t.stdout.split(' ')[0] !== blobSha256(oursBytes)) throw new Error('blob digest mismatch');
      return t.seconds;
    });
    ctx.progress('our stack ← blob');
    const ours = await oursRun(false);
    ctx.progress('our stack ← blob, offloads');
    const oursOffload = await oursRun(true);
    ctx.progress('kernel ← kernel');
    const [kernel, appOnKernel] = await withLab({ app: 'blob', port: 9000, stack: 'linux' }, async (s) => {
      const srv = spawnInNs(s.netns.server, ['bash', '-c', `head -c ${kernelBytes} /dev/zero | nc -N -l ${s.service.ip} 9001`]);
      try {
        await waitPort(s.netns.server, 9001);
        const k = await timedInNs(s.netns.client, `nc -d ${s.service.ip} 9001 | wc -c`);
        if (Number(k.stdout.trim()) !== kernelBytes) throw new Error(`kernel transfer got ${k.stdout.trim()} bytes`);
        const a = await timedInNs(s.netns.client, `echo ${oursBytes} | nc -N ${s.service.ip} 9000 | wc -c`);
        if (Number(a.stdout.trim()) !== oursBytes) throw new Error('blob on kernel TCP: short transfer');
        return [k.seconds, a.seconds];
      } finally { await stopChild(srv); }
    });
    const oursG = gbit(oursBytes, ours);
    const offG = gbit(oursBytes, oursOffload);
    const kernelG = gbit(kernelBytes, kernel);
    return [
      { metric: 'our stack on TAP → Linux (blob app)', value: oursG, unit: 'Gbit/s', note: `${oursBytes / 1e6} MB in ${ours.toFixed(2)} s` },
      { metric: 'our stack on TAP with offloads → Linux', value: offG, unit: 'Gbit/s', note: `${oursBytes / 1e6} MB in ${oursOffload.toFixed(2)} s; csum + TSO4` },
      { metric: 'Linux → Linux over veth (nc)', value: kernelG, unit: 'Gbit/s', note: `${kernelBytes / 1e6} MB in ${kernel.toFixed(2)} s` },
      { metric: 'blob app on Linux TCP (node:net) → Linux', value: gbit(oursBytes, appOnKernel), unit: 'Gbit/s' },
      { metric: 'ratio ours / Linux↔Linux', value: ratio(oursG, kernelG), unit: '×' },
      { metric: 'ratio ours with offloads / Linux↔Linux', value: ratio(offG, kernelG), unit: '×' },
    ] satisfies BenchRow[];
  },
};

export const tapRoundTrips: Benchmark = {
  id: 'tap-rr',
  title: '1-byte request/response round trips: Linux client ↔ our stack on a TAP vs ↔ Linux',
  description: 'A python3 client in the client namespace sends 1 byte and waits for the echo, on one TCP_NODELAY connection, for a fixed time; '
    + 'against our echo app on the TAP (Nagle off, and on), and against a python3 echo server (TCP_NODELAY) on kernel TCP over the same veth and bridge.',
  requires: ['root', { program: 'python3', debianPackage: 'python3' }],
  async run(ctx) {
    const seconds = ctx.quick ? 2 : 10;
    // Our server with Nagle off, as the kernel client and the python server (TCP_NODELAY); with Nagle on too.
    const rr = (tcp: PairOptions['tcp'], offload = false): Promise<number> => withLab({ app: 'echo', port: 7, tcp, offload },
      async (s) => Number((await timedInNs(s.netns.client, rrScript(s.service.ip, 7, seconds))).stdout.trim()));
    const ours = await rr({ nagle: false });
    const oursNagle = await rr({});
    const oursOffload = await rr({ nagle: false }, true);
    const kernel = await withLab({ app: 'echo', port: 7, stack: 'linux' }, async (s) => {
      const srv = spawnInNs(s.netns.server, pyEchoServer(s.service.ip, 7007));
      try {
        await waitPort(s.netns.server, 7007);
        return Number((await timedInNs(s.netns.client, rrScript(s.service.ip, 7007, seconds))).stdout.trim());
      } finally { await stopChild(srv); }
    });
    return [
      { metric: 'our stack on TAP (Nagle off)', value: Math.round(ours / seconds), unit: 'round trips/s' },
      { metric: 'our stack on TAP (Nagle on)', value: Math.round(oursNagle / seconds), unit: 'round trips/s' },
      { metric: 'our stack on TAP (Nagle off, offloads)', value: Math.round(oursOffload / seconds), unit: 'round trips/s' },
      { metric: 'Linux kernel (python3 echo)', value: Math.round(kernel / seconds), unit: 'round trips/s' },
      { metric: 'ratio ours / Linux', value: ratio(ours, kernel), unit: '×' },
      { metric: 'ratio ours with offloads / Linux', value: ratio(oursOffload, kernel), unit: '×' },
    ];
  },
};

export const tapRedis: Benchmark = {
  id: 'tap-redis',
  title: 'redis-benchmark: our RESP app on a TAP vs a real redis-server on Linux',
  description: 'redis-benchmark (50 clients, SET and GET, without and with 16-deep pipelining) from the client namespace, '
    + 'against our RESP app on our stack (Nagle off, as redis-server; without and with TAP offloads) and against redis-server on kernel TCP in the same topology.',
  requires: ['root', { program: 'redis-benchmark', debianPackage: 'redis-tools' }, { program: 'redis-server', debianPackage: 'redis-server' }],
  async run(ctx) {
    const n = ctx.quick ? 20_000 : 100_000;
    const bench = async (s: LabState, port: number): Promise<Record<string, number>> => {
      const out: Record<string, number> = {};
      for (const p of [1, 16]) {
        const r = await timedInNs(s.netns.client, `redis-benchmark -h ${s.service.ip} -p ${port} -n ${n} -c 50 -P ${p} -t set,get -q --csv`);
        if (/error/i.test(r.stdout)) throw new Error(`redis-benchmark reported errors: ${r.stdout}`);
        for (const [k, v] of Object.entries(parseRedisCsv(r.stdout))) out[`${k} P${p}`] = v;
      }
      return out;
    };
    ctx.progress('our RESP app');
    // Nagle off on our side, as redis-server sets TCP_NODELAY on its connections.
    const ours = await withLab({ app: 'resp', port: 6379, tcp: { nagle: false } }, (s) => bench(s, 6379));
    ctx.progress('our RESP app, offloads');
    const oursOffload = await withLab({ app: 'resp', port: 6379, tcp: { nagle: false }, offload: true }, (s) => bench(s, 6379));
    ctx.progress('redis-server');
    const real = await withLab({ app: 'echo', port: 7, stack: 'linux' }, async (s) => {
      const srv = spawnInNs(s.netns.server, ['redis-server', '--port', '6380', '--bind', s.service.ip, '--save', '', '--appendonly', 'no', '--protected-mode', 'no']);
      try { await waitPort(s.netns.server, 6380); return await bench(s, 6380); } finally { await stopChild(srv); }
    });
    const rows: BenchRow[] = [];
    for (const k of Object.keys(ours)) {
      rows.push({ metric: `ours ${k}`, value: ours[k], unit: 'requests/s' });
      if (oursOffload[k] !== undefined) rows.push({ metric: `ours with offloads ${k}`, value: oursOffload[k], unit: 'requests/s' });
      rows.push({ metric: `redis-server ${k}`, value: real[k] ?? 0, unit: 'requests/s' });
      if (real[k] !== undefined) rows.push({ metric: `ratio ${k}`, value: ratio(ours[k], real[k]), unit: '×' });
      if (real[k] !== undefined && oursOffload[k] !== undefined) rows.push({ metric: `ratio with offloads ${k}`, value: ratio(oursOffload[k], real[k]), unit: '×' });
    }
    return rows;
  },
};
