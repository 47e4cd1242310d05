// The main job as a user runs it: `unbroken demo` for each technique keeps its promise,
// prints exactly one JSON object with --json, and the same seed gives the same output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runStTcpDemo } from '../src/demo/sttcp-demo.js';
import { runCallsDemo } from '../src/demo/calls-demo.js';
import { runAllDemos } from '../src/demo/all-demo.js';
import { readFileSync } from 'node:fs';

function capture(run: (write: (l: string) => void) => number): { code: number; out: string } {
  const lines: string[] = [];
  const code = run((l) => lines.push(l));
  return { code, out: lines.join('\n') };
}

test('demo sttcp: the primary crashes, every connection intact, report and pcap written, deterministic', () => {
  const dir = mkdtempSync(join(tmpdir(), 'unbroken-demo-'));
  try {
    const a = capture((w) => runStTcpDemo({ seed: 3, json: true, outDir: dir }, w));
    assert.equal(a.code, 0, a.out);
    const j = JSON.parse(a.out) as { ok: boolean; connections: Array<{ match: boolean; close: string }>; maxPauseUs: number; rstsToOpenConnections: number };
    assert.equal(j.ok, true);
    assert.ok(j.connections.length >= 4 && j.connections.every((c) => c.match && c.close === 'closed'));
    assert.equal(j.rstsToOpenConnections, 0);
    assert.ok(existsSync(join(dir, 'report.html')) && existsSync(join(dir, 'client.pcap')));
    const b = capture((w) => runStTcpDemo({ seed: 3, json: true, outDir: dir }, w));
    assert.equal(b.out, a.out, 'same seed, same output');
    const text = capture((w) => runStTcpDemo({ seed: 3, json: false }, w));
    assert.match(text.out, /crashes/);
    assert.match(text.out, /took over/);
    assert.match(text.out, /promise kept/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('demo calls: the controller crashes, every stable call preserved, deterministic', () => {
  const a = capture((w) => runCallsDemo({ seed: 2, json: true }, w));
  assert.equal(a.code, 0, a.out);
  const j = JSON.parse(a.out) as { ok: boolean; lost: number; stableAtCrash: number; violations: string[] };
  assert.equal(j.ok, true);
  assert.equal(j.lost, 0);
  assert.ok(j.stableAtCrash > 0, 'some calls were stable at the crash');
  assert.deepEqual(j.violations, []);
  const b = capture((w) => runCallsDemo({ seed: 2, json: true }, w));
  assert.equal(b.out, a.out);
});

test('demo all: sttcp, craft and calls in turn, one JSON verdict, every report written and linked from the index', () => {
  const dir = mkdtempSync(join(tmpdir(), 'unbroken-demo-all-'));
  try {
    const a = capture((w) => runAllDemos({ seed: 1, json: true, outDir: dir }, w));
    assert.equal(a.code, 0, a.out.slice(0, 2000));
    const j = JSON.parse(a.out) as { ok: boolean; demos: Array<{ technique: string; ok: boolean; result: { ok: boolean } }>; index: string };
    assert.equal(j.ok, true);
    assert.deepEqual(j.demos.map((d) => [d.technique, d.ok, d.result.ok]), [['sttcp', true, true], ['craft', true, true], ['calls', true, true]]);
    const index = readFileSync(j.index, 'utf8');
    for (const f of ['report.html', 'craft-report.html', 'calls-report.html']) {
      assert.ok(existsSync(join(dir, f)), f);
      assert.match(index, new RegExp(`href="${f}"`));
    }
    assert.match(index, /Every promise kept \(3 of 3 demos\)/);
    assert.match(readFileSync(join(dir, 'craft-report.html'), 'utf8'), /class="verdict kept"/);
    assert.match(readFileSync(join(dir, 'calls-report.html'), 'utf8'), /class="call-strip"/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
