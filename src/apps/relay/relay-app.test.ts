// Test timing: real time (scripts/test.mjs runs this file one at a time beside the lab files, at normal priority).
// The relay app against a scripted upstream (bounds, errors, close in both directions)
// and against a real redis-server on loopback (skipped with the reason when missing).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemConnection } from '../mem-connection.js';
import { RelayApp, type RelayError, type UpstreamHandlers, type UpstreamLink } from './relay-app.js';
import { netUpstream, waitForUpstream } from './net-upstream.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

/** An upstream the test drives by hand. */
class FakeLink implements UpstreamLink {
  written: Uint8Array[] = [];
  pending = 0;
  ended = false;
  destroyed = false;
  paused = false;
  constructor(readonly h: UpstreamHandlers) {}
  write(d: Uint8Array): void { this.written.push(d); this.pending += d.length; }
  pendingBytes(): number { return this.pending; }
  end(): void { this.ended = true; }
  destroy(): void { this.destroyed = true; }
  pauseReading(): void { this.paused = true; }
  resumeReading(): void { this.paused = false; }
  text(): string { return this.written.map(dec).join(''); }
}

/** A MemConnection that can stop its reader, like the host's HostStreamConnection. */
class PausableMem extends MemConnection {
  paused = false;
  pauseReading(): void { this.paused = true; }
  resumeReading(): void { this.paused = false; }
}

function relayWithFake(opts: Partial<ConstructorParameters<typeof RelayApp>[0]> = {}): { app: RelayApp; links: FakeLink[]; errors: RelayError[] } {
  const links: FakeLink[] = [];
  const errors: RelayError[] = [];
  const app = new RelayApp({ connector: (h) => { const l = new FakeLink(h); links.push(l); return l; }, onError: (_id, e) => errors.push(e), ...opts });
  return { app, links, errors };
}

test('relay: client bytes reach the server, its replies are the output, FINs pass both ways', () => {
  const { app, links } = relayWithFake();
  const conn = new MemConnection('c');
  const s = conn.attach(app.service);
  s.onData(enc('PING\r\n'));
  assert.equal(links[0]!.text(), 'PING\r\n');
  links[0]!.h.onData(enc('+PONG\r\n'));
  assert.equal(dec(conn.drain()), '+PONG\r\n');
  s.onEnd();
  assert.equal(links[0]!.ended, true, 'client FIN half-closes the upstream');
  assert.equal(conn.ended, false);
  links[0]!.h.onData(enc('+late\r\n'));
  links[0]!.h.onEnd();
  assert.equal(dec(conn.drain()), '+PONG\r\n+late\r\n');
  assert.equal(conn.ended, true, 'server FIN ends the connection after its replies');
  s.onClose?.('closed');
  assert.equal(links[0]!.destroyed, true);
  assert.equal(app.counters()['connections-live'], 0);
});

test('relay: the client reset destroys the upstream', () => {
  const { app, links } = relayWithFake();
  const s = new MemConnection('c').attach(app.service);
  s.onClose?.('reset');
  assert.equal(links[0]!.destroyed, true);
  assert.equal(app.counters()['client-reset'], 1);
});

test('relay: client bytes waiting for the server stop the connection reading, and past the hard bound reset it', () => {
  const { app, links, errors } = relayWithFake({ pendingHighBytes: 10, pendingMaxBytes: 30 });
  const conn = new PausableMem('c');
  const s = conn.attach(app.service);
  s.onData(new Uint8Array(8));
  assert.equal(conn.paused, false);
  s.onData(new Uint8Array(8));
  assert.equal(conn.paused, true, 'above the mark: reading paused (the TCP window closes)');
  links[0]!.pending = 4;
  links[0]!.h.onDrain();
  assert.equal(conn.paused, false, 'drained: reading resumed');
  s.onData(new Uint8Array(30));
  assert.equal(conn.destroyed, true, 'past the hard bound the connection is reset');
  assert.equal(links[0]!.destroyed, true);
  assert.deepEqual(errors.map((e) => e.code), ['upstream-backlog']);
  assert.equal(app.counters()['upstream-backlog'], 1);
});

test('relay: replies the connection cannot take stop the upstream being read until it drains', () => {
  const { app, links } = relayWithFake({ outHighBytes: 16 });
  const conn = new MemConnection('c', 8);
  const s = conn.attach(app.service);
  links[0]!.h.onData(new Uint8Array(40));
  assert.equal(links[0]!.paused, true);
  conn.drainAll();
  assert.equal(links[0]!.paused, false);
  assert.equal(conn.output().length, 40);
  void s;
});

