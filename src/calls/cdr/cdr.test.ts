// Test timing: real time (scripts/test.mjs runs this file one at a time beside the lab files, at normal priority).
// CDR stores: one record per call id on SQLite and PostgreSQL (a private throwaway
// server when none is configured). Billing decisions are tested in sim/.
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

/**
 * A throwaway PostgreSQL for this test: initdb in a temporary directory as the
 * `postgres` system user, a server on a Unix socket only (no TCP), stopped by pid.
 */
async function privatePostgres(): Promise<{ url: string; stop: () => Promise<void> } | string> {
  const { spawnSync, spawn } = await import('node:child_process');
  const { chownSync } = await import('node:fs');
  if (process.getuid?.() !== 0) return 'not root: cannot start a private server as the postgres user';
  const id = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (id.status !== 0) return 'no postgres system user';
  const uid = Number(id.stdout.trim()), g = Number(gid.stdout.trim());
  const dir = mkdtempSync(join(tmpdir(), 'cdr-pg-'));
  chownSync(dir, uid, g);
  const init = spawnSync('initdb', ['-D', join(dir, 'data'), '-A', 'trust', '-U', 'postgres'], { uid, gid: g, encoding: 'utf8' });
  if (init.status !== 0) { rmSync(dir, { recursive: true, force: true }); return `initdb unavailable or failed: ${(init.stderr ?? String(init.error)).slice(0, 120)}`; }
  const server = spawn('postgres', ['-D', join(dir, 'data'), '-k', dir, '-c', "listen_addresses=", '-p', '5433'], { uid, gid: g, stdio: 'ignore' });
  const url = `postgresql://postgres@localhost/postgres?host=${encodeURIComponent(dir)}&port=5433`;
  const stop = async (): Promise<void> => {
    if (server.pid !== undefined && server.exitCode === null) {
      process.kill(server.pid, 'SIGTERM');
      await new Promise<void>((r) => { const t = setTimeout(() => { try { process.kill(server.pid!, 'SIGKILL'); } catch { /* gone */ } r(); }, 5_000); server.once('exit', () => { clearTimeout(t); r(); }); });
    }
    rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 100; i++) {
    const probe = new (await import('pg')).default.Client({ connectionString: url });
    try { await probe.connect(); await probe.end(); return { url, stop }; } catch { await new Promise((r) => setTimeout(r, 100)); }
  }
  await stop();
  return 'private PostgreSQL did not start within 10 s';
}

test('CDR PostgreSQL: same contract', async (t) => {
  let url = process.env.CDR_PG_URL;
  let stop: (() => Promise<void>) | undefined;
  if (url) {
    const port = Number(new URL(url).port || 5432);
    if (!(await reachable(port))) { t.skip(`CDR_PG_URL set but nothing listens on 127.0.0.1:${port}`); return; }
  } else {
    const pg = await privatePostgres();
    if (typeof pg === 'string') { t.skip(`no PostgreSQL: ${pg}`); return; }
    url = pg.url; stop = pg.stop;
  }
  const table = `cdr_test_${process.pid}`;
  try {
    const s = await PgCdrStore.open(url, table);
    try { await exercise(s); } finally { await s.dropTable(); await s.close(); }
  } finally { await stop?.(); }
});
