// CDR store on PostgreSQL (pg), chosen by configuration (a connection string).
// Same contract as the SQLite store: call_id is the primary key and inserts use
// ON CONFLICT DO NOTHING, so exactly one record per call survives retries.
import pg from 'pg';
import type { CdrInsertOutcome, CdrRecord, CdrStore, ReleaseReason } from './record.js';
import { validateCdr } from './record.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS cdr (
  call_id        TEXT PRIMARY KEY,
  caller         TEXT NOT NULL,
  callee         TEXT NOT NULL,
  connected_to   TEXT NOT NULL,
  start_us       BIGINT NOT NULL,
  answer_us      BIGINT,
  end_us         BIGINT NOT NULL,
  release_reason TEXT NOT NULL,
  written_by     TEXT NOT NULL,
  features       TEXT NOT NULL
)`;

interface Row {
  call_id: string; caller: string; callee: string; connected_to: string; start_us: string;
  answer_us: string | null; end_us: string; release_reason: string; written_by: string; features: string;
}

function fromRow(r: Row): CdrRecord {
  return {
    callId: r.call_id, caller: r.caller, callee: r.callee, connectedTo: r.connected_to,
    startUs: Number(r.start_us), answerUs: r.answer_us === null ? null : Number(r.answer_us), endUs: Number(r.end_us),
    releaseReason: r.release_reason as ReleaseReason, writtenBy: r.written_by, features: r.features,
  };
}

export class PgCdrStore implements CdrStore {
  private constructor(private readonly pool: pg.Pool, private readonly table: string) {}

  /** Connects and creates the table. `table` lets tests use a private table name. */
  static async open(connectionString: string, table = 'cdr'): Promise<PgCdrStore> {
    if (!/^[a-z_][a-z0-9_]*$/.test(table)) throw new Error(`bad table name ${table}`);
    const pool = new pg.Pool({ connectionString, max: 4 });
    await pool.query(SCHEMA.replace('cdr (', `${table} (`));
    return new PgCdrStore(pool, table);
  }

  async insert(r: CdrRecord): Promise<CdrInsertOutcome> {
    const bad = validateCdr(r);
    if (bad) throw new Error(`invalid CDR ${r.callId}: ${bad}`);
    const res = await this.pool.query(
      `INSERT INTO ${this.table} (call_id, caller, callee, connected_to, start_us, answer_us, end_us, release_reason, written_by, features)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10) ON CONFLICT (call_id) DO NOTHING`,
      [r.callId, r.caller, r.callee, r.connectedTo, r.startUs, r.answerUs, r.endUs, r.releaseReason, r.writtenBy, r.features]);
    return res.rowCount === 1 ? 'inserted' : 'duplicate';
  }

  async get(callId: string): Promise<CdrRecord | undefined> {
    const res = await this.pool.query<Row>(`SELECT * FROM ${this.table} WHERE call_id = $1`, [callId]);
    return res.rows[0] ? fromRow(res.rows[0]) : undefined;
  }

  async count(): Promise<number> {
    const res = await this.pool.query<{ n: string }>(`SELECT COUNT(*) AS n FROM ${this.table}`);
    return Number(res.rows[0]!.n);
  }

  async all(): Promise<CdrRecord[]> {
    const res = await this.pool.query<Row>(`SELECT * FROM ${this.table} ORDER BY start_us, call_id`);
    return res.rows.map(fromRow);
  }

  async dropTable(): Promise<void> { await this.pool.query(`DROP TABLE IF EXISTS ${this.table}`); }

  async close(): Promise<void> { await this.pool.end(); }
}
