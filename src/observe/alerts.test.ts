// The example Prometheus alert rules only name metrics the project exports.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { METRIC_DOCS } from './metrics.js';

test('alert rules parse and reference only documented metrics', () => {
  const file = resolve(import.meta.dirname, '../../examples/prometheus/unbroken-alerts.yaml');
  const doc = parseYaml(readFileSync(file, 'utf8')) as { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> };
  const known = new Set(Object.values(METRIC_DOCS).flatMap((m) => m.type === 'histogram' ? [`${m.name}_bucket`, `${m.name}_sum`, `${m.name}_count`] : [m.name]));
  const rules = doc.groups.flatMap((g) => g.rules);
  assert.ok(rules.length >= 5);
  for (const r of rules) {
    const names = r.expr.match(/\bunbroken_[a-z_]+/g) ?? [];
    assert.ok(names.length > 0, `${r.alert} names no unbroken metric`);
    for (const n of names) assert.ok(known.has(n), `${r.alert}: ${n} is not an exported metric`);
  }
});
