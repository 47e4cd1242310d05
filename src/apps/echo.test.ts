import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EchoApp } from './echo.js';
import { MemConnection, checkSplitsAndSnapshots } from './mem-connection.js';
import { slowReaderRun } from './slow-reader.js';

const enc = new TextEncoder();

test('echo returns every byte in order at any split, window and snapshot point', () => {
  const input = enc.encode('hello, echo!\r\n\x00\xff binary too');
  const out = checkSplitsAndSnapshots(() => new EchoApp(), input);
  assert.deepEqual(out, input);
});

test('echo closes after the peer FIN once everything is echoed', () => {
  const c = new MemConnection('c', 3);
  const app = c.attach(new EchoApp().service);
  app.onData(enc.encode('abcdef'));
  app.onEnd();
  assert.equal(c.ended, false, 'must not end before the queued bytes are written');
  c.drainAll();
  assert.equal(new TextDecoder().decode(c.output()), 'abcdef');
  assert.equal(c.ended, true);
});

test('echo aborts a peer that sends past the pending bound without reading', () => {
  const echo = new EchoApp({ maxPendingBytes: 10 });
  const c = new MemConnection('c', 4);
  const app = c.attach(echo.service);
  app.onData(new Uint8Array(8));
  assert.equal(c.destroyed, false);
  app.onData(new Uint8Array(8));
  assert.equal(c.destroyed, true);
  assert.equal(echo.counters()['aborted-pending-limit'], 1);
});

test('a client that sends faster than it reads back is slowed by TCP, not cut off: every byte echoed', () => {
  const echo = new EchoApp();
  const data = new Uint8Array(16 << 20);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7 + (i >> 12)) & 0xff;
  const r = slowReaderRun(echo.service, data, { pausedUs: 4_000, readingUs: 1_000, limitUs: 120_000_000 });
  assert.equal(echo.counters()['aborted-pending-limit'], undefined);
  assert.equal(r.closed, undefined, 'not reset');
  assert.ok(r.ended, `the echo finished (${r.received.length} of ${data.length} bytes back)`);
  assert.ok(Buffer.from(r.received).equals(Buffer.from(data)), 'byte-exact');
  assert.ok((echo.counters()['read-paused'] ?? 0) > 0, 'the echo paused its reading');
});
