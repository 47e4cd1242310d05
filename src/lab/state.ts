// Where a lab records what it made, so `lab down` removes exactly that and `lab down
// --all` finds every leftover of the project's labs (state files plus the unique
// namespace prefix) and nothing else.
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

export const LAB_STATE_DIR = process.env.UNBROKEN_LAB_STATE_DIR ?? '/run/unbroken/labs';
/**
 * Every namespace a lab creates is named `${LAB_PREFIX}<6 hex>-<role>`. Tests that
 * exercise `down --all` set UNBROKEN_LAB_PREFIX so they cannot touch labs of tests
 * running beside them.
 */
export const LAB_PREFIX = labPrefixFrom(process.env.UNBROKEN_LAB_PREFIX);

/**
 * The prefix from UNBROKEN_LAB_PREFIX: a letter, then 1-9 letters or digits, the trailing
 * '-' added when missing. A value that does not fit is refused (undefined) rather than
 * quietly replaced by the default, with which `down --all` would reach every default lab.
 */
export function labPrefixFrom(env: string | undefined): string | undefined {
  if (env === undefined || env === '') return 'ublab-';
  const m = /^([a-z][a-z0-9]{1,9})-?$/.exec(env);
  return m === null ? undefined : `${m[1]}-`;
}

/** One line for a user whose UNBROKEN_LAB_PREFIX cannot be used, or undefined. */
export function labPrefixProblem(): string | undefined {
  return LAB_PREFIX === undefined
    ? `UNBROKEN_LAB_PREFIX='${process.env.UNBROKEN_LAB_PREFIX}' is not a lab prefix: use a letter and 1-9 lowercase letters or digits (e.g. 'mylab'), or unset it`
    : undefined;
}
export const LAB_NAME_RE = new RegExp(`^${LAB_PREFIX ?? 'ublab-'}[0-9a-f]{6}$`);

export interface LabState {
  name: string;
  topology: string;
  netns: Record<string, string>;
  pids: Record<string, number>;
  service: { ip: string; port: number };
  /** netem-style impairment our driver applies on every TAP of the lab (kernels without netem). */
  impair?: string;
  /** Per-run directory: process logs, captures. */
  dir: string;
  createdAt: string;
}

export function stateFile(name: string): string { return join(LAB_STATE_DIR, `${name}.json`); }
export function labDir(name: string): string { return join(LAB_STATE_DIR, name); }

export function writeState(s: LabState): void {
  mkdirSync(LAB_STATE_DIR, { recursive: true });
  writeFileSync(stateFile(s.name), JSON.stringify(s, null, 2));
}

export function readState(name: string): LabState | undefined {
  try { return JSON.parse(readFileSync(stateFile(name), 'utf8')) as LabState; } catch { return undefined; }
}

export function removeState(name: string): void {
  rmSync(stateFile(name), { force: true });
  rmSync(labDir(name), { recursive: true, force: true });
}

export function listStates(): string[] {
  if (!existsSync(LAB_STATE_DIR)) return [];
  return readdirSync(LAB_STATE_DIR).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).filter((n) => LAB_NAME_RE.test(n));
}

/** The lab a namespace belongs to, when it is one of ours. */
export function labOfNetns(ns: string): string | undefined {
  if (LAB_PREFIX === undefined) return undefined;
  const m = new RegExp(`^(${LAB_PREFIX}[0-9a-f]{6})-[a-z0-9]+$`).exec(ns);
  return m?.[1];
}
