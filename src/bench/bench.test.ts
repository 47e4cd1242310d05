// The bench harness without real benchmarks: formatting, BENCHMARKS.md section replacement,
// machine description, requirement checks and the runner's filter/skip/failure handling.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatValue, markdownSection, textTable, upsertSection, BENCHMARKS_HEADER } from './report.js';
import { cpuModelFromCpuinfo, formatMachine, machineInfo } from './machine.js';
import { onPath, unmetRequirement } from './requirements.js';
import { runBenchmarks, selectBenchmarks } from './runner.js';
import { BENCHMARKS } from './registry.js';
import type { Benchmark } from './types.js';

const section = (id: string, v: number): string => markdownSection({
  id, title: `T ${id}`, description: 'd', command: `npm run bench -- ${id}`, machine: 'm', dateIso: '2026-01-01T00:00:00Z',
  rows: [{ metric: 'x', value: v, unit: 'MB/s' }],
});

test('formatValue keeps integers and rounds the rest to a readable precision', () => {
  assert.equal(formatValue(42), '42');
  assert.equal(formatValue(1234.56), '1235');
  assert.equal(formatValue(123.456), '123.5');
  assert.equal(formatValue(1.23456), '1.23');
  assert.equal(formatValue(0.0123456), '0.0123');
});

test('upsertSection replaces only its own section, byte for byte elsewhere', () => {
  let doc = upsertSection('', 'a', section('a', 1));
  assert.ok(doc.startsWith(BENCHMARKS_HEADER));
  doc = upsertSection(doc, 'b', section('b', 2));
  doc = doc + '\nHand-written note that must survive.\n';
  const before = doc;
  doc = upsertSection(doc, 'a', section('a', 3));
  assert.ok(doc.includes('| x | 3 | MB/s |'));
  assert.ok(!doc.includes('| x | 1 | MB/s |'));
  assert.ok(doc.includes('| x | 2 | MB/s |'));
  assert.ok(doc.includes('Hand-written note that must survive.'));
  assert.equal(doc.split('<!-- bench:a -->').length, 2);
  // Everything from b's section on is unchanged.
  const tail = (s: string): string => s.slice(s.indexOf('<!-- bench:b -->'));
  assert.equal(tail(doc), tail(before));
});

test('markdown section carries the command, machine, date and a pipe-safe table', () => {
  const s = markdownSection({
    id: 'z', title: 'Zed', description: 'what', command: 'npm run bench -- z', machine: 'cpu · 2 cores',
    dateIso: '2026-01-01T00:00:00Z', rows: [{ metric: 'a|b', value: 1.5, unit: 'µs', note: 'n' }],
  });
  assert.match(s, /^<!-- bench:z -->\n## z — Zed/);
  assert.match(s, /- Command: `npm run bench -- z`/);
  assert.match(s, /- Machine: cpu · 2 cores/);
  assert.match(s, /- Date: 2026-01-01T00:00:00Z/);
  assert.match(s, /\| a\\\|b \| 1.50 \| µs \| n \|/);
  assert.match(s, /<!-- \/bench:z -->$/);
});

test('text table aligns columns', () => {
  const t = textTable([{ metric: 'throughput', value: 12.5, unit: 'MB/s' }, { metric: 'n', value: 3, unit: '', note: 'ok' }]);
  const lines = t.split('\n');
  assert.equal(lines.length, 4);
  assert.ok(lines[2]!.startsWith('throughput  12.50  MB/s'));
});

test('cpu model is read from /proc/cpuinfo text (x86 and ARM styles)', () => {
  assert.equal(cpuModelFromCpuinfo('processor\t: 0\nmodel name\t: Intel(R) Xeon(R)  CPU @ 2.20GHz\n'), 'Intel(R) Xeon(R) CPU @ 2.20GHz');
  assert.equal(cpuModelFromCpuinfo('Hardware\t: BCM2835\n'), 'BCM2835');
  assert.equal(cpuModelFromCpuinfo('nothing\n'), undefined);
  const m = machineInfo();
  assert.ok(m.cores >= 1 && m.memoryBytes > 0 && m.node.startsWith('v'));
  assert.match(formatMachine(m), /cores · .* GiB RAM · .* · Node v/);
});

test('requirements: root and programs are checked and explained', () => {
  const env = { isRoot: false, hasProgram: (n: string) => n === 'tshark' };
  assert.equal(unmetRequirement(undefined, env), undefined);
  assert.match(unmetRequirement(['root'], env)!, /root/);
  assert.equal(unmetRequirement([{ program: 'tshark', debianPackage: 'tshark' }], env), undefined);
  assert.match(unmetRequirement([{ program: 'iperf3', debianPackage: 'iperf3' }], env)!, /apt-get install iperf3/);
  assert.ok(onPath('node'));
  assert.ok(!onPath('definitely-not-a-program-xyz'));
});

function fake(id: string, opts: Partial<Benchmark> = {}): Benchmark {
  return { id, title: `bench ${id}`, description: 'test', run: () => [{ metric: 'm', value: id.length, unit: 'u' }], ...opts };
}

test('runner: filters by id, skips unmet requirements, reports failures, writes only run sections', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-test-'));
  try {
    const file = join(dir, 'BENCHMARKS.md');
    writeFileSync(file, upsertSection('', 'keep', section('keep', 7)));
    const all = [
      fake('aa'), fake('bbb'), fake('needs-root', { requires: ['root'] }),
      fake('boom', { run: () => { throw new Error('kaput'); } }),
    ];
    assert.deepEqual(selectBenchmarks(all, ['bbb']).chosen.map((b) => b.id), ['bbb']);
    assert.deepEqual(selectBenchmarks(all, ['nope']).unknown, ['nope']);
    const lines: string[] = [];
    const common = {
      quick: true, file, command: 'npm run bench', machine: 'test machine',
      env: { isRoot: false, hasProgram: () => false }, out: (l: string) => lines.push(l), progress: () => {},
      now: () => new Date('2026-02-03T04:05:06.789Z'), loadAvg1: () => 1.5,
    };
    const s = await runBenchmarks(all, { ...common, ids: [] });
    assert.deepEqual(s.results.map((r) => r.status), ['ok', 'ok', 'skipped', 'failed']);
    assert.equal(s.exitCode, 1);
    const doc = readFileSync(file, 'utf8');
    assert.ok(doc.includes('<!-- bench:aa -->') && doc.includes('<!-- bench:bbb -->') && doc.includes('<!-- bench:keep -->'));
    assert.ok(!doc.includes('bench:needs-root') && !doc.includes('bench:boom'));
    assert.ok(doc.includes('- Date: 2026-02-03T04:05:06Z'));
    assert.ok(doc.includes('- Load: 1-minute load average 1.50 at start'));
    assert.ok(lines.some((l) => l.includes('skipped — needs root')));
    assert.ok(lines.some((l) => l.includes('FAILED') && l.includes('kaput')));
    const u = await runBenchmarks(all, { ...common, ids: ['nope'] });
    assert.equal(u.exitCode, 2);
    const ok = await runBenchmarks(all, { ...common, ids: ['aa'], file: undefined });
    assert.equal(ok.exitCode, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('registry ids are unique kebab-case', () => {
  const ids = BENCHMARKS.map((b) => b.id);
  assert.equal(new Set(ids).size, ids.length);
  for (const id of ids) assert.match(id, /^[a-z0-9]+(-[a-z0-9]+)*$/);
});
