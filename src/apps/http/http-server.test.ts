import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemConnection, checkSplitsAndSnapshots, runScript } from '../mem-connection.js';
import { MemoryFileStore } from './file-store.js';
import { HttpFileServer } from './http-server.js';
import { slowReaderRun } from '../slow-reader.js';
import { parseRequestHead } from './request-head.js';
import { parseRange, targetToPath } from './target.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
const body = 'The quick brown fox jumps over the lazy dog.\n';
const store = (): MemoryFileStore => new MemoryFileStore({ '/a.txt': body, '/dir/index.html': '<p>hi</p>', '/bin/x': new Uint8Array(300) });
const server = (): HttpFileServer => new HttpFileServer(store());

/** Splits a response stream into [head, body] pairs using Content-Length. */
function responses(raw: Uint8Array): Array<{ status: number; headers: Record<string, string>; body: string }> {
  const out: Array<{ status: number; headers: Record<string, string>; body: string }> = [];
  let s = Buffer.from(raw).toString('latin1');
  while (s.length > 0) {
    const i = s.indexOf('\r\n\r\n');
    assert.ok(i > 0, `no head end in ${JSON.stringify(s.slice(0, 80))}`);
    const lines = s.slice(0, i).split('\r\n');
    const status = Number(lines[0].split(' ')[1]);
    const headers: Record<string, string> = {};
    for (const l of lines.slice(1)) { const c = l.indexOf(':'); headers[l.slice(0, c).toLowerCase()] = l.slice(c + 1).trim(); }
    const len = Number(headers['content-length'] ?? '0');
    const isHead = headers['x-test-head'] !== undefined;
    const b = isHead ? '' : s.slice(i + 4, i + 4 + len);
    out.push({ status, headers, body: b });
    s = s.slice(i + 4 + b.length);
  }
  return out;
}

test('GET, Range and 404 pipelined on one keep-alive connection, at any split, window and snapshot point', () => {
  const req = 'GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n'
    + 'GET /a.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=4-8\r\n\r\n'
    + 'GET /missing HTTP/1.1\r\nHost: x\r\n\r\n'
    + 'GET /a.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=-4\r\nConnection: close\r\n\r\n';
  const out = checkSplitsAndSnapshots(server, enc.encode(req), { windowBytes: 13, snapshotStride: 3 });
  const r = responses(out);
  assert.deepEqual(r.map((x) => x.status), [200, 206, 404, 206]);
  assert.equal(r[0].body, body);
  assert.equal(r[0].headers['accept-ranges'], 'bytes');
  assert.equal(r[1].body, 'quick'.slice(0, 5));
  assert.equal(r[1].headers['content-range'], `bytes 4-8/${body.length}`);
  assert.equal(r[3].body, 'dog.\n'.slice(1));
  assert.equal(r[3].headers.connection, 'close');
});

