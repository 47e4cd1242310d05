// `unbroken serve --config` with ST-TCP roles and `app: {kind: relay}`: each host relays
// its connections to its own unmodified redis-server on loopback, in network namespaces
// this test builds (a client and two hosts on one LAN bridge). A redis-cli INCR stream
// spans a SIGKILL of the primary: every reply arrives exactly once and in order. The
// crashed host then comes back as the backup, and the new primary refuses its join (the
// relayed server's state cannot be copied to it) and says so in its JSON log; the
// restarted serve first removes the TAP and bridge its killed predecessor left. Needs root
// and redis; skips otherwise (fails under UNBROKEN_LAB=required).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { stringify as toYaml } from 'yaml';
import { labSkip } from '../../src/lab/prerequisites.js';
import { createState, labDown } from '../../src/lab/lab.js';
import { sh } from '../../src/lab/netns.js';
import { writeState, type LabState } from '../../src/lab/state.js';
import { deviceNames } from '../../src/serve/net.js';
import { hubLan, startServe, events, waitEvent, type Served } from './serve-helpers.js';
import { inNs } from './helpers.js';

const skip = labSkip(['redis-server', 'redis-cli']);
const OUT = resolve(import.meta.dirname, '../../out');
const NET = {
  service: { ip: '10.205.0.100', mac: '02:00:00:00:05:64' },
  client: '10.205.0.1',
  a: { ip: '10.205.0.2', mac: '02:00:00:00:05:02' },
  b: { ip: '10.205.0.3', mac: '02:00:00:00:05:03' },
} as const;
const PORT = 6379;
const ROUNDS = 150;
type Who = 'a' | 'b';

let s: LabState;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

before(async () => {
  if (skip) return;
  s = createState('svrelay', { ip: NET.service.ip, port: PORT });
  const ns = hubLan(s, ['client', 'a', 'b'] as const);
  sh(['ip', '-n', ns.client, 'addr', 'add', `${NET.client}/24`, 'dev', 'eth0']);
  // Each host's own copy of the unmodified server, on its loopback.
  for (const who of ['a', 'b'] as const) {
    const fd = openSync(join(s.dir, `redis-${who}.log`), 'w');
    const p = spawn('ip', ['netns', 'exec', ns[who], 'redis-server', '--bind', '127.0.0.1', '--port', String(PORT), '--save', '', '--appendonly', 'no', '--dir', s.dir],
      { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    s.pids[`redis-${who}`] = p.pid!;
  }
  writeState(s);
  writeFileSync(join(s.dir, 'sttcp.key'), randomBytes(32), { mode: 0o600 });
  const config = (me: Who, role: 'sttcp-primary' | 'sttcp-backup'): string => toYaml({
    role, node: `host-${me}`, log: { level: 'debug' },
    sttcp: {
      interface: 'eth0', service: { ...NET.service, port: PORT, prefixLen: 24 }, host: NET[me],
      control: { peer: NET[me === 'a' ? 'b' : 'a'].ip }, keyFile: 'sttcp.key',
      // More tolerant than the lab's liveness: on this shared 2-core machine both hosts can
      // stall for 200 ms at once, and a failover the test did not cause is not the one it checks.
      heartbeatMs: 20, missCount: 30, leaseMs: 450, leaseMarginMs: 5,
      app: { kind: 'relay', target: `127.0.0.1:${PORT}` },
    },
  });
  writeFileSync(join(s.dir, 'a.yaml'), config('a', 'sttcp-primary'));
  writeFileSync(join(s.dir, 'b.yaml'), config('b', 'sttcp-backup'));
  writeFileSync(join(s.dir, 'a-again.yaml'), config('a', 'sttcp-backup'));
});

after(async () => {
  if (s) {
    for (const f of ['a', 'b', 'a-again']) if (existsSync(join(s.dir, `${f}.log`))) { mkdirSync(OUT, { recursive: true }); copyFileSync(join(s.dir, `${f}.log`), join(OUT, `serve-relay-${f}.log`)); }
    await labDown(s.name);
  }
});

function serve(who: Who, config: string): Served {
  const name = config.replace(/\.yaml$/, '');
  return startServe(s, s.netns[who]!, config, name, name);
}

test('serve sttcp with app relay: a redis INCR stream survives a primary SIGKILL exactly once; the returning host\'s join is refused', { skip, timeout: 60_000 }, async () => {
  const a = serve('a', 'a.yaml');
  const started = await waitEvent(a, 'server.started', 20_000);
  assert.equal(started.app, `relay to 127.0.0.1:${PORT}`);
  const b = serve('b', 'b.yaml');
  await waitEvent(b, 'server.started', 20_000);
  await waitEvent(a, 'backup.synced', 15_000);
  // One connection, one INCR every 20 ms: the stream spans the crash.
  const stream = inNs(s.netns.client!, ['sh', '-c',
    `i=1; while [ $i -le ${ROUNDS} ]; do echo "INCR ctr"; i=$((i+1)); sleep 0.02; done | redis-cli -h ${NET.service.ip} -p ${PORT}`], 40_000);
  await sleep(1200);
  assert.deepEqual(events(b.log).filter((e) => e.event === 'failover.detected'), [], 'no failover before the crash');
  process.kill(a.pid, 'SIGKILL');
  await a.exited;
  const out = await stream;
  assert.equal(out.code, 0, out.stderr);
  assert.equal(out.stdout.trim(), Array.from({ length: ROUNDS }, (_, j) => String(j + 1)).join('\n'), 'every reply exactly once, in order');
  const done = await waitEvent(b, 'takeover.complete', 5_000);
  assert.ok(Number(done.connections) >= 1, `took over ${String(done.connections)} connection(s)`);
  assert.deepEqual(events(b.log).filter((e) => e.event === 'relay.failed'), [], 'the relay never lost its server');
  // Host A comes back as the backup: the new primary cannot copy its redis-server's state to it.
  // The SIGKILLed serve left its TAP and bridge; the restarted one removes them first.
  const again = serve('a', 'a-again.yaml');
  await waitEvent(again, 'server.started', 20_000);
  const attached = await waitEvent(again, 'interface.attached', 1_000);
  assert.deepEqual(attached.reclaimed, [deviceNames('host-a').tap, deviceNames('host-a').bridge]);
  const refused = await waitEvent(b, 'backup.join-abandoned', 15_000);
  assert.match(String(refused.text), new RegExp(`cannot join: relayed to 127\\.0\\.0\\.1:${PORT}: the server's state cannot be copied`));
  for (const p of [again, b]) {
    process.kill(p.pid, 'SIGTERM');
    assert.equal(await p.exited, 0, readFileSync(p.log, 'utf8').slice(-2000));
  }
});
