// Every event name `unbroken serve` logs, in every role, is in LOG_EVENTS (the stable
// table operators alert on): the source of each role is read and every name it passes to
// log.event() checked, and nothing bypasses the table through the raw pino logger. The
// ST-TCP node's event kinds are passed through unchanged, which the compiler checks
// (StTcpEventKind must be a LogEvent for sttcp-role.ts to typecheck).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isLogEvent } from '../observe/log.js';
import type { LogEvent } from '../observe/log.js';
import type { StTcpEventKind } from '../sttcp/node.js';

const DIR = import.meta.dirname;
const ROLE_FILES = ['serve.ts', 'sttcp-role.ts', 'splicer-role.ts', 'backend-role.ts', 'calls-roles.ts', 'app-service.ts'];

/** The first argument of each log.event( call in `src`: its text up to the first top-level comma or parenthesis. */
function firstArgs(src: string): string[] {
  const out: string[] = [];
  for (let i = src.indexOf('log.event('); i >= 0; i = src.indexOf('log.event(', i + 1)) {
    let depth = 0;
    let j = i + 'log.event('.length;
    const start = j;
    for (; j < src.length; j++) {
      const ch = src[j];
      if (ch === '(' || ch === '[' || ch === '{') depth++;
      else if (ch === ')' || ch === ']' || ch === '}') { if (depth === 0) break; depth--; } else if (ch === ',' && depth === 0) break;
    }
    out.push(src.slice(start, j).trim());
  }
  return out;
}

test('every event name serve logs in any role is in LOG_EVENTS, and nothing logs around the table', () => {
  const files = readdirSync(DIR).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
  // A new role file must be listed here, so that its events are checked.
  assert.deepEqual(files.filter((f) => !ROLE_FILES.includes(f) && !['net.ts', 'types.ts'].includes(f)), []);
  const names = new Set<string>();
  for (const f of ROLE_FILES) {
    const src = readFileSync(join(DIR, f), 'utf8');
    assert.doesNotMatch(src, /log\.pino\.(trace|debug|info|warn|error|fatal)\(/, `${f}: logs through pino directly instead of log.event()`);
    for (const arg of firstArgs(src)) {
      const literals = [...arg.matchAll(/'([^']*)'/g)].map((m) => m[1]!);
      // The one non-literal: the ST-TCP node's own event kind, passed through (checked by the compiler below).
      if (literals.length === 0) { assert.equal(arg, 'e.kind', `${f}: log.event(${arg}, ...) must name its event`); continue; }
      for (const n of literals) {
        assert.ok(isLogEvent(n), `${f}: log.event('${n}') is not in LOG_EVENTS`);
        names.add(n);
      }
    }
  }
  // Each role's lifecycle and failover events are among them.
  for (const n of ['config.loaded', 'server.started', 'server.failed', 'server.stopped', 'interface.attached', 'node.final', 'takeover.complete',
    'failover.detected', 'splice.created', 'splice.removed', 'replication.failed', 'control.rejected', 'relay.failed', 'gateway.failover', 'call.preserved', 'cdr.written']) {
    assert.ok(names.has(n), `no role logs ${n}`);
  }
});

test('the ST-TCP node\'s event kinds are log events (a compile-time check, and the names at run time)', () => {
  const kindIsEvent = (k: StTcpEventKind): LogEvent => k;
  for (const k of ['backup.synced', 'output.diverged', 'backup.join-abandoned', 'protection.changed'] as const) assert.ok(isLogEvent(kindIsEvent(k)), k);
});
