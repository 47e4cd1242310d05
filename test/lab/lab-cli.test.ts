// `unbroken lab up/down` as a user runs it: exactly one JSON object, namespaces that
// exist and have no route out, hub mode, teardown that leaves nothing, and one-line
// errors for bad input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { blobSha256 } from '../../src/apps/index.js';
import { labSkip } from '../../src/lab/prerequisites.js';
import { stateFile } from '../../src/lab/state.js';
import { inNs } from './helpers.js';

const skip = labSkip(['nc']);
const run = promisify(execFile);
const BIN = new URL('../../bin/unbroken.js', import.meta.url).pathname;

async function unbroken(args: string[], env: Record<string, string> = {}): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const r = await run(process.execPath, [BIN, ...args], { timeout: 60_000, env: { ...process.env, ...env } });
    return { ...r, code: 0 };
  } catch (e) {
    const x = e as { stdout: string; stderr: string; code: number };
    return { stdout: x.stdout, stderr: x.stderr, code: x.code };
  }
}

test('lab up pair --json prints one object; blob over nc; no route out; hub mode; down removes everything', { skip, timeout: 60_000 }, async () => {
  const up = await unbroken(['lab', 'up', 'pair', '--app', 'blob', '--hub', '--json']);
  assert.equal(up.code, 0, up.stderr);
  const lines = up.stdout.trim().split('\n');
  assert.equal(lines.length, 1, 'exactly one line of output');
  const j = JSON.parse(lines[0]) as { name: string; netns: Record<string, string>; service: { ip: string; port: number }; pids: Record<string, number> };
  assert.deepEqual(Object.keys(j).sort(), ['name', 'netns', 'pids', 'service']);
  assert.match(j.name, /^ublab-[0-9a-f]{6}$/);
  assert.deepEqual(Object.keys(j.netns).sort(), ['client', 'server']);
  assert.deepEqual(j.service, { ip: '10.200.0.1', port: 9000 });
  assert.ok(j.pids.server > 0);
  try {
    assert.ok(existsSync(stateFile(j.name)));
    const got = await inNs(j.netns.client, ['sh', '-c', `echo 1234567 | nc -N ${j.service.ip} 9000 | sha256sum`]);
    assert.equal(got.stdout.split(' ')[0], blobSha256(1234567));
    for (const ns of Object.values(j.netns)) {
      const routes = await inNs(ns, ['ip', 'route', 'show', 'default']);
      assert.equal(routes.stdout.trim(), '', `${ns} has no default route`);
      const fwd = await inNs(ns, ['sysctl', '-n', 'net.ipv4.ip_forward']);
      assert.equal(fwd.stdout.trim(), '0');
    }
    const br = await inNs(j.netns.server, ['ip', '-d', 'link', 'show', 'br0']);
    assert.match(br.stdout, /ageing_time 0 /);
  } finally {
    const down = await unbroken(['lab', 'down', j.name, '--json']);
    assert.equal(down.code, 0, down.stderr);
  }
  const list = await run('ip', ['netns', 'list']);
  assert.doesNotMatch(list.stdout, new RegExp(j.name));
  assert.equal(existsSync(stateFile(j.name)), false);
  try { process.kill(j.pids.server, 0); assert.fail('server process still alive'); } catch (e) { assert.equal((e as NodeJS.ErrnoException).code, 'ESRCH'); }
});

test('lab errors are one line saying what to do', { skip, timeout: 30_000 }, async () => {
  const noRoot = await unbroken(['lab', 'up', 'pair', '--app', 'http', '--json']);
  assert.equal(noRoot.code, 1);
  assert.equal(noRoot.stderr.trim(), 'unbroken lab: --app http needs --root DIR (the directory to serve)');
  const bad = await unbroken(['lab', 'down', 'not-a-lab']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr.trim(), /^unbroken lab: 'not-a-lab' is not a lab name/);
  const imp = await unbroken(['lab', 'up', 'pair', '--impair', 'loss lots']);
  assert.equal(imp.code, 1);
  assert.match(imp.stderr.trim(), /^unbroken lab: --impair: loss needs a percentage/);
});

test('lab down --all removes every lab with its prefix and nothing else', { skip, timeout: 60_000 }, async () => {
  // A prefix of its own, so labs of test files running beside this one are not touched.
  const env = { UNBROKEN_LAB_PREFIX: 'uballtest-' };
  const other = `ubother-${createHash('sha1').update(String(process.pid)).digest('hex').slice(0, 6)}`;
  await run('ip', ['netns', 'add', other]);
  try {
    const up = await unbroken(['lab', 'up', 'pair', '--json'], env);
    assert.equal(up.code, 0, up.stderr);
    const name = (JSON.parse(up.stdout) as { name: string }).name;
    assert.match(name, /^uballtest-[0-9a-f]{6}$/);
    const down = await unbroken(['lab', 'down', '--all', '--json'], env);
    assert.equal(down.code, 0, down.stderr);
    assert.deepEqual((JSON.parse(down.stdout) as { removed: Array<{ name: string }> }).removed.map((r) => r.name), [name]);
    const list = await run('ip', ['netns', 'list']);
    assert.doesNotMatch(list.stdout, /uballtest-/);
    assert.match(list.stdout, new RegExp(other), 'a namespace that is not this prefix survives');
  } finally {
    await run('ip', ['netns', 'del', other]);
  }
});
