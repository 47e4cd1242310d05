// `unbroken serve` refuses what it cannot run before touching the network: invalid
// configs (every error names the field and the fix), roles it does not run, and apps it
// lacks. No root needed. The lab run is test/lab/serve.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { missedIntervals } from './sttcp-role.js';
import { deviceNames } from './net.js';
import { lineCount, phoneCommand } from './calls-roles.js';
import { routesFromConfig } from './splicer-role.js';
import { DriverTurns, serveApp } from './app-service.js';
import { ServeError } from './types.js';
import { createLogger } from '../observe/log.js';
import { createServer, type AddressInfo } from 'node:net';

const BIN = resolve(import.meta.dirname, '../../bin/unbroken.js');

function serve(config: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, 'serve', '--config', config], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function withDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'unbroken-serve-'));
  try { fn(dir); } finally { rmSync(dir, { recursive: true, force: true }); }
}

const primary = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  role: 'sttcp-primary', node: 'host-a',
  sttcp: {
    interface: 'eth1', service: { ip: '10.0.0.10', mac: '02:00:5e:00:00:0a', port: 80 },
    host: { ip: '10.0.0.1', mac: '02:00:00:00:00:01' }, control: { peer: '10.0.0.2' },
    keyFile: 'k.key', app: { kind: 'echo' }, ...over,
  },
});

test('serve: an invalid config exits 1 with every error naming its field and the fix, nothing started', () => withDir((dir) => {
  const f = join(dir, 'bad.yaml');
  writeFileSync(f, 'role: sttcp-primary\nsttcp:\n  interface: eth1\n  heartbeatMs: fast\n  leaseMs: 5\n');
  const r = serve(f);
  assert.equal(r.status, 1, r.stderr);
  assert.equal(r.stdout, '', 'no log lines: nothing started');
  assert.match(r.stderr, /bad\.yaml: \d+ errors/);
  assert.match(r.stderr, /sttcp\.heartbeatMs: must be an integer from 1 to 10000 \(got "fast"\)/);
  assert.match(r.stderr, /sttcp\.service: is required/);
  assert.match(r.stderr, /sttcp\.keyFile: is required/);
}));

test('serve: a missing key file is named with the command that creates it', () => withDir((dir) => {
  const f = join(dir, 'a.json');
  writeFileSync(f, JSON.stringify(primary()));
  const r = serve(f);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /sttcp\.keyFile: .*k\.key does not exist; create it with: head -c 32 \/dev\/urandom/);
}));

test('serve: a JSON syntax error exits 1 and says the file is not valid JSON', () => withDir((dir) => {
  const f = join(dir, 'a.json');
  writeFileSync(f, '{"role": "sttcp-primary",, }');
  const r = serve(f);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /not valid JSON/);
}));

test('app relay: serve waits for the local server, names the field when it never answers, and refuses joining backups', async () => {
  const log = createLogger({ destination: { write: () => true } as unknown as NodeJS.WritableStream });
  const srv = createServer((sock) => sock.pipe(sock));
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  try {
    const app = await serveApp({ kind: 'relay', target: `127.0.0.1:${port}` }, 'sttcp.app', new DriverTurns(), log, 2_000);
    assert.equal(app.kind, 'relay');
    assert.equal(app.app, undefined, 'no snapshot restore for a relay');
    assert.match(app.joinRefusal!, new RegExp(`relayed to 127.0.0.1:${port}: the server's state cannot be copied`));
  } finally {
    await new Promise((r) => srv.close(r));
  }
  // The port is closed now: nothing answers there.
  await assert.rejects(serveApp({ kind: 'relay', target: `127.0.0.1:${port}` }, 'backend.app', new DriverTurns(), log, 300),
    (e: Error) => e instanceof ServeError && new RegExp(`^backend\\.app\\.target: the relayed server 127\\.0\\.0\\.1:${port} did not accept .*start that server first`).test(e.message));
  const echo = await serveApp({ kind: 'echo' }, 'sttcp.app', new DriverTurns(), log);
  assert.ok(echo.app !== undefined && echo.joinRefusal === undefined);
});

test('missed heartbeats: the interval a heartbeat takes to arrive is not a miss', () => {
  assert.equal(missedIntervals(0, 10_000), 0);
  assert.equal(missedIntervals(19_999, 10_000), 0);
  assert.equal(missedIntervals(20_000, 10_000), 1);
  assert.equal(missedIntervals(95_000, 10_000), 8);
});

