// `unbroken config check` exits 0 on a valid file and 1 with field-naming errors; `config reference` prints Markdown.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../../..');
const BIN = join(ROOT, 'bin/unbroken.js');

function run(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, 'config', ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('config check: ok, errors with paths, and file checks', () => {
  const dir = mkdtempSync(join(tmpdir(), 'unbroken-config-cli-'));
  try {
    let r = run('check', '--no-files', join(ROOT, 'examples/sttcp-backup.yaml'));
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /sttcp-backup.yaml: ok \(role sttcp-backup, node host-b\)/);
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, readFileSync(join(ROOT, 'examples/sttcp-primary.yaml'), 'utf8').replace('heartbeatMs: 10', 'heartbeatMs: fast'));
    r = run('check', '--no-files', bad);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /bad.yaml: 1 error\n {2}sttcp.heartbeatMs: must be an integer from 1 to 10000 \(got "fast"\)/);
    const keyed = join(dir, 'keyed.yaml');
    writeFileSync(keyed, readFileSync(join(ROOT, 'examples/sttcp-primary.yaml'), 'utf8').replace('/etc/unbroken/sttcp.key', 'no-such.key'));
    r = run('check', keyed);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /sttcp.keyFile: .*no-such.key does not exist; create it with: head -c 32 \/dev\/urandom/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('config reference prints the Markdown reference', () => {
  const r = run('reference');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^# `unbroken serve` configuration reference/);
  assert.match(r.stdout, /\| `sttcp.heartbeatMs` \| integer 1–10000 \| 10 \| heartbeat interval/);
});
