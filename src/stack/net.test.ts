// Test timing: real time (scripts/test.mjs runs this file one at a time beside the lab files, at normal priority).
// node:net-shaped sockets on two in-process Hosts joined by a real-time in-memory LAN
// driver (the shape the TAP driver takes): echo, 1 MB through stream.pipeline with
// backpressure, half-close, ECONNREFUSED, server close.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pipeline } from 'node:stream/promises';
import { Readable, Writable } from 'node:stream';
import { Host } from './host.js';
import { SeededRng } from '../util/rng.js';
import { connect, createServer, hostDriverFromRunner, type HostDriver, type Socket } from './net.js';

/** Hosts on one in-memory segment, pumped on the real clock; one HostDriver per host. */
class MemoryLan {
  private readonly t0 = process.hrtime.bigint();
  private scheduled = false;
  private timer: NodeJS.Timeout | undefined;
  readonly drivers: HostDriver[];

  constructor(readonly hosts: Host[]) {
    this.drivers = hosts.map((host) => ({ host, nowUs: () => this.nowUs(), kick: () => this.kick() }));
  }

  nowUs(): number {
    return Number((process.hrtime.bigint() - this.t0) / 1000n);
  }

  kick(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => { this.scheduled = false; this.pump(); });
  }

  private pump(): void {
    const now = this.nowUs();
    for (const h of this.hosts) h.handleTimeout(now);
    for (let round = 0, moved = true; moved; round++) {
      if (round > 10_000) { this.kick(); return; }
      moved = false;
      for (let i = 0; i < this.hosts.length; i++) {
        for (let f = this.hosts[i]!.pollTransmit(); f !== undefined; f = this.hosts[i]!.pollTransmit()) {
          moved = true;
          for (let j = 0; j < this.hosts.length; j++) if (j !== i) this.hosts[j]!.handleFrame(0, f.frame, now);
        }
      }
    }
    let next: number | undefined;
    for (const h of this.hosts) {
      const d = h.pollDeadline();
      if (d !== undefined && (next === undefined || d < next)) next = d;
    }
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = next === undefined ? undefined : setTimeout(() => this.pump(), Math.max(0, (next - now) / 1000));
  }

  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
  }
}

function lan(): MemoryLan {
  return new MemoryLan([1, 2].map((n) => new Host({
    name: `h${n}`, mac: `02:00:00:00:00:0${n}`, ip: `10.0.0.${n}`, prefixLen: 24, rng: new SeededRng(n),
    tcp: { timeWaitUs: 1_000_000 },
  })));
}

function collect(s: Socket): Promise<Buffer> {
  const parts: Buffer[] = [];
  s.on('data', (d: Buffer) => parts.push(d));
  return new Promise((resolve, reject) => { s.on('end', () => resolve(Buffer.concat(parts))); s.on('error', reject); });
}

test('echo server and client: data, end, close events; server close after its sockets', async () => {
  const l = lan();
  const [cd, sd] = l.drivers as [HostDriver, HostDriver];
  const server = createServer(sd, (sock) => sock.pipe(sock));
  await new Promise<void>((r) => server.listen(7, r));
  assert.deepEqual(server.address(), { address: '10.0.0.2', family: 'IPv4', port: 7 });
  const client = connect(cd, { host: '10.0.0.2', port: 7 });
  await new Promise<void>((r) => client.once('connect', r));
  assert.equal(client.remoteAddress, '10.0.0.2');
  assert.equal(client.remotePort, 7);
  const got = collect(client);
  const clientClosed = new Promise<void>((r) => client.once('close', r));
  client.write('hello ');
  client.end('world');
  assert.equal((await got).toString(), 'hello world');
  await clientClosed;
  const closed = new Promise<void>((r) => server.close(() => r()));
  await closed;
  l.stop();
});

test('1 MB through stream.pipeline with backpressure both ways', async () => {
  const l = lan();
  const [cd, sd] = l.drivers as [HostDriver, HostDriver];
  const server = createServer(sd, (sock) => { void pipeline(sock, sock).catch(() => {}); });
  server.listen(7);
  const data = Buffer.alloc(1 << 20);
  const r = new SeededRng(7);
  for (let i = 0; i < data.length; i++) data[i] = r.nextU32() & 255;
  const client = connect(cd, { host: '10.0.0.2', port: 7 });
  const got = collect(client);
  const chunks = Array.from({ length: 64 }, (_, i) => data.subarray(i * 16384, (i + 1) * 16384));
  await pipeline(Readable.from(chunks), new Writable({
    write(chunk: Buffer, _e, cb) { if (client.write(chunk)) cb(); else client.once('drain', () => cb()); },
    final(cb) { client.end(); cb(); },
  }));
  const back = await got;
  assert.equal(back.length, data.length);
  assert.ok(back.equals(data));
  server.close();
  l.stop();
});

