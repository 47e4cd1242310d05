// Chooses the CDR store from configuration: a postgres:// URL selects PostgreSQL,
// anything else is an SQLite file path (':memory:' for none). No SQL here.
import type { CdrStore } from './record.js';
import { SqliteCdrStore } from './sqlite-store.js';
import { PgCdrStore } from './pg-store.js';

export async function openCdrStore(spec: string): Promise<CdrStore> {
  if (/^postgres(ql)?:\/\//.test(spec)) return PgCdrStore.open(spec);
  return new SqliteCdrStore(spec);
}
