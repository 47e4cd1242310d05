// CDR store on SQLite (better-sqlite3), the embedded default. One row per call:
// call_id is the primary key and inserts use INSERT OR IGNORE, so a retried or
// duplicated write cannot produce a second record.
import Database from 'better-sqlite3';
import type { CdrInsertOutcome, CdrRecord, CdrStore, ReleaseReason } from './record.js';
import { validateCdr } from './record.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS cdr (
  call_id        TEXT PRIMARY KEY,
  caller         TEXT NOT NULL,
  callee         TEXT NOT NULL,
  connected_to   TEXT NOT NULL,
  start_us       INTEGER NOT NULL,
  answer_us      INTEGER,
  end_us         INTEGER NOT NULL,
  release_reason TEXT NOT NULL,
  written_by     TEXT NOT NULL,
  features       TEXT NOT NULL
)`;

interface Row {
  call_id: string; caller: string; callee: string; connected_to: string; start_us: number;
  answer_us: number | null; end_us: number; release_reason: string; written_by: string; features: string;
}

function fromRow(r: Row): CdrRecord {
  return {
    callId: r.call_id, caller: r.caller, callee: r.callee, connectedTo: r.connected_to,
    startUs: r.start_us, answerUs: r.answer_us, endUs: r.end_us,
    releaseReason: r.release_reason as ReleaseReason, writtenBy: r.written_by, features: r.features,
  };
}

export class SqliteCdrStore implements CdrStore {
  private readonly db: Database.Database;
  private readonly ins: Database.Statement;

  /** `path` is a file name or ':memory:'. Several processes may share one file (WAL). */
  constructor(path: string) {
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
    this.ins = this.db.prepare(`INSERT OR IGNORE INTO cdr
      (call_id, caller, callee, connected_to, start_us, answer_us, end_us, release_reason, written_by, features)
      VALUES (@callId, @caller, @callee, @connectedTo, @startUs, @answerUs, @endUs, @releaseReason, @writtenBy, @features)`);
  }

  async insert(r: CdrRecord): Promise<CdrInsertOutcome> {
    const bad = validateCdr(r);
    if (bad) throw new Error(`invalid CDR ${r.callId}: ${bad}`);
    const info = this.ins.run({ ...r });
    return info.changes === 1 ? 'inserted' : 'duplicate';
  }

  async get(callId: string): Promise<CdrRecord | undefined> {
    const row = this.db.prepare('SELECT * FROM cdr WHERE call_id = ?').get(callId) as Row | undefined;
    return row ? fromRow(row) : undefined;
  }

  async count(): Promise<number> {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM cdr').get() as { n: number }).n;
  }

  async all(): Promise<CdrRecord[]> {
    return (this.db.prepare('SELECT * FROM cdr ORDER BY start_us, call_id').all() as Row[]).map(fromRow);
  }

  async close(): Promise<void> { this.db.close(); }
}
