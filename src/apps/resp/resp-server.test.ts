import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkSplitsAndSnapshots, runScript } from '../mem-connection.js';
import { parseCommand } from './resp-codec.js';
import { RespServer } from './resp-server.js';
import { slowReaderRun } from '../slow-reader.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Encodes a command as redis-cli does: an array of bulk strings. */
function cmd(...args: string[]): string {
  return `*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('');
}

function run(input: string, app = new RespServer()): string {
  return dec.decode(runScript(app.service, enc.encode(input), []).out);
}

test('pipelined commands answer in order at any split, window and snapshot point', () => {
  const input = cmd('PING') + cmd('SET', 'k', 'v1') + cmd('GET', 'k') + 'PING\r\n' + cmd('INCR', 'n') + cmd('INCR', 'n')
    + cmd('MSET', 'a', '1', 'b', '2') + cmd('MGET', 'a', 'b', 'zz') + cmd('DEL', 'a', 'zz') + cmd('EXISTS', 'a', 'b', 'b');
  const out = checkSplitsAndSnapshots(() => new RespServer(), enc.encode(input), { windowBytes: 5, snapshotStride: 5 });
  assert.equal(dec.decode(out),
    '+PONG\r\n+OK\r\n$2\r\nv1\r\n+PONG\r\n:1\r\n:2\r\n+OK\r\n*3\r\n$1\r\n1\r\n$1\r\n2\r\n$-1\r\n:1\r\n:2\r\n');
});

test('the store survives snapshot/restore into another server', () => {
  const a = new RespServer();
  run(cmd('SET', 'x', 'bin\x00ary') + cmd('INCR', 'c') + cmd('SET', 'y', '1'), a);
  const b = new RespServer();
  b.restore(structuredClone(a.snapshot()));
  assert.equal(run(cmd('MGET', 'x', 'c', 'y') + cmd('INCR', 'c'), b), '*3\r\n$7\r\nbin\x00ary\r\n$1\r\n1\r\n$1\r\n1\r\n:2\r\n');
});

test('restore refuses a state that is not a store snapshot, and keeps the store as it was', () => {
  const a = new RespServer();
  run(cmd('SET', 'k', 'v'), a);
  for (const bad of [null, {}, { entries: 1 }, { entries: [[1, 2]] }, { entries: [[new Uint8Array(1)]] }]) {
    assert.throws(() => a.restore(bad), TypeError);
  }
  assert.equal(run(cmd('GET', 'k'), a), '$1\r\nv\r\n');
});

test('SET options: NX, XX, GET; EX/PX accepted and ignored (no clock); bad ones are errors', () => {
  assert.equal(run(cmd('SET', 'k', 'a', 'NX') + cmd('SET', 'k', 'b', 'NX') + cmd('SET', 'k', 'c', 'XX', 'GET') + cmd('SET', 'z', 'c', 'XX')),
    '+OK\r\n$-1\r\n$1\r\na\r\n$-1\r\n');
  assert.equal(run(cmd('SET', 'k', 'a', 'EX', '10') + cmd('SET', 'k', 'b', 'PX', '0') + cmd('SET', 'k', 'b', 'EX', 'x') + cmd('SET', 'k', 'b', 'NX', 'XX') + cmd('GET', 'k')),
    "+OK\r\n-ERR invalid expire time in 'set' command\r\n-ERR value is not an integer or out of range\r\n-ERR syntax error\r\n$1\r\na\r\n");
});

test('INCR/DECR errors and 64-bit bounds; arity and unknown commands are RESP errors', () => {
  assert.equal(run(cmd('SET', 'n', '9223372036854775806') + cmd('INCR', 'n') + cmd('INCR', 'n') + cmd('SET', 's', 'x') + cmd('DECR', 's')),
    '+OK\r\n:9223372036854775807\r\n-ERR increment or decrement would overflow\r\n+OK\r\n-ERR value is not an integer or out of range\r\n');
  assert.equal(run(cmd('GET') + cmd('MSET', 'a') + cmd('NOPE', 'x')),
    "-ERR wrong number of arguments for 'get' command\r\n-ERR wrong number of arguments for 'mset' command\r\n-ERR unknown command 'nope', with args beginning with: 'x'\r\n");
});

test('CONFIG GET answers what redis-benchmark asks; COMMAND DOCS is empty', () => {
  assert.equal(run(cmd('CONFIG', 'GET', 'save') + cmd('CONFIG', 'GET', 'appendonly') + cmd('CONFIG', 'GET', 'nope') + cmd('COMMAND', 'DOCS')),
    '*2\r\n$4\r\nsave\r\n$0\r\n\r\n*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n*0\r\n*0\r\n');
});

test('protocol errors are answered with a RESP error and a close; limits hold', () => {
  const a = runScript(new RespServer().service, enc.encode('*1\r\n+PING\r\n'), [], { end: false });
  assert.match(dec.decode(a.out), /^-ERR Protocol error: expected '\$'/);
  assert.equal(a.conn.ended, true);
  const b = runScript(new RespServer({ limits: { maxBulkBytes: 10 } }).service, enc.encode('*1\r\n$11\r\n'), [], { end: false });
  assert.match(dec.decode(b.out), /^-ERR Protocol error: invalid bulk length/);
  const c = run(cmd('SET', 'k', 'x'.repeat(100)), new RespServer({ kv: { maxMemoryBytes: 50 } }));
  assert.match(c, /^-OOM/);
  assert.equal(parseCommand(enc.encode('*2\r\n$3\r\nGET\r\n$1\r\nk\r')).kind, 'incomplete');
});

test('QUIT replies OK and closes; FIN after a partial command closes', () => {
  const q = runScript(new RespServer().service, enc.encode(cmd('QUIT') + cmd('PING')), [], { end: false });
  assert.equal(dec.decode(q.out), '+OK\r\n');
  assert.equal(q.conn.ended, true);
  const f = runScript(new RespServer().service, enc.encode(cmd('PING') + '*1\r\n$4\r\nPI'), [], { end: true });
  assert.equal(dec.decode(f.out), '+PONG\r\n');
  assert.equal(f.conn.ended, true);
});

test('a pipelining client that reads its replies slowly is slowed by TCP, not cut off at the input limit', () => {
  const app = new RespServer();
  const big = 'v'.repeat(100_000);
  let script = cmd('SET', 'big', big);
  // Each round: a 100 KB reply (GET) and 100 KB of input (SET): 20 MB each way.
  for (let i = 0; i < 200; i++) script += cmd('GET', 'big') + cmd('SET', `k${i}`, big);
  script += cmd('QUIT');
  const r = slowReaderRun(app.service, enc.encode(script), { pausedUs: 4_000, readingUs: 1_000, limitUs: 120_000_000 });
  assert.equal(app.counters()['aborted-input-limit'], undefined);
  assert.equal(r.closed, undefined, 'not reset');
  assert.ok(r.ended, `QUIT answered and the connection closed (${r.received.length} bytes of replies)`);
  const replies = dec.decode(r.received);
  const bulk = `$${big.length}\r\n${big}\r\n`;
  assert.equal(replies, '+OK\r\n' + `${bulk}+OK\r\n`.repeat(200) + '+OK\r\n', 'every reply, in order');
  assert.equal(app.store.snapshot() !== undefined, true);
  assert.ok((app.counters()['read-paused'] ?? 0) > 0, 'the session paused its reading');
});
