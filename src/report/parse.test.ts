// Tests of reading a DemoReport from JSON and writing report files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDemoReport } from './parse.js';
import { writeReportFiles } from './write.js';
import { sampleCallsReport, sampleSttcpReport } from './fixture.js';

test('sample reports survive a JSON round trip and parse', () => {
  for (const r of [sampleSttcpReport(5, { connections: 10 }), sampleCallsReport(5, 5)]) {
    const p = parseDemoReport(JSON.parse(JSON.stringify(r)));
    assert.ok(p.ok, p.ok ? '' : p.errors.join('\n'));
    assert.deepEqual(p.value, r);
  }
});

test('malformed reports are rejected with the field path', () => {
  assert.deepEqual(parseDemoReport([]), { ok: false, errors: ['(top level): must be a JSON object (a DemoReport)'] });
  const r = JSON.parse(JSON.stringify(sampleSttcpReport(5, { connections: 3 })));
  r.technique = 'udp';
  r.connections[1].samples[4] = [1, 'x'];
  r.connections[2].ok = 'yes';
  delete r.events;
  r.markers[0].tUs = null;
  const p = parseDemoReport(r);
  assert.ok(!p.ok);
  assert.deepEqual(p.errors, [
    '$.technique: must be one of sttcp, craft, calls, tcp',
    '$.events: must be a list',
    '$.markers[0].tUs: must be a finite number',
    '$.connections[1].samples[4]: must be a pair of finite numbers [tUs, count]',
    '$.connections[2].ok: must be true or false',
  ]);
});

test('writeReportFiles writes the HTML and the JSON side by side', () => {
  const dir = mkdtempSync(join(tmpdir(), 'unbroken-report-'));
  try {
    const r = sampleCallsReport(2, 4);
    const w = writeReportFiles(join(dir, 'sub'), r);
    assert.ok(existsSync(w.html));
    assert.match(readFileSync(w.html, 'utf8'), /^<!doctype html>/);
    assert.deepEqual(JSON.parse(readFileSync(w.json, 'utf8')), r);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
