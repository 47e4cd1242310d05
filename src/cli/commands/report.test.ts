// `unbroken report`: renders a JSON report to HTML; exit 0 / 1 (--check, broken) / 2 (bad input).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { sampleSttcpReport } from '../../report/fixture.js';

const BIN = resolve(import.meta.dirname, '../../../bin/unbroken.js');

function run(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, 'report', ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('unbroken report renders JSON to HTML and reports the verdict', () => {
  const dir = mkdtempSync(join(tmpdir(), 'unbroken-report-cli-'));
  try {
    const kept = join(dir, 'kept.json');
    writeFileSync(kept, JSON.stringify(sampleSttcpReport(1, { connections: 5 })));
    let r = run(kept, '--check');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /kept\.html\nPromise kept: 5 of 5 connections intact/);
    assert.match(readFileSync(join(dir, 'kept.html'), 'utf8'), /class="verdict kept"/);

    const broken = join(dir, 'broken.json');
    writeFileSync(broken, JSON.stringify(sampleSttcpReport(1, { connections: 5, failed: 1 })));
    r = run(broken, '--out', join(dir, 'b.html'));
    assert.equal(r.status, 0, 'without --check a broken report still renders with exit 0');
    r = run(broken, '--out', join(dir, 'b.html'), '--check');
    assert.equal(r.status, 1);
    assert.match(r.stdout, /Promise broken/);

    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ title: 1 }));
    r = run(bad);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /is not a failover report:\n {2}\$\.title: must be a string/);
    r = run(join(dir, 'missing.json'));
    assert.equal(r.status, 2);
    assert.match(r.stderr, /cannot read/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
