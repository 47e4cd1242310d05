// HTTP/1.1 request-head parser: valid heads in every chunking, the size bound, each
// typed error with its status, and arbitrary bytes never throwing (property tests).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { checkProperty } from '../wire/prop.js';
import { RequestHeadParser, parseRequestHead, type HeadState } from './http-head.js';

const enc = new TextEncoder();
const FILE = 'src/craft/http-head.test.ts';

function parseAll(text: string | Uint8Array, limit?: number): HeadState {
  return new RequestHeadParser(limit).push(typeof text === 'string' ? enc.encode(text) : text);
}

const REQ = 'GET /a/b?x=1 HTTP/1.1\r\nHost: Www.Example.COM:8080\r\nUser-Agent: t\r\nAccept:  */* \r\n\r\nBODY';

test('a valid head: fields, host normalised, usedBytes stops at the empty line', () => {
  const s = parseAll(REQ);
  assert.equal(s.kind, 'complete');
  if (s.kind !== 'complete') return;
  assert.equal(s.head.method, 'GET');
  assert.equal(s.head.path, '/a/b?x=1');
  assert.equal(s.head.host, 'www.example.com');
  assert.deepEqual(s.head.headers[2], { name: 'Accept', value: '*/*' });
  assert.equal(s.usedBytes, REQ.length - 4);
  assert.equal(s.head.headBytes, REQ.length - 4);
});

test('every split of a head into two chunks gives the same result', () => {
  const whole = parseAll(REQ);
  const bytes = enc.encode(REQ);
  for (let i = 0; i <= bytes.length; i++) {
    const p = new RequestHeadParser();
    const a = p.push(bytes.subarray(0, i));
    const b = a.kind === 'complete' ? a : p.push(bytes.subarray(i));
    assert.equal(b.kind, 'complete', `split at ${i}`);
    if (b.kind === 'complete' && whole.kind === 'complete') {
      assert.deepEqual(b.head, whole.head);
      // usedBytes counts bytes of the chunk that completed the head.
      assert.equal(b.usedBytes, a.kind === 'complete' ? whole.usedBytes : whole.head.headBytes - i);
    }
  }
});

test('absolute-form target gives the host; leading empty lines are ignored; HTTP/1.0 needs no Host', () => {
  const a = parseAll('GET http://Shop.Test/x HTTP/1.1\r\nHost: other\r\n\r\n');
  assert.ok(a.kind === 'complete' && a.head.host === 'shop.test' && a.head.path === '/x');
  const b = parseAll('\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n');
  assert.ok(b.kind === 'complete' && b.head.host === 'h');
  const c = parseAll('GET / HTTP/1.0\r\n\r\n');
  assert.ok(c.kind === 'complete' && c.head.host === undefined);
});

test('errors carry their status', () => {
  const cases: Array<[string, string, number]> = [
    ['GET / HTTP/1.1\r\n\r\n', 'missing-host', 400],
    ['GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', 'duplicate-host', 400],
    ['GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n', 'bad-header', 400],
    ['GET / HTTP/1.1\r\nHost : a\r\n\r\n', 'bad-header', 400],
    ['GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n', 'bad-request-line', 400],
    ['GET /\x01 HTTP/1.1\r\nHost: a\r\n\r\n', 'bad-request-line', 400],
    ['G(T / HTTP/1.1\r\nHost: a\r\n\r\n', 'bad-request-line', 400],
    ['GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1, 2\r\n\r\n', 'bad-content-length', 400],
    ['GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n', 'bad-content-length', 400],
    ['POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n', 'length-and-chunked', 400],
    ['POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n', 'unsupported-transfer-coding', 501],
    ['POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n', 'bad-header', 400],
    ['CONNECT h:443 HTTP/1.1\r\nHost: h\r\n\r\n', 'unsupported-method', 501],
    ['GET / HTTP/2.0\r\nHost: a\r\n\r\n', 'unsupported-version', 505],
    ['GET / HTTP/1.1\r\nHost: a b\r\n\r\n', 'bad-header', 400],
  ];
  for (const [text, code, status] of cases) {
    const s = parseAll(text);
    assert.equal(s.kind, 'error', JSON.stringify(text));
    if (s.kind === 'error') {
      assert.equal(s.error.code, code, JSON.stringify(text));
      assert.equal(s.error.status, status);
    }
  }
});

test('the size bound: 431 once the limit is reached without an end, fed in small chunks', () => {
  const p = new RequestHeadParser(1024);
  const line = enc.encode('X-Pad: 0123456789012345678901234567890123456789\r\n');
  let s = p.push(enc.encode('GET / HTTP/1.1\r\nHost: a\r\n'));
  for (let i = 0; i < 100 && s.kind === 'incomplete'; i++) s = p.push(line);
  assert.equal(s.kind, 'error');
  if (s.kind === 'error') assert.equal(s.error.status, 431);
  // Sticky: later input returns the same error.
  assert.deepEqual(p.push(enc.encode('\r\n\r\n')), s);
  // A head of exactly the limit is accepted.
  const head = `GET / HTTP/1.1\r\nHost: a\r\nX: ${'y'.repeat(1024 - 32)}\r\n\r\n`;
  assert.equal(head.length, 1024);
  assert.equal(parseAll(head, 1024).kind, 'complete');
  assert.equal(parseAll(`${head.slice(0, -4)}z\r\n\r\n`, 1024).kind, 'error');
});

test('arbitrary bytes in arbitrary chunks never throw and end in a state (property)', () => {
  checkProperty('head parser total', FILE, fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }), (chunks) => {
    const p = new RequestHeadParser(2048);
    let s: HeadState = { kind: 'incomplete' };
    for (const c of chunks) s = p.push(c);
    assert.ok(['incomplete', 'complete', 'error'].includes(s.kind));
    const one = parseRequestHead(chunks.reduce((a, c) => new Uint8Array([...a, ...c]), new Uint8Array(0)), 2048);
    // Chunking does not change the outcome.
    assert.equal(one.ok, s.kind === 'complete');
  }));
});

test('generated valid heads parse the same in random chunkings (property)', () => {
  const token = fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,10}$/);
  const value = fc.stringMatching(/^[\x21-\x7e]([\x20-\x7e]{0,20}[\x21-\x7e])?$/);
  checkProperty('head chunking', FILE, fc.property(
    fc.constantFrom('GET', 'HEAD', 'POST', 'DELETE'), fc.stringMatching(/^\/[a-z0-9/._-]{0,30}$/),
    fc.array(fc.tuple(token, value), { maxLength: 8 }), fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 20 }),
    (method, path, fields, cuts) => {
      const extra = fields.filter(([n]) => !['host', 'content-length', 'transfer-encoding'].includes(n.toLowerCase()));
      const text = `${method} ${path} HTTP/1.1\r\nHost: h.test\r\n${extra.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n`;
      const bytes = enc.encode(text);
      const p = new RequestHeadParser();
      let s: HeadState = { kind: 'incomplete' };
      let at = 0;
      for (let i = 0; s.kind === 'incomplete' && at < bytes.length; i++) {
        const n = cuts[i % cuts.length]!;
        s = p.push(bytes.subarray(at, at + n));
        at += n;
      }
      assert.equal(s.kind, 'complete');
      if (s.kind === 'complete') {
        assert.equal(s.head.path, path);
        assert.deepEqual(s.head.headers.slice(1).map((h) => [h.name, h.value]), extra);
        assert.equal(s.head.headBytes, bytes.length);
      }
    }));
});
