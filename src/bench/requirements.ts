// Checks a benchmark's preconditions (root, a program on PATH) and says why one is unmet.
// Detection only: nothing is installed here (.ci/run installs Debian packages).
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { BenchRequirement } from './types.js';

export interface RequirementEnv {
  isRoot: boolean;
  /** Whether an executable with this name is on PATH. */
  hasProgram(name: string): boolean;
}

export function onPath(name: string, pathVar = process.env['PATH'] ?? ''): boolean {
  for (const dir of pathVar.split(delimiter)) {
    if (dir === '') continue;
    const p = join(dir, name);
    try {
      if (!statSync(p).isFile()) continue;
      accessSync(p, constants.X_OK);
      return true;
    } catch {
      // not here
    }
  }
  return false;
}

export function realEnv(): RequirementEnv {
  return { isRoot: process.getuid?.() === 0, hasProgram: (n) => onPath(n) };
}

/** The reason the first unmet requirement blocks the benchmark, or undefined if all are met. */
export function unmetRequirement(reqs: readonly BenchRequirement[] | undefined, env: RequirementEnv): string | undefined {
  for (const r of reqs ?? []) {
    if (r === 'root') {
      if (!env.isRoot) return 'needs root (network namespaces / TAP devices)';
    } else if (!env.hasProgram(r.program)) {
      return `needs \`${r.program}\` (Debian package ${r.debianPackage}: apt-get install ${r.debianPackage})`;
    }
  }
  return undefined;
}
