// `unbroken serve --config` with role backend (the CRAFT split-splice back-end module)
// behind a solo splicer, both as an operator runs them, in network namespaces this test
// builds: a client (Linux TCP, curl), a splicer host and a back-end host on one LAN bridge.
// The back end serves files with the built-in http app on our stack; the splicer marks it
// splitSplice, so after the splice the back end sends its data segments straight to the
// client. curl's download must be byte-exact, and the counters must show the return
// traffic bypassing the splicer. Then behind an active/standby splicer pair, the active
// splicer is SIGKILLed mid-download and the download still completes byte-exact. Needs
// root; skips otherwise (fails under UNBROKEN_LAB=required).
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
import { hubLan, startServe, events, waitEvent, type Served, scrapeNs, metric } from './serve-helpers.js';
import { inNs, makeFiles } from './helpers.js';

const skip = labSkip(['curl']);
const OUT = resolve(import.meta.dirname, '../../out');
const SIZE = 4_000_000;
const NET = {
  service: { ip: '10.204.0.100', mac: '02:00:00:00:04:64' },
  client: '10.204.0.1',
  splicer: '10.204.0.2',
  a: { ip: '10.204.0.2', mac: '02:00:00:00:04:02' },
  b: { ip: '10.204.0.3', mac: '02:00:00:00:04:03' },
  web: { ip: '10.204.0.11', mac: '02:00:00:00:04:0b' },
} as const;
const WEB_PORT = 8080;
type Who = 'splicer' | 'web' | 'b';

let files: { dir: string; sha: Record<number, string> };
let s: LabState;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

before(() => {
  if (skip) return;
  files = makeFiles([SIZE]);
  s = createState('svbackend', { ip: NET.service.ip, port: 80 });
  const ns = hubLan(s, ['client', 'splicer', 'b', 'web'] as const);
  sh(['ip', '-n', ns.client, 'addr', 'add', `${NET.client}/24`, 'dev', 'eth0']);
  // One key: the splicer seals each splice's state with it, the back end opens it.
  writeFileSync(join(s.dir, 'craft.key'), randomBytes(32), { mode: 0o600 });
  const metrics = { listen: '127.0.0.1:9464' };
  const splicer = (node: string, control: Record<string, unknown>): string => toYaml({
    role: 'splicer', node, log: { level: 'debug' }, metrics,
    splicer: {
      interface: 'eth0', service: { ...NET.service, port: 80, prefixLen: 24 }, control,
      keyFile: 'craft.key',
      // Tolerant liveness: this 2-core machine stalls event loops by tens of ms.
      heartbeatMs: 20, missCount: 10,
      backends: [{ name: 'web1', ip: NET.web.ip, port: WEB_PORT, splitSplice: true }],
      health: { intervalMs: 200, timeoutMs: 1500 },
    },
  });
  writeFileSync(join(s.dir, 'splicer.yaml'), splicer('splicer-1', { listen: `${NET.splicer}:7500` }));
  // The pair: splicer-a active in the splicer namespace, splicer-b standby in b.
  writeFileSync(join(s.dir, 'pair-a.yaml'), splicer('splicer-a', { listen: `${NET.a.ip}:7500`, mac: NET.a.mac, peers: [`${NET.b.ip}:7500`], startAs: 'active' }));
  writeFileSync(join(s.dir, 'pair-b.yaml'), splicer('splicer-b', { listen: `${NET.b.ip}:7500`, mac: NET.b.mac, peers: [`${NET.a.ip}:7500`], startAs: 'standby' }));
  writeFileSync(join(s.dir, 'web.yaml'), toYaml({
    role: 'backend', node: 'web1', log: { level: 'debug' }, metrics,
    backend: {
      interface: 'eth0', address: { ...NET.web, port: WEB_PORT, prefixLen: 24 },
      splicers: [NET.service.ip], keyFile: 'craft.key',
      app: { kind: 'http', root: files.dir },
    },
  }));
  writeState(s);
});

after(async () => {
  // The JSON logs stay under out/ (CI artefacts) after the lab is gone.
  if (s) {
    for (const f of ['splicer', 'web', 'pair-a', 'pair-b', 'web-pair']) {
      if (existsSync(join(s.dir, `${f}.log`))) { mkdirSync(OUT, { recursive: true }); copyFileSync(join(s.dir, `${f}.log`), join(OUT, `serve-backend-${f}.log`)); }
    }
    await labDown(s.name);
  }
  if (files) rmSync(files.dir, { recursive: true, force: true });
});

function serve(who: Who, config = `${who}.yaml`, logName: string = who): Served {
  return startServe(s, s.netns[who]!, config, logName, logName);
}

async function scrape(who: Who): Promise<string> {
  return scrapeNs(s.netns[who]!, who);
}

