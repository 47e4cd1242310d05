#!/usr/bin/env node
// Runs every *.test.ts under src/ and test/ with node's built-in test runner
// (through tsx). Node 20 has no glob support in `--test`, so files are listed here.
// Usage: npm test [-- filter-substring ...]   e.g. `npm test -- tcp/` runs only TCP tests.
//
// The lab files (test/lab/) run one at a time, beside the other files: two labs at once
// on a small machine starve each other's hosts (missed heartbeats turn into spurious
// failovers, a stalled splicer into a takeover), which is a property of the machine, not
// of the code under test. Files that run on real time (a first-lines comment says
// `// Test timing: real time`: processes with heartbeats, real sockets, a TAP) join them.
// Every other file runs on simulated time, so it only takes longer when starved: while
// the serial group runs, those run at a lower CPU priority (nice 10) instead of starving a
// lab host of its heartbeats. (Once in CI one of two shared splicers declared the other
// lost — 500 ms unheard — and fenced it just before the test killed the survivor; here,
// beside two CPU-bound processes, a splicer's timers fired up to 400-540 ms late.) The two
// runs' summaries are added up into one closing summary.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawn } from 'node:child_process';
import { availableParallelism, setPriority } from 'node:os';

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
const REAL_TIME_MARK = /^\/\/ Test timing: real time/m;
const isSerial = (f) => f.startsWith('test/lab/') || REAL_TIME_MARK.test(readFileSync(join(root, f), 'utf8').slice(0, 2000));
const serial = files.filter(isSerial);
const rest = files.filter((f) => !isSerial(f));
/** The simulated-time files' niceness while the serial group runs beside them. */
const REST_NICENESS = 10;

const SUMMARY_KEYS = ['tests', 'suites', 'pass', 'fail', 'cancelled', 'skipped', 'todo', 'duration_ms'];

/**
 * One `node --test` run. `live`: its output goes to ours as it comes; otherwise it is held
 * and written in one piece when the run ends (so two runs' lines do not interleave).
 */
function run(group, concurrency, live, niceness = 0) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath,
      ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, ...group],
      { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    // Set before the runner has loaded its files: the process it starts for each inherits it.
    if (niceness !== 0 && child.pid !== undefined) {
      try { setPriority(child.pid, niceness); } catch (e) { console.error(`could not lower the simulated-time tests' priority: ${e.message}`); }
    }
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
if (serial.length > 0) runs.push(run(serial, 1, true));
if (rest.length > 0) runs.push(run(rest, Math.max(1, cpus - (serial.length > 0 ? 1 : 0)), serial.length === 0, serial.length > 0 ? REST_NICENESS : 0));
const results = await Promise.all(runs);

if (results.length > 1) {
  // One closing summary for the whole suite, in the runner's own format.
  console.log(`# all files: ${rest.length} run ${Math.max(1, cpus - 1)} at a time (nice ${REST_NICENESS}), beside ${serial.length} lab and real-time files run one at a time`);
  for (const k of SUMMARY_KEYS) {
    const vals = results.map((r) => r.summary[k]);
    if (vals.some((v) => v === undefined)) { console.log(`# ${k} ?`); continue; }
    const v = k === 'duration_ms' ? Math.max(...vals) : vals.reduce((a, b) => a + b, 0);
    console.log(`# ${k} ${v}`);
  }
}
const failed = results.some((r) => r.code !== 0) || results.some((r) => r.summary.tests === undefined);
process.exit(failed ? 1 : 0);
