// Test timing: real time (scripts/test.mjs runs this file one at a time beside the lab files, at normal priority).
// Two call controllers and two media gateways, each an `unbroken serve --config`
// process on loopback addresses of its own (no root), with H.248 over UDP and again over
// TCP (TPKT framing; the gateways connect to the controllers). A
// call is placed through the gateways' phone commands; the primary controller is
// SIGKILLed mid-call; the gateways fail over to the alternate, which rebuilds the call:
// its /metrics count the preserved call and the failovers, and hanging up afterwards
// writes the call's one CDR.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify as toYaml } from 'yaml';

const BIN = resolve(import.meta.dirname, '../../bin/unbroken.js');
// Addresses of loopback's 127/8 only this test uses: 127.77.0-1.x for UDP, 127.77.2-3.x for TCP.
type Transport = 'udp' | 'tcp';
const NET = {
  udp: { ctl: { a: '127.77.0.1:2944', b: '127.77.0.2:2944' }, gw: { mg1: '127.77.1.1', mg2: '127.77.1.2' } },
  tcp: { ctl: { a: '127.77.2.1:2944', b: '127.77.2.2:2944' }, gw: { mg1: '127.77.3.1', mg2: '127.77.3.2' } },
} as const;
const mid = (addr: string): string => `[${addr.split(':')[0]}]:${addr.split(':')[1]}`;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let dir: string;
const procs: Array<{ name: string; p: ChildProcess; log: string; exited: Promise<number | null> }> = [];

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'unbroken-serve-calls-'));
  for (const transport of ['udp', 'tcp'] as const) {
    const { ctl: CTL, gw: GW } = NET[transport];
    const plan = [
      { number: '1001', gateway: mid(`${GW.mg1}:2944`), termination: 'al/1' },
      { number: '1002', gateway: mid(`${GW.mg2}:2944`), termination: 'al/1' },
    ];
    for (const [name, listen, other] of [['a', CTL.a, CTL.b], ['b', CTL.b, CTL.a]] as const) {
      writeFileSync(join(dir, `${transport}-ctl-${name}.yaml`), toYaml({
        role: 'call-controller', node: `mgc-${name}`, log: { level: 'debug' }, metrics: { listen: `${listen.split(':')[0]}:9464` },
        // transport: udp is the default; the UDP run leaves it out.
        controller: { mid: mid(listen), listen, ...(transport === 'tcp' ? { transport } : {}), alternates: [other], cdr: { kind: 'sqlite', path: `cdr-${transport}-${name}.sqlite` }, numberingPlan: plan },
      }));
    }
    for (const [name, ip] of Object.entries(GW)) {
      writeFileSync(join(dir, `${transport}-${name}.json`), JSON.stringify({
        role: 'media-gateway', node: name, metrics: { listen: `${ip}:9464` },
        gateway: { mid: mid(`${ip}:2944`), listen: `${ip}:2944`, ...(transport === 'tcp' ? { transport } : {}), controllers: [CTL.a, CTL.b], heartbeatMs: 100, missCount: 3, rtp: { ip, portMin: 20000, portMax: 20009 }, lines: [{ termination: 'al/1' }, { termination: 'al/2' }] },
      }));
    }
  }
});

after(async () => {
  for (const x of procs) if (x.p.exitCode === null && x.p.signalCode === null) x.p.kill('SIGKILL');
  if (process.env.KEEP_SERVE_LOGS) console.log(dir); else rmSync(dir, { recursive: true, force: true });
});

function serve(name: string, file: string): (typeof procs)[number] {
  const log = join(dir, `${name}.log`);
  const p = spawn(process.execPath, [BIN, 'serve', '--config', join(dir, file)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  p.stdout!.on('data', (d: Buffer) => { out += d.toString(); writeFileSync(log, out); });
  p.stderr!.on('data', (d: Buffer) => { out += d.toString(); writeFileSync(log, out); });
  const x = { name, p, log, exited: new Promise<number | null>((r) => p.on('exit', (code) => r(code))) };
  procs.push(x);
  return x;
}

function events(x: { log: string }): Array<Record<string, unknown>> {
  if (!existsSync(x.log)) return [];
  return readFileSync(x.log, 'utf8').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
}

async function waitFor(x: { log: string; name: string }, pred: (e: Record<string, unknown>) => boolean, what: string, timeoutMs = 15_000): Promise<Record<string, unknown>> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const e = events(x).find(pred);
    if (e) return e;
    await sleep(50);
  }
  throw new Error(`${x.name}: no ${what} after ${timeoutMs} ms:\n${existsSync(x.log) ? readFileSync(x.log, 'utf8').slice(-3000) : '(no log)'}`);
}

