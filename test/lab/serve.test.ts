// `unbroken serve --config` as an operator runs it, in network namespaces this test
// builds: a client (Linux TCP, curl) and two hosts on one LAN hub. Host A's config
// names its NIC (serve bridges a TAP to it and removes both at exit); host B's names a
// bridge that already holds its NIC (serve only adds its TAP). The primary is SIGKILLed
// mid-download: curl must finish byte-exact, and the backup's /metrics and JSON log must
// show the failover. Needs root; skips otherwise (fails under UNBROKEN_LAB=required).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
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

const skip = labSkip(['curl']);
const OUT = resolve(import.meta.dirname, '../../out');
const MB = 1_000_000;
const SIZE = 24 * MB;
const NET = {
  service: { ip: '10.202.0.100', mac: '02:00:00:00:02:64' },
  client: '10.202.0.1',
  a: { ip: '10.202.0.2', mac: '02:00:00:00:02:02' },
  b: { ip: '10.202.0.3', mac: '02:00:00:00:02:03' },
} as const;

let files: { dir: string; sha: Record<number, string> };
let s: LabState;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

before(() => {
  if (skip) return;
  files = makeFiles([SIZE]);
  s = createState('serve', { ip: NET.service.ip, port: 80 });
  const ns = hubLan(s, ['client', 'a', 'b'] as const);
  sh(['ip', '-n', ns.client, 'addr', 'add', `${NET.client}/24`, 'dev', 'eth0']);
  // Host B: the operator's own bridge with the NIC in it.
  sh(['ip', '-n', ns.b, 'link', 'add', 'br0', 'type', 'bridge', 'stp_state', '0']);
  sh(['ip', '-n', ns.b, 'link', 'set', 'eth0', 'master', 'br0']);
  sh(['ip', '-n', ns.b, 'link', 'set', 'br0', 'up']);
  const key = join(s.dir, 'sttcp.key');
  writeFileSync(key, randomBytes(32), { mode: 0o600 });
  const sttcp = (me: 'a' | 'b', iface: string): Record<string, unknown> => ({
    interface: iface,
    service: { ...NET.service, port: 80, prefixLen: 24 },
    host: NET[me],
    control: { peer: NET[me === 'a' ? 'b' : 'a'].ip },
    keyFile: 'sttcp.key',
    // The lab's tolerant liveness: this 2-core machine stalls event loops by tens of ms.
    heartbeatMs: 20, missCount: 10, leaseMs: 150, leaseMarginMs: 5,
    app: { kind: 'http', root: files.dir },
  });
  writeFileSync(join(s.dir, 'a.yaml'), toYaml({ role: 'sttcp-primary', node: 'host-a', metrics: { listen: '127.0.0.1:9464' }, sttcp: sttcp('a', 'eth0') }));
  writeFileSync(join(s.dir, 'b.json'), JSON.stringify({ role: 'sttcp-backup', node: 'host-b', log: { level: 'debug' }, metrics: { listen: '127.0.0.1:9464' }, sttcp: sttcp('b', 'br0') }, null, 2));
  writeState(s);
});

after(async () => {
  // The hosts' JSON logs stay under out/ (CI artefacts) after the lab is gone.
  if (s) for (const who of ['a', 'b']) if (existsSync(join(s.dir, `${who}.log`))) { mkdirSync(OUT, { recursive: true }); copyFileSync(join(s.dir, `${who}.log`), join(OUT, `serve-${who}.log`)); }
  if (s) await labDown(s.name);
  if (files) rmSync(files.dir, { recursive: true, force: true });
});

/** `unbroken serve --config FILE` inside the host's namespace, JSON log to <lab>/<who>.log. */
function serve(who: 'a' | 'b', config: string): Served {
  return startServe(s, s.netns[who]!, config, who, who);
}

async function scrape(who: 'a' | 'b'): Promise<string> {
  return scrapeNs(s.netns[who]!, who);
}

/** The value of one series, e.g. metric(text, 'unbroken_failovers_total', {kind: 'takeover'}). */
const links = (who: 'a' | 'b'): string => sh(['ip', '-n', s.netns[who]!, '-o', 'link', 'show']);