test('serve backend (split splice) behind serve splicer: curl byte-exact, the back end\'s data goes straight to the client', { skip, timeout: 60_000 }, async () => {
  const web = serve('web');
  const started = await waitEvent(web, 'server.started', 15_000);
  assert.equal(started.splitSplice, true);
  const splicer = serve('splicer');
  await waitEvent(splicer, 'server.started', 15_000);
  const out = join(s.dir, 'download.bin');
  const r = await inNs(s.netns.client!, ['curl', '-sS', '--fail', '-o', out, `http://${NET.service.ip}/${SIZE}.bin`], 40_000);
  assert.equal(r.code, 0, `curl: ${r.stderr}`);
  assert.equal(createHash('sha256').update(readFileSync(out)).digest('hex'), files.sha[SIZE], 'byte-exact');
  const created = events(splicer.log).filter((e) => e.event === 'splice.created');
  assert.equal(created.length, 1);
  assert.equal(created[0]!.backend, 'web1');
  assert.equal(created[0]!.split, true);
  const sm = await scrape('splicer');
  const wm = await scrape('web');
  const splitStarted = metric(sm, 'unbroken_stack_events_total', { host: 'splicer-1-splicer', counter: 'split-started' });
  const viaSplicer = metric(sm, 'unbroken_stack_events_total', { host: 'splicer-1-splicer', counter: 'forward-b2c' }) ?? 0;
  const installed = metric(wm, 'unbroken_stack_events_total', { host: 'web1-split', counter: 'split-installed' });
  const direct = metric(wm, 'unbroken_stack_events_total', { host: 'web1-split', counter: 'split-rewritten' }) ?? 0;
  assert.equal(splitStarted, 1, 'the splicer sent the splice state');
  assert.equal(installed, 1, 'the back end accepted it (sealed with the key, from the service address)');
  console.log(`serve split splice: back-end segments straight to the client ${direct}, through the splicer ${viaSplicer}`);
  // 4 MB is ~2,700 full segments; those before the state arrived and the FIN go via the splicer.
  assert.ok(direct > 10 * viaSplicer, `most return traffic bypasses the splicer (${direct} direct, ${viaSplicer} via)`);
  assert.equal(metric(wm, 'unbroken_control_rejected_total'), undefined, 'no split-splice message rejected');
  for (const [p, who] of [[web, 'web'], [splicer, 'splicer']] as const) {
    process.kill(p.pid, 'SIGTERM');
    assert.equal(await p.exited, 0, readFileSync(p.log, 'utf8').slice(-2000));
    assert.doesNotMatch(sh(['ip', '-n', s.netns[who]!, '-o', 'link', 'show']), new RegExp(deviceNames(who === 'web' ? 'web1' : 'splicer-1').tap));
  }
  const final = events(web.log).find((e) => e.event === 'node.final');
  assert.ok(final, 'the back end logged its final counters');
});

test('serve backend behind a serve splicer pair: the active splicer SIGKILLed mid-download, curl completes byte-exact', { skip, timeout: 60_000 }, async () => {
  const web = serve('web', 'web.yaml', 'web-pair');
  await waitEvent(web, 'server.started', 15_000);
  const a = serve('splicer', 'pair-a.yaml', 'pair-a');
  await waitEvent(a, 'server.started', 15_000);
  const b = serve('b', 'pair-b.yaml', 'pair-b');
  await waitEvent(b, 'server.started', 15_000);
  await waitEvent(a, 'peer.up', 15_000);
  await waitEvent(b, 'peer.up', 15_000);
  const out = join(s.dir, 'pair.bin');
  // Rate-limited so the crash lands mid-transfer.
  const curl = inNs(s.netns.client!, ['curl', '-sS', '--fail', '--limit-rate', '1M', '-o', out, `http://${NET.service.ip}/${SIZE}.bin`], 45_000);
  const until = Date.now() + 20_000;
  while (Date.now() < until && (!existsSync(out) || statSync(out).size < SIZE / 4)) await sleep(20);
  const got = existsSync(out) ? statSync(out).size : 0;
  assert.ok(got >= SIZE / 4 && got < SIZE, `crash point: ${got} bytes received`);
  process.kill(a.pid, 'SIGKILL');
  const r = await curl;
  assert.equal(r.code, 0, `curl: ${r.stderr}`);
  assert.equal(createHash('sha256').update(readFileSync(out)).digest('hex'), files.sha[SIZE], 'byte-exact across the splicer crash');
  const done = await waitEvent(b, 'takeover.complete', 5_000);
  assert.equal(done.splices, 1, 'the standby took over the split splice');
  const wm = await scrape('web');
  const direct = metric(wm, 'unbroken_stack_events_total', { host: 'web1-split', counter: 'split-rewritten' }) ?? 0;
  console.log(`serve split splice across a splicer crash: takeoverMs ${String(done.takeoverMs)}, back-end segments straight to the client ${direct}`);
  assert.ok(direct > 1000, `the back end kept answering the client directly (${direct} segments)`);
  for (const p of [web, b]) {
    process.kill(p.pid, 'SIGTERM');
    assert.equal(await p.exited, 0, readFileSync(p.log, 'utf8').slice(-2000));
  }
});
