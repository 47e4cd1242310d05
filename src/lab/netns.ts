// Thin, synchronous wrappers over iproute2/tc/sysctl for building labs, with errors
// that name the command that failed and its stderr. Only ever applied to namespaces
// and devices a lab created itself (names carry the lab's unique prefix).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export class LabError extends Error {
  constructor(message: string) { super(message); this.name = 'LabError'; }
}

/** Runs a command; throws LabError with the command and its stderr on failure. */
export function sh(argv: string[], input?: string): string {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', input, timeout: 30_000 });
  if (r.error !== undefined) {
    const code = (r.error as NodeJS.ErrnoException).code;
    throw new LabError(code === 'ENOENT' ? `${argv[0]} not found: install it (Debian: iproute2)` : `${argv.join(' ')}: ${r.error.message}`);
  }
  if (r.status !== 0) throw new LabError(`${argv.join(' ')} failed: ${(r.stderr || r.stdout).trim().split('\n')[0]}`);
  return r.stdout;
}

/** Runs `argv` inside namespace `ns`. */
export function nsExec(ns: string, argv: string[]): string {
  requireNetns(ns);
  return sh(['ip', 'netns', 'exec', ns, ...argv]);
}

export function netnsExists(ns: string): boolean { return existsSync(`/run/netns/${ns}`); }

export function requireNetns(ns: string): void {
  if (!netnsExists(ns)) throw new LabError(`network namespace '${ns}' does not exist: create it (unbroken lab up) or check the name (ip netns list)`);
}

export function listNetns(): string[] {
  const out = sh(['ip', 'netns', 'list']);
  return out.split('\n').map((l) => l.trim().split(' ')[0]).filter((s) => s !== '');
}

/** Pids of processes whose network namespace is `ns`. */
export function netnsPids(ns: string): number[] {
  if (!netnsExists(ns)) return [];
  const r = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' });
  return (r.stdout ?? '').split('\n').map((s) => Number(s.trim())).filter((n) => Number.isInteger(n) && n > 0);
}

export function deleteNetns(ns: string): void {
  if (netnsExists(ns)) spawnSync('ip', ['netns', 'del', ns]);
}

/** Checks the prerequisites of `lab up` and says what to do when one is missing. */
export function checkLabHost(): void {
  if (process.getuid?.() !== 0) throw new LabError('unbroken lab needs root (network namespaces, TAP devices, bridges): run it with sudo');
  if (!existsSync('/dev/net/tun')) throw new LabError('no /dev/net/tun: load the tun module (modprobe tun)');
  try { execFileSync('ip', ['-V'], { stdio: 'ignore' }); } catch { throw new LabError('ip (iproute2) is not installed: apt-get install iproute2'); }
}