test('relay: an upstream failure sends the replies already received, then a FIN; later client bytes are discarded and counted', () => {
  const { app, links, errors } = relayWithFake();
  const conn = new MemConnection('c');
  const s = conn.attach(app.service);
  s.onData(enc('GET a\r\n'));
  links[0]!.h.onData(enc('$1\r\n1\r\n'));
  links[0]!.h.onError({ code: 'upstream-reset', detail: 'test' });
  assert.equal(dec(conn.drain()), '$1\r\n1\r\n');
  assert.equal(conn.ended, true);
  assert.equal(conn.destroyed, false, 'closed cleanly, not reset');
  s.onData(enc('GET b\r\n'));
  assert.equal(links[0]!.text(), 'GET a\r\n');
  assert.deepEqual(errors.map((e) => e.code), ['upstream-reset']);
  assert.equal(app.counters()['client-bytes-discarded'], 7);
});

// ---- a real redis-server on loopback ----------------------------------------------

function redisMissing(): string | undefined {
  try { execFileSync('sh', ['-c', 'command -v redis-server'], { stdio: 'ignore' }); return undefined; } catch {
    if (process.env.UNBROKEN_LAB === 'required') throw new Error('UNBROKEN_LAB=required but redis-server is not installed');
    return 'redis-server is not installed (CI installs it: .ci/debian-packages)';
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => { const p = (srv.address() as { port: number }).port; srv.close(() => resolve(p)); });
  });
}

async function withRedis<T>(fn: (port: number, proc: ChildProcess) => Promise<T>): Promise<T> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'unbroken-relay-'));
  const proc = spawn('redis-server', ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no', '--dir', dir, '--protected-mode', 'no'], { stdio: 'ignore' });
  try {
    await waitForUpstream('127.0.0.1', port, 10_000);
    return await fn(port, proc);
  } finally {
    proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Waits (bounded) until `cond` holds. */
async function until(cond: () => boolean, what: string, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const skipRedis = redisMissing();

test('relay with a real redis-server: commands in arbitrary chunks, replies in order, QUIT closes', { skip: skipRedis, timeout: 30_000 }, async () => {
  await withRedis(async (port) => {
    const app = new RelayApp({ connector: netUpstream({ host: '127.0.0.1', port }) });
    const conn = new MemConnection('c');
    const s = conn.attach(app.service);
    const script = 'SET a 1\r\nINCR a\r\n*2\r\n$4\r\nINCR\r\n$1\r\na\r\nGET a\r\nDEL a\r\nGET a\r\nQUIT\r\n';
    const want = '+OK\r\n:2\r\n:3\r\n$1\r\n3\r\n:1\r\n$-1\r\n+OK\r\n';
    // Split at odd places: the server reassembles the stream, as it must.
    for (let i = 0; i < script.length; i += 5) s.onData(enc(script.slice(i, i + 5)));
    await until(() => { conn.drain(); return conn.ended; }, 'the server to close after QUIT');
    assert.equal(dec(conn.output()), want);
    assert.equal(app.counters()['server-closed'], 1);
    s.onClose?.('closed');
  });
});

test('relay with a real redis-server: the server killed mid-connection ends the connection cleanly and is counted; an unreachable server is a typed error', { skip: skipRedis, timeout: 30_000 }, async () => {
  let deadPort = 0;
  await withRedis(async (port, proc) => {
    deadPort = port;
    const errors: RelayError[] = [];
    const app = new RelayApp({ connector: netUpstream({ host: '127.0.0.1', port }), onError: (_id, e) => errors.push(e) });
    const conn = new MemConnection('c');
    const s = conn.attach(app.service);
    s.onData(enc('PING\r\n'));
    await until(() => { conn.drain(); return dec(conn.output()) === '+PONG\r\n'; }, 'PONG');
    proc.kill('SIGKILL');
    await until(() => { conn.drain(); return conn.ended; }, 'the connection to end after the server died');
    assert.equal(conn.destroyed, false);
    const c = app.counters();
    assert.equal((c['server-closed'] ?? 0) + (c['upstream-reset'] ?? 0), 1, JSON.stringify(c));
  });
  // The server is gone now: its port refuses.
  const errors: RelayError[] = [];
  const app = new RelayApp({ connector: netUpstream({ host: '127.0.0.1', port: deadPort }), onError: (_id, e) => errors.push(e) });
  const conn = new MemConnection('c');
  const s = conn.attach(app.service);
  s.onData(enc('PING\r\n'));
  await until(() => conn.ended, 'the refused connection to end');
  assert.deepEqual(errors.map((e) => e.code), ['upstream-unreachable']);
  assert.equal(app.counters()['upstream-unreachable'], 1);
  assert.equal(conn.destroyed, false);
  s.onClose?.('closed');
});
