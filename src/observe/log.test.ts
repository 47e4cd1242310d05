// Tests of the structured logger: one JSON object per line with a stable `event`
// field, levels from the event table, bindings on every line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { LOG_EVENTS, createLogger, isLogEvent } from './log.js';

function sink(): { stream: Writable; lines: () => Array<Record<string, unknown>> } {
  let buf = '';
  const stream = new Writable({ write(chunk, _enc, cb) { buf += String(chunk); cb(); } });
  return { stream, lines: () => buf.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>) };
}

test('each event is one JSON line with event, level, time, msg and the bindings', () => {
  const s = sink();
  const log = createLogger({ level: 'debug', destination: s.stream, bindings: { node: 'b', role: 'sttcp-backup' } });
  log.event('failover.detected', { peer: '10.0.1.1:7400', missed: 3 }, 'primary declared failed');
  log.event('takeover.complete', { connections: 1000, takeoverMs: 4.2 });
  log.event('connection.opened', { conn: 'c1' });
  const lines = s.lines();
  assert.equal(lines.length, 3);
  assert.deepEqual(lines.map((l) => l.event), ['failover.detected', 'takeover.complete', 'connection.opened']);
  assert.deepEqual(lines.map((l) => l.level), ['warn', 'warn', 'debug']);
  assert.equal(lines[0]!.msg, 'primary declared failed');
  assert.equal(lines[1]!.msg, 'takeover.complete');
  assert.equal(lines[0]!.missed, 3);
  for (const l of lines) {
    assert.equal(l.node, 'b');
    assert.equal(l.role, 'sttcp-backup');
    assert.match(String(l.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/);
  }
});

test('the level filter applies and fields cannot override the event name', () => {
  const s = sink();
  const log = createLogger({ level: 'info', destination: s.stream });
  log.event('connection.opened', { conn: 'c1' });                // debug: filtered
  log.event('backup.synced', { connections: 3, event: 'spoofed' });
  log.child({ conn: 'c9' }).event('connection.reset', { reason: 'peer' });
  const lines = s.lines();
  assert.equal(lines.length, 2);
  assert.equal(lines[0]!.event, 'backup.synced');
  assert.equal(lines[1]!.event, 'connection.reset');
  assert.equal(lines[1]!.conn, 'c9');
});

test('event names are stable dotted lower-case identifiers with a level and help', () => {
  for (const [name, e] of Object.entries(LOG_EVENTS)) {
    assert.match(name, /^[a-z]+(-[a-z]+)*\.[a-z]+(-[a-z]+)*$/, name);
    assert.ok(e.help.length > 10, name);
    assert.ok(isLogEvent(name));
  }
  assert.ok(!isLogEvent('toString'));
  for (const required of ['failover.detected', 'takeover.complete', 'backup.synced', 'connection.opened']) assert.ok(isLogEvent(required), required);
});

test('the ST-TCP node\'s event kinds are log events, so serve can log them under the same names', () => {
  const kinds = ['backup.synced', 'connection.shadowed', 'connection.closed', 'range.requested', 'failover.detected', 'fence.done',
    'takeover.complete', 'takeover.fault', 'lease.lapsed', 'lease.restored', 'backup.lost', 'stepped.down'];
  for (const k of kinds) assert.ok(isLogEvent(k), k);
});
