// The generated reference covers every field the examples use, and every field has a type and a meaning.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { configReference, referenceRows } from './reference.js';
import { COMMON_FIELDS, SECTIONS } from './schema.js';
import type { Field } from './validate.js';

const EXAMPLES = resolve(import.meta.dirname, '../../examples');

function keyPaths(v: unknown, path: string): string[] {
  if (Array.isArray(v)) return v.flatMap((x) => (typeof x === 'object' && x !== null ? keyPaths(x, `${path}[]`) : []));
  if (typeof v !== 'object' || v === null) return [];
  return Object.entries(v).flatMap(([k, x]) => {
    const p = path ? `${path}.${k}` : k;
    return [p, ...keyPaths(x, p)];
  });
}

test('every field has a type and a meaning', () => {
  const rows = [...Object.entries(COMMON_FIELDS).flatMap(([k, f]) => referenceRows(f as Field<unknown>, k)),
    ...Object.entries(SECTIONS).flatMap(([k, f]) => referenceRows(f as Field<unknown>, k))];
  assert.ok(rows.length > 80, `${rows.length} rows`);
  for (const r of rows) {
    assert.ok(r.type.length > 0, `${r.path} has no type`);
    assert.ok(r.doc.length > 5, `${r.path} has no meaning`);
  }
});

test('every key the examples use is in the reference', () => {
  const ref = configReference();
  for (const f of exampleConfigs()) {
    const data = parseYaml(readFileSync(join(EXAMPLES, f), 'utf8'));
    for (const p of keyPaths(data, '')) assert.ok(ref.includes(`| \`${p}\` |`), `${f}: ${p} missing from the reference`);
  }
  for (const s of Object.keys(SECTIONS)) assert.ok(ref.includes(`## \`${s}\``));
});

/** The serve configs under examples/ (subdirectories hold other things, e.g. Prometheus rules). */
function exampleConfigs(): string[] {
  return readdirSync(EXAMPLES, { withFileTypes: true }).filter((d) => d.isFile() && /\.(ya?ml|json)$/.test(d.name)).map((d) => d.name);
}
