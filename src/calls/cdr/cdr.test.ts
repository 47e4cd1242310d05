import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { SqliteCdrStore } from './sqlite-store.js';
import { PgCdrStore } from './pg-store.js';
import type { CdrRecord, CdrStore } from './record.js';

const rec = (id: string, over: Partial<CdrRecord> = {}): CdrRecord => ({
  callId: id, caller: '1001', callee: '2002', connectedTo: '2002', startUs: 1_700_000_000_000_000,
  answerUs: 1_700_000_002_000_000, endUs: 1_700_000_060_000_000, releaseReason: 'normal', writtenBy: 'mgc-b',
  features: 'hold', ...over,
});

async function exercise(store: CdrStore): Promise<void> {
  assert.equal(await store.insert(rec('c1')), 'inserted');
  assert.equal(await store.insert(rec('c1', { writtenBy: 'mgc-a', endUs: 1_700_000_070_000_000 })), 'duplicate');
  assert.equal(await store.insert(rec('c2', { answerUs: null, releaseReason: 'busy' })), 'inserted');
  assert.equal(await store.count(), 2);
  const c1 = await store.get('c1');
  assert.deepEqual(c1, rec('c1'));
  assert.equal((await store.get('c2'))?.answerUs, null);
  await assert.rejects(store.insert(rec('c3', { endUs: 0 })), /end before start/);
  assert.equal((await store.all()).length, 2);
}

test('CDR SQLite: one record per call id, idempotent insert, validation', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cdr-'));
  try {
    const s = new SqliteCdrStore(join(dir, 'cdr.db'));
    await exercise(s);
    await s.close();
    // A second process (here: connection) opening the same file sees the rows.
    const s2 = new SqliteCdrStore(join(dir, 'cdr.db'));
    assert.equal(await s2.count(), 2);
    assert.equal(await s2.insert(rec('c1')), 'duplicate');
    await s2.close();
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

async function reachable(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => { s.destroy(); res(true); });
    s.once('error', () => res(false));
  });
}

const pgUrl = process.env.CDR_PG_URL;
test('CDR PostgreSQL: same contract', async (t) => {
  if (!pgUrl) { t.skip('CDR_PG_URL not set (no PostgreSQL server configured for tests)'); return; }
  const port = Number(new URL(pgUrl).port || 5432);
  if (!(await reachable(port))) { t.skip(`no PostgreSQL server reachable on 127.0.0.1:${port}`); return; }
  const table = `cdr_test_${process.pid}`;
  const s = await PgCdrStore.open(pgUrl, table);
  try { await exercise(s); } finally { await s.dropTable(); await s.close(); }
});
