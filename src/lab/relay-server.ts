// The unmodified server an `sttcp` lab with `--app relay` runs in each ST-TCP host's
// namespace (a real redis-server by default, bound to loopback, no persistence), and the
// parsing of --relay-server / --relay-upstream. The relay itself is src/apps/relay/; the
// host process waits for this server before it reports ready.
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LabError } from './netns.js';
import type { LabState } from './state.js';

/** 'redis': redis-server on the upstream's port; 'none': something already listens; else the command line to run. */
export type RelayServerSpec = { kind: 'redis' } | { kind: 'none' } | { kind: 'command'; argv: string[] };

export interface RelayUpstream { host: string; port: number }

export const DEFAULT_RELAY_UPSTREAM: RelayUpstream = { host: '127.0.0.1', port: 6379 };

export function parseRelayServer(v: string | undefined): RelayServerSpec {
  if (v === undefined || v === 'redis') return { kind: 'redis' };
  if (v === 'none') return { kind: 'none' };
  const argv = v.trim().split(/\s+/).filter((x) => x.length > 0);
  if (argv.length === 0) throw new LabError("--relay-server: 'redis', 'none' or a command line");
  return { kind: 'command', argv };
}

/** HOST:PORT or PORT (on 127.0.0.1). The relay must stay on the host: each host relays to its own copy. */
export function parseRelayUpstream(v: string | undefined): RelayUpstream {
  if (v === undefined) return { ...DEFAULT_RELAY_UPSTREAM };
  const m = /^(?:(\d+\.\d+\.\d+\.\d+):)?(\d+)$/.exec(v.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || !Number.isInteger(port) || port < 1 || port > 65535) throw new LabError(`--relay-upstream: HOST:PORT or PORT, not '${v}'`);
  const host = m[1] ?? '127.0.0.1';
  if (!host.startsWith('127.')) throw new LabError(`--relay-upstream: a loopback address (127.x.x.x): each host relays to its own copy of the server, not '${host}'`);
  return { host, port };
}

/** The redis-server command line: loopback only, no RDB snapshots, no AOF (nothing persists between labs). */
export function redisArgv(up: RelayUpstream, dir: string): string[] {
  return ['redis-server', '--bind', up.host, '--port', String(up.port), '--save', '', '--appendonly', 'no',
    '--protected-mode', 'no', '--daemonize', 'no', '--dir', dir, '--logfile', ''];
}

/**
 * Starts the relayed server in `ns` (detached: it outlives `lab up`; `lab down` stops it
 * with everything else in the namespace), logging to <lab dir>/<role>-server.log.
 * Returns its pid, or undefined for 'none'. Readiness is the host process's check.
 */
export function startRelayServer(s: LabState, role: string, ns: string, spec: RelayServerSpec, up: RelayUpstream): number | undefined {
  if (spec.kind === 'none') return undefined;
  const dir = join(s.dir, `${role}-server`);
  mkdirSync(dir, { recursive: true });
  const argv = spec.kind === 'redis' ? redisArgv(up, dir) : spec.argv;
  const fd = openSync(join(s.dir, `${role}-server.log`), 'a');
  const child = spawn('ip', ['netns', 'exec', ns, ...argv], { detached: true, stdio: ['ignore', fd, fd], cwd: dir });
  closeSync(fd);
  child.on('error', () => { /* reported by the host process: the upstream never accepts */ });
  child.unref();
  if (child.pid === undefined) throw new LabError(`could not start the ${role}'s relayed server (${argv[0]})`);
  writeFileSync(join(s.dir, `${role}-server.pid`), String(child.pid));
  return child.pid;
}
