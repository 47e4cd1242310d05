// tcp-cpu's transfer loop works end to end on a small transfer (correctness only; no timing asserted).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultTcpConfig } from '../../tcp/connection.js';
import { congestionByName } from '../../tcp/congestion/index.js';
import { BulkPattern } from './bulk-pattern.js';
import { pairRows, runTcpPair } from './tcp-cpu.js';

test('bulk pattern: chunks never cross its end; matches detects a changed byte', () => {
  const p = new BulkPattern(1, 1024);
  assert.equal(p.chunkAt(1000, 100).length, 24);
  const d = new Uint8Array(2000);
  for (let i = 0; i < d.length; i++) d[i] = p.bytes[(500 + i) % 1024]!;
  assert.ok(p.matches(500, d));
  d[1500] ^= 1;
  assert.ok(!p.matches(500, d));
});

test('tcp pair moves every byte, SYN to FIN, with each congestion controller (no timing asserted)', () => {
  for (const name of ['newreno', 'cubic'] as const) {
    const r = runTcpPair({ ...defaultTcpConfig(), congestion: congestionByName(name) }, 1_500_000, new BulkPattern(7), () => {});
    assert.equal(r.bytes, 1_500_000);
    assert.ok(r.dataSegments >= Math.ceil(1_500_000 / 1460), `${r.dataSegments} data segments`);
    assert.ok(r.ackSegments > 0);
    assert.equal(r.retransmits, 0);
    const rows = pairRows(r, name);
    assert.ok(rows.every((row) => Number.isFinite(row.value)));
  }
});
