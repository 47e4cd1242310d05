// `unbroken serve --config` with role splicer, as an operator runs it, in network
// namespaces this test builds: a client (Linux TCP, curl), a kernel HTTP back end
// (python3 -m http.server) and splicer hosts on one LAN bridge. A solo splicer (its
// config names its NIC: serve bridges a TAP to it and removes both at exit) splices
// curl's download byte-exact and shows it on /metrics; an active/standby pair survives
// a SIGKILL of the active splicer mid-download. Needs root; skips otherwise (fails under
// UNBROKEN_LAB=required).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { stringify as toYaml } from 'yaml';
import { labSkip } from '../../src/lab/prerequisites.js';
import { createState, labDown } from '../../src/lab/lab.js';
import { sh } from '../../src/lab/netns.js';
import { writeState, type LabState } from '../../src/lab/state.js';
import { deviceNames } from '../../src/serve/net.js';
import { assertOneTakeover, hubLan, startServe, takeoverLogged, events, waitEvent, type Served, scrapeNs, metric } from './serve-helpers.js';
import { inNs, makeFiles } from './helpers.js';

const skip = labSkip(['curl', 'python3']);
const OUT = resolve(import.meta.dirname, '../../out');
const MB = 1_000_000;
const SIZE = 6 * MB;
const NET = {
  service: { ip: '10.203.0.100', mac: '02:00:00:00:03:64' },
  client: '10.203.0.1',
  web: '10.203.0.11',
  a: { ip: '10.203.0.2', mac: '02:00:00:00:03:02' },
  b: { ip: '10.203.0.3', mac: '02:00:00:00:03:03' },
} as const;
const WEB_PORT = 8080;
type Who = 'a' | 'b';

let files: { dir: string; sha: Record<number, string> };
let s: LabState;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

