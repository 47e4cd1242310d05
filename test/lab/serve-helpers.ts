// Shared pieces of the `unbroken serve` lab tests: starting serve inside a lab host's
// namespace with its JSON log in the lab directory, reading the log's events, and
// scraping a role's Prometheus endpoint.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { addNetns } from '../../src/lab/lab.js';
import { sh } from '../../src/lab/netns.js';
import { writeState, type LabState } from '../../src/lab/state.js';
import { inNs } from './helpers.js';

const BIN = resolve(import.meta.dirname, '../../bin/unbroken.js');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface Served { pid: number; log: string; exited: Promise<number | null> }

/**
 * `unbroken serve --config <lab dir>/<config>` in namespace `ns`, its JSON log to
 * <lab dir>/<logName>.log; the pid is recorded in the lab state under `pidKey` so
 * `lab down` stops it whatever the test does.
 */
export function startServe(s: LabState, ns: string, config: string, logName: string, pidKey: string): Served {
  const log = join(s.dir, `${logName}.log`);
  const fd = openSync(log, 'w');
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, BIN, 'serve', '--config', join(s.dir, config)], { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  assert.ok(child.pid !== undefined);
  s.pids[pidKey] = child.pid;
  writeState(s);
  return { pid: child.pid, log, exited: new Promise((r) => child.on('exit', (code) => r(code))) };
}

/** Every JSON event serve logged so far. */
export function events(log: string): Array<Record<string, unknown>> {
  if (!existsSync(log)) return [];
  return readFileSync(log, 'utf8').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** The first event named `name`, waiting for it (bounded); the log's tail in the error. */
export async function waitEvent(p: Served, name: string, timeoutMs: number): Promise<Record<string, unknown>> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const e = events(p.log).find((x) => x.event === name);
    if (e) return e;
    await sleep(50);
  }
  throw new Error(`no ${name} in ${p.log} after ${timeoutMs} ms:\n${readFileSync(p.log, 'utf8').slice(-3000)}`);
}

/** The Prometheus text a role in namespace `ns` serves on 127.0.0.1:9464. */
export async function scrapeNs(ns: string, who: string): Promise<string> {
  const r = await inNs(ns, ['curl', '-sS', '--fail', 'http://127.0.0.1:9464/metrics'], 10_000);
  assert.equal(r.code, 0, `scrape ${who}: ${r.stderr}`);
  return r.stdout;
}

/** A sample's value from Prometheus text, the first whose labels include `labels`. */
export function metric(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-z_]+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    if (Object.entries(labels).every(([k, v]) => (m[2] ?? '').includes(`${k}="${v}"`))) return Number(m[3]);
  }
  return undefined;
}

/**
 * The hosts' LAN for a serve test: a hub (bridge with ageing 0, every port sees every
 * frame, as ST-TCP's tap needs) in its own namespace, and one namespace per role with an
 * `eth0` on it, up (and `lo` up when asked). Returns the namespace of each role.
 */
export function hubLan<R extends string>(s: LabState, roles: readonly R[], o: { loopback?: boolean } = {}): Record<R, string> {
  const lan = addNetns(s, 'lan');
  const ns = {} as Record<R, string>;
  for (const role of roles) ns[role] = addNetns(s, role);
  sh(['ip', '-n', lan, 'link', 'add', 'br0', 'type', 'bridge', 'ageing_time', '0', 'stp_state', '0']);
  sh(['ip', '-n', lan, 'link', 'set', 'br0', 'up']);
  for (const role of roles) {
    const n = ns[role];
    sh(['ip', '-n', lan, 'link', 'add', `l-${role}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', n]);
    sh(['ip', '-n', lan, 'link', 'set', `l-${role}`, 'master', 'br0', 'up']);
    sh(['ip', '-n', n, 'link', 'set', 'eth0', 'up']);
    if (o.loopback) sh(['ip', '-n', n, 'link', 'set', 'lo', 'up']);
  }
  return ns;
}

/**
 * The survivor's metrics after one takeover: counted once for `technique`, its time in
 * the histogram (returned, seconds), and the heartbeats missed from `peerIp` counted.
 */
export function assertOneTakeover(m: string, technique: string, peerIp: string): number {
  assert.equal(metric(m, 'unbroken_failovers_total', { technique, kind: 'takeover' }), 1);
  assert.equal(metric(m, 'unbroken_takeover_seconds_count', { technique }), 1);
  const takeoverS = metric(m, 'unbroken_takeover_seconds_sum', { technique })!;
  assert.ok(takeoverS > 0 && takeoverS < 5, `takeover ${takeoverS} s`);
  assert.ok((metric(m, 'unbroken_heartbeats_missed_total', { peer: peerIp }) ?? 0) >= 1, 'missed heartbeats counted');
  return takeoverS;
}

/** The survivor's log shows the failure detected and the takeover complete; returns the latter. */
export function takeoverLogged(log: string): Record<string, unknown> {
  const ev = events(log);
  const detected = ev.find((e) => e.event === 'failover.detected');
  const done = ev.find((e) => e.event === 'takeover.complete');
  assert.ok(detected && done, ev.map((e) => e.event).join(' '));
  return done;
}