test('HEAD sends the GET head without a body; a directory serves its index file', () => {
  const { out } = runScript(server().service, enc.encode('HEAD /a.txt HTTP/1.1\r\nHost: x\r\n\r\nGET /dir/ HTTP/1.1\r\nHost: x\r\n\r\n'), []);
  const text = dec.decode(out);
  assert.match(text, /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(text, new RegExp(`Content-Length: ${body.length}\r\n`));
  const second = text.indexOf('HTTP/1.1 200 OK', 5);
  assert.ok(second > 0);
  assert.equal(text.slice(text.indexOf('\r\n\r\n') + 4, second), '', 'HEAD must not send a body');
  assert.ok(text.endsWith('<p>hi</p>'));
  assert.match(text, /Content-Type: text\/html/);
});

test('unsatisfiable range → 416 with Content-Range */size; keep-alive continues', () => {
  const { out } = runScript(server().service, enc.encode('GET /a.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=1000-\r\n\r\nGET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n'), []);
  const r = responses(out);
  assert.deepEqual(r.map((x) => x.status), [416, 200]);
  assert.equal(r[0].headers['content-range'], `bytes */${body.length}`);
});

test('bad input: 400, 405, 431, 505 and path traversal; errors close the connection', () => {
  const cases: Array<[string, number]> = [
    ['BROKEN\r\n\r\n', 400],
    ['GET /a.txt HTTP/1.1\r\n\r\n', 400], // no Host
    ['GET /a.txt HTTP/1.1\r\nHost : x\r\n\r\n', 400],
    ['POST /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc', 405],
    ['GET /a.txt HTTP/2.0\r\nHost: x\r\n\r\n', 505],
    ['GET /../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n', 400],
    ['GET /dir/%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n', 400],
    ['GET /a%zz HTTP/1.1\r\nHost: x\r\n\r\n', 400],
    [`GET /a.txt HTTP/1.1\r\nHost: x\r\nX: ${'y'.repeat(9000)}\r\n\r\n`, 431],
    [`GET /a.txt HTTP/1.1\r\nHost: x\r\nX: ${'y'.repeat(9000)}`, 431], // no end of head yet
  ];
  for (const [req, status] of cases) {
    const { out, conn } = runScript(server().service, enc.encode(req), [], { end: false });
    const r = responses(out);
    assert.equal(r[0]?.status, status, req.slice(0, 60));
    if (status !== 405 && status !== 400) assert.equal(conn.ended, true, `${status} closes`);
  }
  // 405 keeps the connection: the body is skipped and the next request is served.
  const { out } = runScript(server().service, enc.encode('POST /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n'), []);
  assert.deepEqual(responses(out).map((x) => x.status), [405, 200]);
});

test('HTTP/1.0 closes unless keep-alive is asked for', () => {
  const a = runScript(server().service, enc.encode('GET /a.txt HTTP/1.0\r\n\r\n'), [], { end: false });
  assert.equal(a.conn.ended, true);
  const b = runScript(server().service, enc.encode('GET /a.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n'), [], { end: false });
  assert.equal(b.conn.ended, false);
  assert.match(dec.decode(b.out), /Connection: keep-alive\r\n/);
});

test('a large file streams through the window in chunks, never read whole', () => {
  let maxRead = 0;
  const size = 5_000_000;
  const big = new Uint8Array(size).map((_, i) => i & 0xff);
  const s = new MemoryFileStore({ '/big': big });
  const spy = { stat: (p: string) => s.stat(p), read: (p: string, o: number, l: number) => { maxRead = Math.max(maxRead, l); return s.read(p, o, l); } };
  const c = new MemConnection('c', 100_000);
  const app = c.attach(new HttpFileServer(spy).service);
  app.onData(enc.encode('GET /big HTTP/1.1\r\nHost: x\r\n\r\n'));
  c.drainAll();
  const out = c.output();
  const bodyStart = Buffer.from(out).indexOf('\r\n\r\n') + 4;
  assert.equal(out.length - bodyStart, size);
  assert.deepEqual(out.subarray(bodyStart), big);
  assert.ok(maxRead <= 64 * 1024, `largest read ${maxRead}`);
});

test('a file that shrinks after its length was promised aborts the connection', () => {
  const s = new MemoryFileStore({ '/f': new Uint8Array(100) });
  const c = new MemConnection('c', 10);
  const app = c.attach(new HttpFileServer(s).service);
  app.onData(enc.encode('GET /f HTTP/1.1\r\nHost: x\r\n\r\n'));
  s.put('/f', new Uint8Array(5));
  c.drainAll();
  assert.equal(c.destroyed, true);
});

test('parsers: request head incomplete at every prefix; target and range edge cases', () => {
  const req = enc.encode('GET / HTTP/1.1\r\nHost: h\r\n\r\n');
  for (let i = 0; i < req.length; i++) assert.equal(parseRequestHead(req.subarray(0, i)).kind, 'incomplete', `prefix ${i}`);
  assert.equal(parseRequestHead(req).kind, 'request');
  assert.deepEqual(targetToPath('/a//b/./c?x=1'), { ok: true, path: '/a/b/c' });
  assert.deepEqual(targetToPath('http://h:80/x%20y'), { ok: true, path: '/x y' });
  assert.equal(targetToPath('/a/%2F/b').ok, false);
  assert.deepEqual(parseRange('bytes=0-0', 10), { kind: 'range', start: 0, end: 1 });
  assert.deepEqual(parseRange('bytes=5-100', 10), { kind: 'range', start: 5, end: 10 });
  assert.deepEqual(parseRange('bytes=-0', 10), { kind: 'unsatisfiable' });
  assert.deepEqual(parseRange('bytes=10-', 10), { kind: 'unsatisfiable' });
  assert.deepEqual(parseRange('bytes=0-1,3-4', 10), { kind: 'none' });
  assert.deepEqual(parseRange('bytes=5-1', 10), { kind: 'none' });
  assert.deepEqual(parseRange('items=0-1', 10), { kind: 'none' });
});

test('a client that pipelines requests and reads slowly is slowed by TCP, not cut off at the input limit', () => {
  const file = new Uint8Array(5_000).map((_, i) => (i * 13) & 0xff);
  const app = new HttpFileServer(new MemoryFileStore({ '/big': file }));
  const n = 3_000;   // ~110 KB of request heads: past the 72 KB of input a session keeps
  const req = enc.encode('GET /big HTTP/1.1\r\nHost: lab\r\n\r\n'.repeat(n - 1) + 'GET /big HTTP/1.1\r\nHost: lab\r\nConnection: close\r\n\r\n');
  const r = slowReaderRun(app.service, req, { pausedUs: 4_000, readingUs: 1_000, limitUs: 120_000_000 });
  assert.equal(app.counters()['aborted-input-limit'], undefined);
  assert.equal(r.closed, undefined, 'not reset');
  assert.ok(r.ended, `every response sent and the connection closed (${r.received.length} bytes)`);
  const got = responses(r.received);
  assert.equal(got.length, n);
  assert.ok(got.every((x) => x.status === 200 && x.body.length === file.length));
  assert.ok((app.counters()['read-paused'] ?? 0) > 0, 'the session paused its reading');
});