before(async () => {
  if (skip) return;
  files = makeFiles([SIZE]);
  s = createState('svsplice', { ip: NET.service.ip, port: 80 });
  const ns = hubLan(s, ['client', 'web', 'a', 'b'] as const, { loopback: true });
  sh(['ip', '-n', ns.client, 'addr', 'add', `${NET.client}/24`, 'dev', 'eth0']);
  sh(['ip', '-n', ns.web, 'addr', 'add', `${NET.web}/24`, 'dev', 'eth0']);
  // The back end: an ordinary kernel HTTP server, unaware of the splicer.
  const fd = openSync(join(s.dir, 'web.log'), 'w');
  const web = spawn('ip', ['netns', 'exec', ns.web, 'python3', '-m', 'http.server', '--bind', NET.web, '--directory', files.dir, String(WEB_PORT)], { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  s.pids.web = web.pid!;
  writeState(s);
  const until = Date.now() + 15_000;
  while ((await inNs(ns.web, ['curl', '-sS', '-o', '/dev/null', `http://${NET.web}:${WEB_PORT}/`], 5_000)).code !== 0) {
    assert.ok(Date.now() < until, 'the python3 back end did not start');
    await sleep(100);
  }
  const key = join(s.dir, 'craft.key');
  writeFileSync(key, randomBytes(32), { mode: 0o600 });
  const splicer = (me: Who, peer: boolean): Record<string, unknown> => ({
    interface: 'eth0',
    service: { ...NET.service, port: 80, prefixLen: 24 },
    control: {
      listen: `${NET[me].ip}:7500`,
      ...(peer ? { mac: NET[me].mac, peers: [`${NET[me === 'a' ? 'b' : 'a'].ip}:7500`], startAs: me === 'a' ? 'active' : 'standby' } : {}),
    },
    keyFile: 'craft.key',
    // Tolerant liveness: this 2-core machine stalls event loops by tens of ms.
    heartbeatMs: 20, missCount: 10,
    backends: [{ name: 'web1', ip: NET.web, port: WEB_PORT }],
    health: { intervalMs: 200, timeoutMs: 1500 },
  });
  const common = (me: Who): Record<string, unknown> => ({ role: 'splicer', node: `splicer-${me}`, log: { level: 'debug' }, metrics: { listen: '127.0.0.1:9464' } });
  writeFileSync(join(s.dir, 'solo.yaml'), toYaml({ ...common('a'), splicer: splicer('a', false) }));
  writeFileSync(join(s.dir, 'a.yaml'), toYaml({ ...common('a'), splicer: splicer('a', true) }));
  writeFileSync(join(s.dir, 'b.json'), JSON.stringify({ ...common('b'), splicer: splicer('b', true) }, null, 2));
});

after(async () => {
  // The splicers' JSON logs stay under out/ (CI artefacts) after the lab is gone.
  if (s) {
    for (const f of ['solo', 'a', 'b']) {
      if (existsSync(join(s.dir, `${f}.log`))) { mkdirSync(OUT, { recursive: true }); copyFileSync(join(s.dir, `${f}.log`), join(OUT, `serve-splicer-${f}.log`)); }
    }
    await labDown(s.name);
  }
  if (files) rmSync(files.dir, { recursive: true, force: true });
});

/** `unbroken serve --config FILE` inside a splicer host's namespace, JSON log to <lab>/<logName>.log. */
function serve(who: Who, config: string, logName: string): Served {
  return startServe(s, s.netns[who]!, config, logName, who);
}

async function scrape(who: Who): Promise<string> {
  return scrapeNs(s.netns[who]!, who);
}

/** The value of one series, e.g. metric(text, 'unbroken_failovers_total', {kind: 'takeover'}). */
const links = (who: Who): string => sh(['ip', '-n', s.netns[who]!, '-o', 'link', 'show']);

/** curl of the test file through the service address, rate-limited so a scrape or a crash lands mid-transfer. */
function download(out: string, rate: string): ReturnType<typeof inNs> {
  return inNs(s.netns.client!, ['curl', '-sS', '--fail', '--limit-rate', rate, '-o', out, `http://${NET.service.ip}/${SIZE}.bin`], 60_000);
}

async function waitBytes(out: string, n: number): Promise<number> {
  const until = Date.now() + 20_000;
  while (Date.now() < until && (!existsSync(out) || statSync(out).size < n)) await sleep(20);
  return existsSync(out) ? statSync(out).size : 0;
}

const sha = (f: string): string => createHash('sha256').update(readFileSync(f)).digest('hex');

test('serve splicer (solo): curl through it byte-exact, /metrics counts the splice, TAP and bridge removed on SIGTERM', { skip, timeout: 40_000 }, async () => {
  const dev = deviceNames('splicer-a');
  const a = serve('a', 'solo.yaml', 'solo');
  const started = await waitEvent(a, 'server.started', 15_000);
  assert.equal(started.mode, 'solo');
  assert.match(links('a'), new RegExp(`${dev.tap}.*master ${dev.bridge}`));
  assert.match(links('a'), new RegExp(`eth0.*master ${dev.bridge}`));
  const m0 = await scrape('a');
  assert.equal(metric(m0, 'unbroken_splices'), 0);
  const out = join(s.dir, 'solo.bin');
  const curl = download(out, '3M');
  const got = await waitBytes(out, SIZE / 4);
  assert.ok(got >= SIZE / 4 && got < SIZE, `mid-download: ${got} bytes`);
  const mid = await scrape('a');
  assert.equal(metric(mid, 'unbroken_splices'), 1, 'the splicer holds the download\'s splice');
  assert.equal(metric(mid, 'unbroken_connections', { role: 'splicer' }), 1);
  const r = await curl;
  assert.equal(r.code, 0, `curl: ${r.stderr}`);
  assert.equal(sha(out), files.sha[SIZE]);
  const m1 = await scrape('a');
  assert.equal(metric(m1, 'unbroken_stack_events_total', { host: 'splicer-a-splicer', counter: 'spliced' }), 1, 'one splice made');
  const created = events(a.log).filter((e) => e.event === 'splice.created');
  assert.equal(created.length, 1);
  assert.equal(created[0]!.backend, 'web1');
  assert.equal(created[0]!.backendAddress, `${NET.web}:${WEB_PORT}`);
  process.kill(a.pid, 'SIGTERM');
  assert.equal(await a.exited, 0, readFileSync(a.log, 'utf8').slice(-2000));
  assert.ok(events(a.log).some((e) => e.event === 'server.stopped'));
  assert.doesNotMatch(links('a'), new RegExp(`${dev.tap}|${dev.bridge}`));
  assert.doesNotMatch(links('a'), /eth0.*master/);
});

test('serve splicer pair: active SIGKILLed mid-download, curl completes byte-exact, the standby\'s metrics and log show the takeover', { skip, timeout: 60_000 }, async () => {
  const a = serve('a', 'a.yaml', 'a');
  await waitEvent(a, 'server.started', 15_000);
  const b = serve('b', 'b.json', 'b');
  await waitEvent(b, 'server.started', 15_000);
  await waitEvent(a, 'peer.up', 15_000);
  await waitEvent(b, 'peer.up', 15_000);
  const out = join(s.dir, 'pair.bin');
  const curl = download(out, '2M');
  const got = await waitBytes(out, SIZE / 4);
  assert.ok(got >= SIZE / 4 && got < SIZE, `crash point: ${got} bytes received`);
  assert.equal(metric(await scrape('a'), 'unbroken_splices'), 1, 'the active splicer holds the splice');
  assert.equal(metric(await scrape('b'), 'unbroken_splices'), 1, 'the standby holds its replica');
  process.kill(a.pid, 'SIGKILL');
  const r = await curl;
  assert.equal(r.code, 0, `curl: ${r.stderr}`);
  assert.equal(sha(out), files.sha[SIZE]);
  const m = await scrape('b');
  const takeoverS = assertOneTakeover(m, 'craft', NET.a.ip);
  const done = takeoverLogged(b.log);
  assert.equal(done.splices, 1);
  assert.equal(done.node, 'splicer-b');
  console.log(`serve splicer failover: takeover ${(takeoverS * 1000).toFixed(1)} ms after the active splicer was last heard (histogram sum), log takeoverMs ${String(done.takeoverMs)}`);
  process.kill(b.pid, 'SIGTERM');
  assert.equal(await b.exited, 0, readFileSync(b.log, 'utf8').slice(-2000));
  assert.doesNotMatch(links('b'), new RegExp(deviceNames('splicer-b').tap));
});
