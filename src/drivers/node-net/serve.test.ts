// Test timing: real time (scripts/test.mjs runs this file one at a time beside the lab files, at normal priority).
// The apps on kernel TCP over loopback, driven by node:net clients and, where
// installed, by the real curl / redis-cli / redis-benchmark / nc.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { blobChunk, blobSha256, createApp } from '../../apps/index.js';
import { FsFileStore } from '../fs-file-store.js';
import { serveOnNet } from './serve.js';

const run = promisify(execFile);

async function has(cmd: string): Promise<boolean> {
  try { await run('sh', ['-c', `command -v ${cmd}`]); return true; } catch { return false; }
}
/** True when `cmd` is installed; otherwise skips the test with the reason, or fails it under UNBROKEN_LAB=required. */
async function need(t: { skip(msg?: string): void }, cmd: string): Promise<boolean> {
  if (await has(cmd)) return true;
  if (process.env.UNBROKEN_LAB === 'required') assert.fail(`${cmd} is not installed and UNBROKEN_LAB=required`);
  t.skip(`${cmd} not installed (apt-get install it; UNBROKEN_LAB=required turns this skip into a failure)`);
  return false;
}

function port(s: Server): number { return (s.address() as AddressInfo).port; }

/** Sends `data`, half-closes, collects everything until the server closes. */
function exchange(p: number, data: Uint8Array): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = connect({ port: p, host: '127.0.0.1', allowHalfOpen: true }, () => { s.end(data); });
    s.on('data', (d) => chunks.push(d));
    s.on('end', () => { s.end(); resolve(Buffer.concat(chunks)); });
    s.on('error', reject);
  });
}

test('echo and blob over loopback kernel TCP, with backpressure through a slow socket buffer', async () => {
  const echo = await serveOnNet(createApp('echo').service, { port: 0 });
  const blob = await serveOnNet(createApp('blob').service, { port: 0 });
  try {
    const big = blobChunk(7, 3_000_000);
    const back = await exchange(port(echo), big);
    assert.equal(back.length, big.length);
    assert.ok(back.equals(big));
    const got = await exchange(port(blob), new TextEncoder().encode('2500000\n10\n'));
    assert.equal(got.length, 2_500_010);
    assert.equal(createHash('sha256').update(got.subarray(0, 2_500_000)).digest('hex'), blobSha256(2_500_000));
  } finally {
    echo.close(); blob.close();
  }
});

test('curl downloads a file whole and by range from the HTTP app on loopback', async (t) => {
  if (!(await need(t, 'curl'))) return;
  const dir = mkdtempSync(join(tmpdir(), 'unbroken-http-'));
  const data = blobChunk(0, 3_000_001);
  writeFileSync(join(dir, 'f.bin'), data);
  const srv = await serveOnNet(createApp('http', { store: new FsFileStore(dir) }).service, { port: 0 });
  try {
    const url = `http://127.0.0.1:${port(srv)}/f.bin`;
    const whole = await run('sh', ['-c', `curl -sS --fail ${url} | sha256sum`]);
    assert.equal(whole.stdout.split(' ')[0], createHash('sha256').update(data).digest('hex'));
    const part = await run('curl', ['-sS', '--fail', '-r', '100-199', url], { encoding: 'buffer' });
    assert.ok(Buffer.from(part.stdout).equals(Buffer.from(data.subarray(100, 200))));
    const code = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '--path-as-is', `http://127.0.0.1:${port(srv)}/../../etc/passwd`]);
    assert.equal(code.stdout, '400');
    // Two requests on one keep-alive connection.
    const two = await run('curl', ['-sS', '-o', '/dev/null', '-o', '/dev/null', '-w', '%{num_connects}\n', url, url]);
    assert.deepEqual(two.stdout.trim().split('\n').map(Number), [1, 0]);
  } finally {
    srv.close();
    rmSync(dir, { recursive: true });
  }
});

test('redis-cli and redis-benchmark (pipelined) against the RESP app: zero errors', async (t) => {
  if (!(await need(t, 'redis-benchmark'))) return;
  const srv = await serveOnNet(createApp('resp').service, { port: 0 });
  try {
    const p = String(port(srv));
    const cli = await run('redis-cli', ['-p', p, 'SET', 'greeting', 'hello']);
    assert.equal(cli.stdout.trim(), 'OK');
    assert.equal((await run('redis-cli', ['-p', p, 'GET', 'greeting'])).stdout.trim(), 'hello');
    const b = await run('redis-benchmark', ['-p', p, '-n', '20000', '-c', '10', '-P', '16', '-t', 'ping,set,get,incr,mset', '-q', '--csv']);
    const lines = b.stdout.trim().split('\n').filter((l) => l.startsWith('"') && !l.startsWith('"test"'));
    assert.ok(lines.length >= 5, b.stdout + b.stderr);
    assert.doesNotMatch(b.stdout + b.stderr, /ERR|error/i);
    assert.equal((await run('redis-cli', ['-p', p, 'GET', 'counter:__rand_int__'])).stdout.trim(), '20000');
  } finally {
    srv.close();
  }
});
