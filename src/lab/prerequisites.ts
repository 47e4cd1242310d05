// Whether this machine can run lab tests (root, /dev/net/tun, iproute2), and the
// skip-or-fail rule: tests skip with the reason, unless UNBROKEN_LAB=required (CI),
// in which case a missing prerequisite is a failure.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Why lab tests cannot run here, or undefined when they can. */
export function labUnavailableReason(tools: string[] = []): string | undefined {
  if (process.platform !== 'linux') return 'lab tests need Linux';
  if (process.getuid?.() !== 0) return 'lab tests need root (network namespaces, TAP devices, bridges)';
  if (!existsSync('/dev/net/tun')) return 'no /dev/net/tun (modprobe tun)';
  for (const t of ['ip', ...tools]) {
    try { execFileSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' }); } catch { return `${t} is not installed (see .ci/debian-packages)`; }
  }
  return undefined;
}

/**
 * For node:test: returns a skip message when the lab is unavailable, throws when it is
 * unavailable but UNBROKEN_LAB=required, and returns undefined when tests should run.
 */
export function labSkip(tools: string[] = []): string | undefined {
  const why = labUnavailableReason(tools);
  if (why === undefined) return undefined;
  if (process.env.UNBROKEN_LAB === 'required') throw new Error(`UNBROKEN_LAB=required but ${why}`);
  return `${why}; set UNBROKEN_LAB=required to make this a failure`;
}