async function metric(host: string, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const text = await (await fetch(`http://${host}:9464/metrics`)).text();
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (m && m[1] === name && Object.entries(labels).every(([k, v]) => (m[2] ?? '').includes(`${k}="${v}"`))) return Number(m[3]);
  }
  return undefined;
}

for (const transport of ['udp', 'tcp'] as const) {
  test(`serve (H.248 over ${transport}): call controller crashes mid-call, gateways fail over to the alternate, the call is preserved and billed once`, { timeout: 90_000 }, async () => {
    const { ctl: CTL, gw: GW } = NET[transport];
    const ip = (addr: string): string => addr.split(':')[0]!;
    const a = serve(`${transport}-ctl-a`, `${transport}-ctl-a.yaml`);
    const b = serve(`${transport}-ctl-b`, `${transport}-ctl-b.yaml`);
    await waitFor(a, (e) => e.event === 'server.started', 'server.started');
    const started0 = await waitFor(b, (e) => e.event === 'server.started', 'server.started');
    assert.equal(started0.transport, transport);
    const mg1 = serve(`${transport}-mg1`, `${transport}-mg1.json`);
    const mg2 = serve(`${transport}-mg2`, `${transport}-mg2.json`);
    for (const g of [mg1, mg2]) await waitFor(g, (e) => e.event === 'gateway.registered' && e.controller === CTL.a, 'registration with controller a');
    // 1001 (mg1 al/1) calls 1002 (mg2 al/1); mg2's phone answers by itself.
    mg1.p.stdin!.write('offhook 1\n');
    await sleep(300);
    mg1.p.stdin!.write('dial 1 1002\n');
    const started = await waitFor(a, (e) => e.event === 'call.started', 'call.started');
    await sleep(1000);
    assert.equal(await metric(ip(CTL.a), 'unbroken_calls_active'), 1);
    a.p.kill('SIGKILL');
    for (const g of [mg1, mg2]) {
      await waitFor(g, (e) => e.event === 'failover.detected', 'failover.detected');
      await waitFor(g, (e) => e.event === 'gateway.failover' && e.controller === CTL.b, 'failover to controller b');
    }
    const kept = await waitFor(b, (e) => e.event === 'call.preserved', 'call.preserved');
    assert.equal(kept.call, started.call);
    assert.equal(await metric(ip(CTL.b), 'unbroken_calls_preserved_total'), 1);
    assert.equal(await metric(ip(CTL.b), 'unbroken_failovers_total', { technique: 'calls', kind: 'takeover' }), 2);
    // Once seen 0 here in a CI rehearsal beside a lab (2026-11-27), not reproduced alone or
    // beside CPU hogs: the alternate's events since the preservation say what moved the call.
    const active = await metric(ip(CTL.b), 'unbroken_calls_active');
    const since = (): string => events(b).slice(events(b).findIndex((e) => e.event === 'call.preserved')).map((e) => JSON.stringify(e)).join('\n');
    assert.equal(active, 1, `calls active on the alternate after the preservation; its events since:\n${since()}`);
    assert.equal(await metric(GW.mg1, 'unbroken_failovers_total', { technique: 'calls' }), 1);
    // Hanging up after the failover ends the call on the alternate, with its one CDR.
    mg1.p.stdin!.write('onhook 1\n');
    const released = await waitFor(b, (e) => e.event === 'call.released', 'call.released');
    assert.equal(released.call, started.call);
    await waitFor(b, (e) => e.event === 'cdr.written' && e.call === started.call && e.outcome === 'inserted', 'cdr.written');
    for (const x of [b, mg1, mg2]) {
      x.p.kill('SIGTERM');
      assert.equal(await x.exited, 0, `${x.name}: ${readFileSync(x.log, 'utf8').slice(-1500)}`);
    }
  });
}