test('device names fit Linux\'s 15 characters and differ per node', () => {
  const a = deviceNames('a-very-long-node-name-for-a-host');
  assert.ok(a.tap.length <= 15 && a.bridge.length <= 15);
  assert.notEqual(deviceNames('host-a').tap, deviceNames('host-b').tap);
  assert.deepEqual(deviceNames('host-a'), deviceNames('host-a'));
});

test('gateway phone commands: lift, dial, flash, hang up; anything else is refused with the syntax', () => {
  assert.deepEqual(phoneCommand('offhook 1', 2), { ok: true, value: { op: 'offhook', line: 1 } });
  assert.deepEqual(phoneCommand(' dial 2 1002 ', 2), { ok: true, value: { op: 'dial', line: 2, digits: '1002' } });
  assert.equal(phoneCommand('dial 3 1002', 2).ok, false);
  assert.equal(phoneCommand('dial 1 12a4', 2).ok, false);
  assert.equal(phoneCommand('onhook 1 extra', 2).ok, false);
  assert.match((phoneCommand('ring 1', 2) as { error: string }).error, /offhook N, dial N DIGITS/);
});

test('gateway lines must be al/1 … al/N in order, and the error names the field', () => {
  assert.equal(lineCount([{ termination: 'al/1' }, { termination: 'al/2' }]), 2);
  assert.throws(() => lineCount([{ termination: 'al/1' }, { termination: 'al/3' }]), /gateway\.lines\[1\]\.termination: .*expected al\/2 \(got al\/3\)/);
});

const splicerConfig = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  role: 'splicer', node: 'splicer-1',
  splicer: {
    interface: 'eth1', service: { ip: '10.0.0.80', mac: '02:00:5e:00:00:50' }, control: { listen: '10.0.0.81:7500' },
    keyFile: 'k.key', backends: [{ name: 'web1', ip: '10.0.0.11' }], ...over,
  },
});

test('serve: role backend starts its role: a missing interface (or no root) is exit 2 naming the fix, nothing left behind', () => withDir((dir) => {
  writeFileSync(join(dir, 'k.key'), Buffer.alloc(32, 7), { mode: 0o600 });
  const f = join(dir, 'b.json');
  writeFileSync(f, JSON.stringify({
    role: 'backend', node: 'web1',
    backend: { interface: 'nosuchif0', address: { ip: '10.0.0.11', mac: '02:00:00:00:00:11' }, splicers: ['10.0.0.80'], keyFile: 'k.key', app: { kind: 'echo' } },
  }));
  const r = serve(f);
  assert.equal(r.status, 2, r.stdout + r.stderr);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(lines.map((l) => l.event), ['config.loaded', 'server.failed']);
  assert.match(String(lines[1]!.error), /interface nosuchif0 does not exist here|serve needs root/);
}));

test('splicer routes: one pool per route with its named back ends; no routes = one pool of all', () => {
  const backends = [
    { name: 'web1', ip: '10.0.0.11', port: 80, weight: 2, splitSplice: false },
    { name: 'web2', ip: '10.0.0.12', port: 80, weight: 1, splitSplice: false },
    { name: 'static1', ip: '10.0.0.21', port: 8080, weight: 1, splitSplice: false },
  ];
  assert.deepEqual(routesFromConfig({ backends, routes: [] }), {
    pools: { all: [{ id: 'web1', ip: '10.0.0.11', port: 80, weight: 2 }, { id: 'web2', ip: '10.0.0.12', port: 80, weight: 1 }, { id: 'static1', ip: '10.0.0.21', port: 8080, weight: 1 }] },
    rules: [{ pool: 'all' }],
  });
  assert.deepEqual(routesFromConfig({ backends: [{ name: 'w', ip: '10.0.0.9', port: 80, weight: 1, splitSplice: true }], routes: [] }).pools.all, [{ id: 'w', ip: '10.0.0.9', port: 80, weight: 1, split: true }]);
  const r = routesFromConfig({ backends, routes: [{ host: undefined, pathPrefix: '/static/', backends: ['static1'] }, { host: '*.example.com', pathPrefix: undefined, backends: ['web2', 'web1'] }] });
  assert.deepEqual(r.rules, [{ pool: 'route0', pathPrefix: '/static/' }, { pool: 'route1', host: '*.example.com' }]);
  assert.deepEqual(r.pools.route1!.map((b) => b.id), ['web2', 'web1']);
  assert.deepEqual(r.pools.route0!.map((b) => `${b.ip}:${b.port}`), ['10.0.0.21:8080']);
});