test('serve bridges its TAP to the named NIC and removes tap and bridge on SIGTERM', { skip, timeout: 40_000 }, async () => {
  const dev = deviceNames('host-a');
  const a = serve('a', 'a.yaml');
  await waitEvent(a, 'server.started', 15_000);
  assert.match(links('a'), new RegExp(`${dev.tap}.*master ${dev.bridge}`));
  assert.match(links('a'), new RegExp(`eth0.*master ${dev.bridge}`));
  const m = await scrape('a');
  assert.match(m, /# TYPE unbroken_failovers_total counter/);
  assert.equal(metric(m, 'unbroken_connections', { role: 'sttcp-primary' }), 0);
  process.kill(a.pid, 'SIGTERM');
  assert.equal(await a.exited, 0, readFileSync(a.log, 'utf8').slice(-2000));
  const e = events(a.log).map((x) => x.event);
  assert.ok(e.includes('server.stopping') && e.includes('server.stopped'), e.join(' '));
  assert.doesNotMatch(links('a'), new RegExp(`${dev.tap}|${dev.bridge}`));
  assert.doesNotMatch(links('a'), /eth0.*master/);
});

test('serve: primary SIGKILLed mid-download, curl completes byte-exact, the backup\'s metrics and log show the failover', { skip, timeout: 80_000 }, async () => {
  const a = serve('a', 'a.yaml');
  await waitEvent(a, 'server.started', 15_000);
  const b = serve('b', 'b.json');
  await waitEvent(b, 'server.started', 15_000);
  await waitEvent(a, 'backup.synced', 15_000);
  const out = join(s.dir, 'download.bin');
  // Rate-limited so the crash lands mid-transfer on a loaded machine.
  const curl = inNs(s.netns.client!, ['curl', '-sS', '--fail', '--limit-rate', '6M', '-o', out, `http://${NET.service.ip}/${SIZE}.bin`], 60_000);
  const until = Date.now() + 30_000;
  while (Date.now() < until && (!existsSync(out) || statSync(out).size < SIZE / 4)) await sleep(20);
  const before = await scrape('a');
  assert.equal(metric(before, 'unbroken_connections', { role: 'sttcp-primary' }), 1, 'the primary serves the download');
  const lag = metric(before, 'unbroken_replication_lag_bytes');
  assert.ok(lag !== undefined && lag >= 0 && lag <= 8 * 1024 * 1024, `replication lag ${lag} within the retention limit`);
  assert.equal(metric(before, 'unbroken_degraded'), 0, 'the primary is protected by its backup');
  assert.equal(metric(await scrape('b'), 'unbroken_connections', { role: 'sttcp-backup' }), 1, 'the backup shadows it');
  const got = existsSync(out) ? statSync(out).size : 0;
  assert.ok(got >= SIZE / 4 && got < SIZE, `crash point: ${got} bytes received`);
  process.kill(a.pid, 'SIGKILL');
  const r = await curl;
  assert.equal(r.code, 0, `curl: ${r.stderr}`);
  assert.equal(createHash('sha256').update(readFileSync(out)).digest('hex'), files.sha[SIZE]);
  const m = await scrape('b');
  const takeoverS = assertOneTakeover(m, 'sttcp', NET.a.ip);
  const done = takeoverLogged(b.log);
  assert.equal(done.connections, 1);
  assert.equal(done.node, 'host-b');
  console.log(`serve failover: takeover ${(takeoverS * 1000).toFixed(1)} ms after the last heartbeat (histogram sum), log takeoverMs ${String(done.takeoverMs)}`);
  process.kill(b.pid, 'SIGTERM');
  assert.equal(await b.exited, 0, readFileSync(b.log, 'utf8').slice(-2000));
  // Host B's own bridge stays; only serve's TAP is gone.
  assert.doesNotMatch(links('b'), new RegExp(deviceNames('host-b').tap));
  assert.match(links('b'), /eth0.*master br0/);
});
