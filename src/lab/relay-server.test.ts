// --relay-server / --relay-upstream parsing and the redis-server command line the lab runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LabError } from './netns.js';
import { parseRelayServer, parseRelayUpstream, redisArgv } from './relay-server.js';

test('--relay-server: redis by default, none, or a command line split on spaces', () => {
  assert.deepEqual(parseRelayServer(undefined), { kind: 'redis' });
  assert.deepEqual(parseRelayServer('redis'), { kind: 'redis' });
  assert.deepEqual(parseRelayServer('none'), { kind: 'none' });
  assert.deepEqual(parseRelayServer(' redis-server  --port 7000 '), { kind: 'command', argv: ['redis-server', '--port', '7000'] });
  assert.throws(() => parseRelayServer('   '), LabError);
});

test('--relay-upstream: PORT or a loopback HOST:PORT; anything off the host is refused', () => {
  assert.deepEqual(parseRelayUpstream(undefined), { host: '127.0.0.1', port: 6379 });
  assert.deepEqual(parseRelayUpstream('7000'), { host: '127.0.0.1', port: 7000 });
  assert.deepEqual(parseRelayUpstream('127.0.0.2:11211'), { host: '127.0.0.2', port: 11211 });
  for (const bad of ['10.0.0.5:6379', '0', '70000', 'localhost:6379', '127.0.0.1:']) assert.throws(() => parseRelayUpstream(bad), LabError, bad);
});

test('the lab\'s redis-server: loopback, no RDB snapshots, no AOF', () => {
  const a = redisArgv({ host: '127.0.0.1', port: 6379 }, '/tmp/x');
  const opt = (k: string): string | undefined => a[a.indexOf(k) + 1];
  assert.equal(a[0], 'redis-server');
  assert.equal(opt('--bind'), '127.0.0.1');
  assert.equal(opt('--save'), '');
  assert.equal(opt('--appendonly'), 'no');
});
