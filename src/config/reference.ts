// The config file reference, generated from the schema itself so the docs cannot drift:
// one Markdown table per section with path, type, default and meaning. Printed by
// `unbroken config reference`; the schema is schema.ts.
import type { Field } from './validate.js';
import { COMMON_FIELDS, ROLES, SECTIONS, SECTION_OF } from './schema.js';

export interface ReferenceRow { path: string; type: string; default: string; doc: string }

/** Rows for every field under `f`, depth first, in schema order. */
export function referenceRows(f: Field<unknown>, path: string): ReferenceRow[] {
  const rows: ReferenceRow[] = [];
  if (path) {
    rows.push({
      path,
      type: f.type ?? '',
      default: f.fallback ? JSON.stringify(f.fallback()) : f.optional ? '(optional)' : '(required)',
      doc: f.doc,
    });
  }
  if (f.shape) for (const [k, sub] of Object.entries(f.shape)) rows.push(...referenceRows(sub, path ? `${path}.${k}` : k));
  if (f.item?.shape) for (const [k, sub] of Object.entries(f.item.shape)) rows.push(...referenceRows(sub, `${path}[].${k}`));
  if (f.variants) {
    rows.push({ path: `${path}.kind`, type: Object.keys(f.variants).join(' | '), default: '(required)', doc: 'which of the variants below' });
    for (const [kind, v] of Object.entries(f.variants)) {
      for (const [k, sub] of Object.entries(v.shape ?? {})) {
        if (k === 'kind') continue;
        rows.push(...referenceRows(sub, `${path}.${k}`).map((r) => ({ ...r, doc: `(kind ${kind}) ${r.doc}` })));
      }
    }
  }
  return rows;
}

function table(rows: ReferenceRow[]): string {
  const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  return ['| field | type | default | meaning |', '|---|---|---|---|',
    ...rows.map((r) => `| \`${cell(r.path)}\` | ${cell(r.type)} | ${cell(r.default)} | ${cell(r.doc)} |`)].join('\n');
}

/** The whole reference as Markdown. */
export function configReference(): string {
  const out: string[] = ['# `unbroken serve` configuration reference', '',
    'Generated from the schema (`unbroken config reference`). A file is JSON or YAML: `role`, the common settings, and the section of its role. Check one with `unbroken config check FILE`.', '',
    '## Common settings', '', table(Object.entries(COMMON_FIELDS).flatMap(([k, f]) => referenceRows(f as Field<unknown>, k)))];
  for (const [section, f] of Object.entries(SECTIONS)) {
    const roles = ROLES.filter((r) => SECTION_OF[r] === section);
    out.push('', `## \`${section}\` — role${roles.length > 1 ? 's' : ''} ${roles.join(', ')}`, '', table(referenceRows(f as Field<unknown>, section)));
  }
  return out.join('\n') + '\n';
}