test('half-close: the server answers after the client ended its side', async () => {
  const l = lan();
  const [cd, sd] = l.drivers as [HostDriver, HostDriver];
  const server = createServer(sd, (sock) => {
    let n = 0;
    sock.on('data', (d: Buffer) => { n += d.length; });
    sock.on('end', () => { sock.end(`got ${n}`); });
  }, { allowHalfOpen: true });
  server.listen(9);
  const client = connect(cd, { host: '10.0.0.2', port: 9 }, undefined, { allowHalfOpen: true });
  const got = collect(client);
  client.end(Buffer.alloc(5000, 1));
  assert.equal((await got).toString(), 'got 5000');
  server.close();
  l.stop();
});

test('connect to a closed port fails with ECONNREFUSED', async () => {
  const l = lan();
  const client = connect(l.drivers[0]!, { host: '10.0.0.2', port: 1 });
  const err = await new Promise<Error & { code?: string }>((r) => client.once('error', r));
  assert.equal(err.code, 'ECONNREFUSED');
  l.stop();
});

test('hostDriverFromRunner: kicks in one stretch coalesce into one run at the runner clock', async () => {
  const h = new Host({ name: 'h', mac: '02:00:00:00:00:09', ip: '10.0.0.9', prefixLen: 24, rng: new SeededRng(9) });
  const runs: number[] = [];
  const runner = { nowUs: () => 1234, run<T>(fn: (now: number) => T): T { runs.push(1234); return fn(1234); } };
  const d = hostDriverFromRunner(h, runner);
  d.kick(); d.kick(); d.kick();
  assert.deepEqual(runs, []);
  await Promise.resolve();
  assert.deepEqual(runs, [1234]);
  d.kick();
  await Promise.resolve();
  assert.equal(runs.length, 2);
  assert.equal(d.nowUs(), 1234);
});

test('a server socket that does not read closes the TCP window; nothing piles up unbounded', async () => {
  const l = lan();
  const [cd, sd] = l.drivers as [HostDriver, HostDriver];
  let serverSock: Socket | undefined;
  const server = createServer(sd, (sock) => { serverSock = sock; sock.pause(); });
  server.listen(7);
  const client = connect(cd, { host: '10.0.0.2', port: 7 });
  await new Promise<void>((r) => client.once('connect', r));
  const total = 4 << 20;
  const chunk = Buffer.alloc(65536, 0x5a);
  let written = false;
  const writeAll = (async () => {
    for (let off = 0; off < total; off += chunk.length) {
      if (!client.write(chunk)) await new Promise((r) => client.once('drain', r));
    }
    written = true;
  })();
  await new Promise((r) => setTimeout(r, 500));
  // The paused server buffered at most its stream high-water mark plus one delivery; the
  // rest waits in TCP buffers bounded by the config (256 KiB each way), and the client waits.
  const buffered = serverSock!.readableLength;
  const engine = sd.host.tcpConnections()[0]!.connection;
  assert.ok(buffered <= 4 * 65536, `server stream buffer ${buffered}`);
  assert.ok(engine.readableBytes() <= 256 * 1024, `engine receive queue ${engine.readableBytes()}`);
  assert.equal(written, false, 'the client is held back');
  console.log(`# paused: stream ${buffered} B, engine ${engine.readableBytes()} B, client accepted ${client.bytesWritten} B`);
  let got = 0;
  const done = new Promise<void>((r) => serverSock!.on('data', (d: Buffer) => { got += d.length; if (got >= total) r(); }));
  serverSock!.resume();
  await writeAll;
  await done;
  assert.equal(got, total);
  client.destroy();
  server.close();
  l.stop();
});

test('a server that destroys its socket with an error resets the client (ECONNRESET)', async () => {
  const l = lan();
  const [cd, sd] = l.drivers as [HostDriver, HostDriver];
  const server = createServer(sd, (sock) => {
    sock.on('error', () => {});
    sock.once('data', () => sock.destroy(new Error('app gave up')));
  });
  server.listen(7);
  const client = connect(cd, { host: '10.0.0.2', port: 7 });
  const err = new Promise<Error & { code?: string }>((r) => client.once('error', r));
  client.write('hello');
  assert.equal((await err).code, 'ECONNRESET');
  assert.equal(sd.host.counters()['tcp-closed-aborted'], 1);
  server.close();
  l.stop();
});
