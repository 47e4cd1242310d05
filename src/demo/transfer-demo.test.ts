// `unbroken demo`: same seed → same output (text and JSON), JSON is one object with
// the results, --out writes a pcap, a failed verification gives a non-zero exit, and
// the command is wired into the CLI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { runDemo } from './transfer-demo.js';
import { runTransfer } from '../sim/scenarios/transfer.js';

function capture(fn: (w: (l: string) => void) => number): { code: number; out: string } {
  const lines: string[] = [];
  const code = fn((l) => lines.push(l));
  return { code, out: lines.join('\n') };
}

test('text output: narrative in virtual time, summary table, replay line; same seed → identical output', () => {
  const a = capture((w) => runDemo({ seed: 5, json: false }, w));
  const b = capture((w) => runDemo({ seed: 5, json: false }, w));
  assert.equal(a.code, 0);
  assert.equal(a.out, b.out);
  for (const re of [/client sends SYN/, /answers SYN-ACK: connection open/, /retransmits/, /has received 2000000 of 2000000 bytes/,
    /connection closed/, /sha256 verified both ways/, /client → server +200000 +200000 +[0-9a-f]{16} +sha256 verified/,
    /^replay: npx unbroken demo --seed 5$/m]) {
    assert.match(a.out, re);
  }
  const c = capture((w) => runDemo({ seed: 6, json: false }, w));
  assert.notEqual(c.out, a.out);
});

test('--json: exactly one JSON object with the results, deterministic', () => {
  const a = capture((w) => runDemo({ seed: 9, json: true }, w));
  const b = capture((w) => runDemo({ seed: 9, json: true }, w));
  assert.equal(a.out, b.out);
  assert.equal(a.out.split('\n').length, 1);
  const j = JSON.parse(a.out);
  assert.equal(j.ok, true);
  assert.equal(j.seed, 9);
  assert.equal(j.clientToServer.match, true);
  assert.equal(j.serverToClient.receivedBytes, 2_000_000);
  assert.equal(j.serverToClient.receivedSha256, j.serverToClient.sentSha256);
  assert.ok(j.wire.retransmits > 0);
  assert.ok(j.faults.dropped > 0);
  assert.equal(j.replay, 'npx unbroken demo --seed 9 --json');
  assert.ok(j.events.some((e: { kind: string }) => e.kind === 'complete'));
});

test('--out writes the pcap, byte-identical for the same seed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'unbroken-demo-'));
  try {
    const j1 = JSON.parse(capture((w) => runDemo({ seed: 3, json: true, outDir: join(dir, 'a') }, w)).out);
    const j2 = JSON.parse(capture((w) => runDemo({ seed: 3, json: true, outDir: join(dir, 'b') }, w)).out);
    assert.equal(j1.pcap, join(dir, 'a', 'demo-seed-3.pcap'));
    const p1 = readFileSync(j1.pcap);
    assert.ok(p1.length > 1_000_000);
    assert.equal(Buffer.compare(p1, readFileSync(j2.pcap)), 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bytes that do not match give a non-zero exit and say so', () => {
  const broken = (o: Parameters<typeof runTransfer>[0]) => {
    const r = runTransfer(o);
    return { ...r, ok: false, reason: 'byte streams differ (simulated)', serverToClient: { ...r.serverToClient, match: false } };
  };
  const t = capture((w) => runDemo({ seed: 1, json: false }, w, broken));
  assert.equal(t.code, 1);
  assert.match(t.out, /FAILED: byte streams differ/);
  assert.match(t.out, /server → client .* MISMATCH/);
  const j = capture((w) => runDemo({ seed: 1, json: true }, w, broken));
  assert.equal(j.code, 1);
  assert.equal(JSON.parse(j.out).ok, false);
});

test('the CLI runs it: `unbroken demo --json --seed 4` exits 0 with one JSON object; a bad seed exits non-zero', () => {
  const bin = new URL('../../bin/unbroken.js', import.meta.url).pathname;
  const r = spawnSync(process.execPath, [bin, 'demo', '--json', '--seed', '4'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).seed, 4);
  const bad = spawnSync(process.execPath, [bin, 'demo', '--seed', '-3'], { encoding: 'utf8' });
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /seed/);
});
