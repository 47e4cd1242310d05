#!/usr/bin/env node
// Runs every *.test.ts under src/ and test/ with node's built-in test runner
// (through tsx). Node 20 has no glob support in `--test`, so files are listed here.
// Usage: npm test [-- filter-substring ...]   e.g. `npm test -- tcp/` runs only TCP tests.
//
// The lab files (test/lab/) run one at a time, beside the other files: two labs at once
// on a small machine starve each other's hosts (missed heartbeats turn into spurious
// failovers, a stalled splicer into a takeover), which is a property of the machine, not
// of the code under test. The two runs' summaries are added up into one closing summary.
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';

const root = new URL('..', import.meta.url).pathname;
const filters = process.argv.slice(2);

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.ts')) out.push(relative(root, p));
  }
  return out;
}

const files = ['src', 'test']
  .flatMap((d) => { try { return walk(join(root, d), []); } catch { return []; } })
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();
if (files.length === 0) {
  console.error('no test files matched', filters);
  process.exit(1);
}
const isLab = (f) => f.startsWith('test/lab/');
const lab = files.filter(isLab);
const rest = files.filter((f) => !isLab(f));

const SUMMARY_KEYS = ['tests', 'suites', 'pass', 'fail', 'cancelled', 'skipped', 'todo', 'duration_ms'];

/**
 * One `node --test` run. `live`: its output goes to ours as it comes; otherwise it is held
 * and written in one piece when the run ends (so two runs' lines do not interleave).
 */
function run(group, concurrency, live) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath,
      ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, ...group],
      { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    const held = [];
    let tail = '';
    child.stdout.on('data', (d) => {
      if (live) process.stdout.write(d); else held.push(d);
      tail = (tail + d.toString()).slice(-4096);
    });
    child.on('close', (code, signal) => {
      if (!live) process.stdout.write(Buffer.concat(held));
      const summary = {};
      for (const k of SUMMARY_KEYS) {
        const m = new RegExp(`^# ${k} ([\\d.]+)$`, 'm').exec(tail);
        summary[k] = m === null ? undefined : Number(m[1]);
      }
      resolve({ code: code ?? (signal ? 1 : 0), summary });
    });
  });
}

const cpus = availableParallelism();
const runs = [];
if (lab.length > 0) runs.push(run(lab, 1, true));
if (rest.length > 0) runs.push(run(rest, Math.max(1, cpus - (lab.length > 0 ? 1 : 0)), lab.length === 0));
const results = await Promise.all(runs);

if (results.length > 1) {
  // One closing summary for the whole suite, in the runner's own format.
  console.log(`# all files: ${rest.length} run ${Math.max(1, cpus - 1)} at a time, beside ${lab.length} lab files run one at a time`);
  for (const k of SUMMARY_KEYS) {
    const vals = results.map((r) => r.summary[k]);
    if (vals.some((v) => v === undefined)) { console.log(`# ${k} ?`); continue; }
    const v = k === 'duration_ms' ? Math.max(...vals) : vals.reduce((a, b) => a + b, 0);
    console.log(`# ${k} ${v}`);
  }
}
const failed = results.some((r) => r.code !== 0) || results.some((r) => r.summary.tests === undefined);
process.exit(failed ? 1 : 0);
