// Several splicers active at once for one service (CRAFT addition 2), in the simulator:
// an ECMP-like distributor gives each packet to one of three splicers (client flows by
// hash, back-end flows by port range); every splice and setup is replicated to all peers
// before it carries data; one splicer crashes at a seeded random point (including during
// splice setup) and the distributor withdraws it once its peers notice; the others forward
// its connections. Every download byte-exact, no RST at the client.
// Seeds are printed; replay with CRAFT_SEED=<seed>.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Simulator } from '../sim/simulator.js';
import { LearningSwitch } from '../sim/boxes.js';
import { Host } from '../stack/host.js';
import type { TcpConnection, TcpConfig } from '../tcp/connection.js';
import { tcpConnectionFactory } from '../stack/tcp-engine.js';
import { SeededRng } from '../util/rng.js';
import { parseMac } from '../wire/addr.js';
import { SharedSplicerNode } from './shared-node.js';
import { FlowDistributor } from './testing/flow-distributor.js';
import { downloadClient, httpPatternService, newDownloadResult, type DownloadResult } from './testing/http-app.js';
import { BACKEND_IP, CLIENT_IP, SERVICE_IP, SERVICE_MAC, TEST_CONTROL_KEY, defaultRoutes } from './testing/scenario.js';

const get = (n: number): string => `GET /bytes/${n} HTTP/1.1\r\nHost: www.example.test\r\n\r\n`;
const LAN = { latencyUs: 100, bandwidthBps: 1_000_000_000, queueFrames: 1024, mtuBytes: 1500 };
const N = 3;
const ownIp = (i: number): string => `10.7.0.${2 + i}`;
const range = (i: number): [number, number] => [50_000 + i * 5000, 54_999 + i * 5000];

function seedList(): number[] {
  if (process.env.CRAFT_SEED) return [Number(process.env.CRAFT_SEED)];
  return Array.from({ length: Number(process.env.CRAFT_SEEDS ?? 4) }, (_, i) => 9900 + i);
}

interface SharedRun {
  results: DownloadResult[]; nodes: SharedSplicerNode[]; dist: FlowDistributor; rsts: number; finished: boolean; withdrawnUs: number | undefined;
  /** Downloads cut off by a silenced back end. */
  cutOff: number;
  events: Array<{ tUs: number; node: string; kind: string; peer: string }>;
}

function runShared(seed: number, sizes: number[], starts: number[], crash: { index: number; atUs: number; restartAfterUs?: number } | undefined,
  silence?: { backend: number; afterSplices: number; delayUs: number; crashSplicer?: number }, withdraw: 'rehash' | 'adopt' = 'rehash',
  extra: { idleTimeoutUs?: number; backendTcp?: Partial<TcpConfig>; onStart?: (sim: Simulator) => void; limitUs?: number } = {}): SharedRun {
  const idleTimeoutUs = extra.idleTimeoutUs;
  const sim = new Simulator({ seed });
  const backends = 2;
  sim.addNode('lan', new LearningSwitch({ ports: 2 + backends }));
  const dist = new FlowDistributor({ serviceMac: parseMac(SERVICE_MAC)!, servicePort: 80, splicers: N, portRange: range });
  sim.addNode('ecmp', dist);
  sim.link(['ecmp', 0], ['lan', 1], LAN);
  const nodes: SharedSplicerNode[] = [];
  let withdrawnUs: number | undefined;
  let spliced = 0;
  const events: SharedRun['events'] = [];
  let cutOff = 0;
  const silenceNow = (b: number): void => {
    sim.partition({ node: `b${b}`, ifIndex: 0 });
    if (silence?.crashSplicer !== undefined) sim.crash(`s${silence.crashSplicer}`);
    // Downloads the silent back end was in the middle of (every box holds every splice), once
    // its frames already queued in the switch have arrived (one can still complete a splice),
    // and before the health checks (60 ms without a reply) can find it down.
    sim.at(sim.nowUs + 20_000, () => countCutOff(b));
  };
  const countCutOff = (b: number): void => {
    const ports = new Set(nodes.flatMap((n) => n.splicer.splices()).filter((sp) => sp.backendId === `b${b}`).map((sp) => sp.client.port));
    cutOff = results.filter((x) => !x.complete && ports.has(Number(x.connId?.split('>')[0]!.split(':')[1]))).length;
  };
  const incarnation = Array.from({ length: N }, () => 0);
  for (let i = 0; i < N; i++) {
    sim.addNode(`s${i}`, (ctx) => {
      const n = new SharedSplicerNode({
        // A restarted box is a new incarnation: its peers' replay windows need a higher epoch.
        name: `s${i}`, nodeId: i + 1, epoch: ++incarnation[i]!, ownIp: ownIp(i), ownMac: `02:00:00:07:00:0${2 + i}`,
        peers: Array.from({ length: N }, (_, j) => j).filter((j) => j !== i).map(ownIp), prefixLen: 24, rng: ctx.rng, key: TEST_CONTROL_KEY,
        splicer: {
          serviceIp: SERVICE_IP, serviceMac: SERVICE_MAC, servicePort: 80, routes: defaultRoutes(backends), ephemeralPorts: range(i),
          healthIntervalUs: 20_000, healthTimeoutUs: 60_000, ...(idleTimeoutUs !== undefined ? { idleTimeoutUs } : {}),
          onSplice: () => { if (silence !== undefined && ++spliced === silence.afterSplices) sim.at(sim.nowUs + silence.delayUs, () => silenceNow(silence.backend)); },
        },
        onEvent: (e) => {
          events.push({ tUs: e.tUs, node: e.node, kind: e.kind, peer: e.peer });
          // A routing daemon's view: a next hop its peers lost is withdrawn.
          if (e.kind !== 'peer-lost') return;
          const k = Array.from({ length: N }, (_, j) => j).find((j) => ownIp(j) === e.peer);
          if (k !== undefined && dist.isLive(k)) { dist.withdraw(k, withdraw); withdrawnUs ??= sim.nowUs; }
        },
      });
      nodes[i] = n;
      return n;
    });
    sim.link([`s${i}`, 0], ['ecmp', i + 1], LAN);
  }
  sim.addNode('client', new Host<TcpConnection>({ name: 'client', mac: '02:00:00:07:00:01', ip: CLIENT_IP, prefixLen: 24, rng: sim.forkRng(), tcpFactory: tcpConnectionFactory({ timeWaitUs: 1_000_000 }) }));
  sim.link(['client', 0], ['lan', 0], LAN);
  for (let b = 0; b < backends; b++) {
    const h = new Host<TcpConnection>({ name: `b${b}`, mac: `02:00:00:07:01:${(b + 16).toString(16)}`, ip: BACKEND_IP(b), prefixLen: 24, rng: sim.forkRng(), tcpFactory: tcpConnectionFactory({ timeWaitUs: 1_000_000, ...extra.backendTcp }) });
    h.listen(80, httpPatternService(`b${b}`));
    sim.addNode(`b${b}`, h);
    sim.link([`b${b}`, 0], ['lan', 2 + b], LAN);
  }
  sim.addFault({ node: 'client', ifIndex: 0 }, { kind: 'loss', rate: 0.01 });
  const client = sim.node('client').as<Host<TcpConnection>>();
  const results = sizes.map(() => newDownloadResult());
  let rsts = 0;
  sim.tapPort('client', 0, { record: (_t, f) => {
    if (!(f.length > 47 && f[12] === 8 && f[13] === 0 && f[23] === 6)) return;
    const t = 14 + ((f[14]! & 15) * 4);
    if ((f[t + 13]! & 4) === 0) return;
    const port = (f[t + 2]! << 8) | f[t + 3]!;
    const r = results.find((x) => x.connId?.startsWith(`${CLIENT_IP}:${port}>`));
    if (r === undefined || !r.complete) rsts++;
  } }, 'rx');
  starts.forEach((t, i) => sim.at(t, () => { client.connect(SERVICE_IP, 80, downloadClient(get(sizes[i]!), results[i]!), sim.nowUs); }));
  if (crash !== undefined) sim.at(crash.atUs, () => sim.crash(`s${crash.index}`));
  if (crash?.restartAfterUs !== undefined) {
    // The lost box comes back; its announcement moves its next hop back to it at once.
    sim.at(crash.atUs + crash.restartAfterUs, () => { sim.restart(`s${crash.index}`); dist.restore(crash.index); });
  }
  const last = Math.max(...starts);
  extra.onStart?.(sim);
  const finished = sim.runWhile(() => sim.nowUs <= last || results.some((r) => r.close === undefined), extra.limitUs ?? 120_000_000);
  return { results, nodes, dist, rsts, finished, withdrawnUs, cutOff, events };
}

/** Every download finished whole and byte-exact (and closed cleanly, if `closed`), no RST at the client. */
function assertEveryDownload(r: SharedRun, sizes: number[], label: string, closed: boolean): void {
  assert.ok(r.finished, `${label}: finished`);
  r.results.forEach((x, i) => {
    assert.equal(x.status, 200, `${label} #${i}`);
    assert.ok(x.bodyOk && x.complete && x.bodyBytes === sizes[i], `${label} #${i}: body ${x.bodyBytes}/${sizes[i]}`);
    if (closed) assert.equal(x.close, 'closed', `${label} #${i}: close`);
  });
  assert.equal(r.rsts, 0, `${label}: RST at the client`);
}

test('three splicers active at once: the load is shared, every splice is held by all, byte-exact', () => {
  const rng = new SeededRng(9899);
  const sizes = Array.from({ length: 12 }, () => 50_000 + rng.nextInt(500_000));
  const r = runShared(9899, sizes, sizes.map((_, i) => 300_000 + i * 700), undefined);
  assert.ok(r.finished);
  r.results.forEach((x, i) => assert.ok(x.status === 200 && x.bodyOk && x.complete && x.bodyBytes === sizes[i], `#${i}`));
  assert.equal(r.rsts, 0);
  const spliced = r.nodes.map((n) => n.splicer.counters()['spliced'] ?? 0);
  assert.equal(spliced.reduce((a, b) => a + b, 0), sizes.length);
  assert.ok(spliced.filter((n) => n > 0).length >= 2, `clients spread over the splicers: ${spliced.join(',')}`);
  for (const n of r.nodes) {
    const c = n.splicer.counters();
    assert.equal((c['replica-installed'] ?? 0) + (c['spliced'] ?? 0), sizes.length, `${n.name}: holds every splice`);
    assert.equal(c['replication-hold-timeout'], undefined, `${n.name}: every splice acknowledged by both peers`);
  }
});

test('three active splicers, one crashes at a random point (including setup): the others forward its connections, byte-exact, no RST', () => {
  for (const seed of seedList()) {
    console.log(`# shared-crash seed ${seed} (replay: CRAFT_SEED=${seed} npm test -- src/craft/shared)`);
    const rng = new SeededRng(seed);
    const starts = Array.from({ length: 12 }, () => 300_000 + rng.nextInt(6_000)).sort((a, b) => a - b);
    const sizes = starts.map(() => 100_000 + rng.nextInt(1_500_000));
    const crash = { index: rng.nextInt(N), atUs: 300_000 + rng.nextInt(8_000) };
    const r = runShared(seed, sizes, starts, crash);
    const label = `seed ${seed} s${crash.index} crash at ${crash.atUs} µs`;
    assertEveryDownload(r, sizes, label, true);
    assert.ok(r.withdrawnUs !== undefined, `${label}: withdrawn`);
    const survivors = r.nodes.filter((_, i) => i !== crash.index);
    const took = survivors.reduce((a, n) => a + (n.splicer.counters()['replica-forwarded'] ?? 0), 0);
    const restored = survivors.reduce((a, n) => a + (n.splicer.counters()['setup-restored'] ?? 0), 0);
    console.log(`# ${label}: withdrawn at ${r.withdrawnUs}; survivors forwarded ${took} of its splices, rebuilt ${restored} setups`);
  }
});

test('three active splicers, a back-end host falls silent mid-download: each splicer finds it by its own echo requests and re-splices its downloads, byte-exact', () => {
  for (const seed of seedList()) {
    console.log(`# shared-silent-backend seed ${seed} (replay: CRAFT_SEED=${seed} npm test -- src/craft/shared)`);
    const rng = new SeededRng(seed);
    const starts = Array.from({ length: 12 }, () => 300_000 + rng.nextInt(6_000)).sort((a, b) => a - b);
    const sizes = starts.map(() => 2_000_000 + rng.nextInt(1_500_000));     // ~0.25 s in all: every one spliced and mid-flight
    // A silent back-end host (powered off, cable cut: no FIN, no RST; only health checks find
    // it), a little after the fourth splice (not at a fixed time: a lost ARP request or SYN
    // holds downloads back a second). Those still setting up move before their splice.
    const delayUs = 3_000 + rng.nextInt(12_000);
    const r = runShared(seed, sizes, starts, undefined, { backend: 0, afterSplices: 4, delayUs });
    const label = `seed ${seed} b0 silent ${delayUs} µs after the fourth splice`;
    assertEveryDownload(r, sizes, label, false);
    const moved = r.nodes.map((n) => n.splicer.counters()['resplice-started'] ?? 0);
    const found = r.nodes.map((n) => n.splicer.counters()['backend-down'] ?? 0);
    console.log(`# ${label}: ${r.cutOff} downloads cut off; back end found down by ${found.join(', ')}; re-splices per splicer ${moved.join(', ')}`);
    assert.deepEqual(found, [1, 1, 1], `${label}: every splicer's own health checks found b0 down`);
    assert.ok(r.cutOff > 0, `${label}: b0 was in the middle of some downloads`);
    assert.equal(moved.reduce((a, b) => a + b, 0), r.cutOff, `${label}: each cut-off download re-spliced once, by the splicer carrying it: ${moved.join(', ')}`);
  }
});

test('a lost splicer restarts and rejoins: the others send it every splice, the adopter gives its address back, and it carries downloads again — all byte-exact, no RST', () => {
  for (const seed of seedList()) {
    console.log(`# shared-rejoin seed ${seed} (replay: CRAFT_SEED=${seed} npm test -- src/craft/shared)`);
    const rng = new SeededRng(seed);
    // Downloads across the crash and the return, and a second wave after the return.
    const first = Array.from({ length: 12 }, () => 300_000 + rng.nextInt(6_000)).sort((a, b) => a - b);
    const crash = { index: rng.nextInt(N), atUs: 310_000 + rng.nextInt(5_000), restartAfterUs: 300_000 + rng.nextInt(100_000) };
    const second = Array.from({ length: 12 }, () => crash.atUs + crash.restartAfterUs + 200_000 + rng.nextInt(6_000)).sort((a, b) => a - b);
    const starts = [...first, ...second];
    const sizes = starts.map(() => 1_500_000 + rng.nextInt(1_500_000));
    const r = runShared(seed, sizes, starts, crash, undefined, 'adopt');
    const label = `seed ${seed} s${crash.index} crashed at ${crash.atUs} µs, back ${crash.restartAfterUs} µs later`;
    assertEveryDownload(r, sizes, label, true);
    const back = r.nodes[crash.index]!;
    const c = back.splicer.counters();
    const joined = r.events.filter((e) => e.node === `s${crash.index}` && e.kind === 'joined' && e.tUs > crash.atUs);
    console.log(`# ${label}: rejoined (${joined.map((e) => e.peer).join(',')}); it received ${c['replica-installed'] ?? 0} splices, forwarded ${c['replica-forwarded'] ?? 0} of them, spliced ${c['spliced'] ?? 0} new downloads; dropped while joining ${c['drop-joining'] ?? 0}`);
    assert.deepEqual(joined.map((e) => e.peer), ['synced'], `${label}: joined once its peers had sent their splices`);
    assert.ok((c['spliced'] ?? 0) > 0, `${label}: the returned splicer carries new downloads`);
    assert.ok(back.livePeers().length === N - 1, `${label}: it sees its peers`);
  }
});

function silentBackendAndCrash(withdraw: 'rehash' | 'adopt', seeds: number[]): void {
  for (const seed of seeds) {
    console.log(`# shared-silent-backend-and-crash (${withdraw}) seed ${seed} (replay: CRAFT_SEED=${seed} npm test -- src/craft/shared)`);
    const rng = new SeededRng(seed);
    const starts = Array.from({ length: 12 }, () => 300_000 + rng.nextInt(6_000)).sort((a, b) => a - b);
    const sizes = starts.map(() => 2_000_000 + rng.nextInt(1_500_000));
    const victim = rng.nextInt(N);
    const r = runShared(seed, sizes, starts, undefined, { backend: 0, afterSplices: 4, delayUs: 3_000 + rng.nextInt(12_000), crashSplicer: victim }, withdraw);
    const label = `seed ${seed} b0 silent and s${victim} crashed (${withdraw})`;
    assertEveryDownload(r, sizes, label, false);
    const survivors = r.nodes.filter((_, i) => i !== victim);
    const late = survivors.reduce((a, n) => a + (n.splicer.counters()['replica-backend-down'] ?? 0), 0);
    const moved = survivors.reduce((a, n) => a + (n.splicer.counters()['resplice-started'] ?? 0), 0);
    console.log(`# ${label}: ${r.cutOff} downloads cut off; survivors re-spliced ${moved}, of them ${late} of the lost splicer's`);
    assert.equal(moved, r.cutOff, `${label}: every cut-off download re-spliced once`);
  }
}

test('a splicer crashes as a back-end host falls silent, its address adopted by a peer (as in the lab): its peers re-splice their own downloads at once and the lost one\'s when its clients reach them', () => {
  silentBackendAndCrash('adopt', seedList());
});

// When the routing withdraws the lost splicer and hashes every flow again, a connection's two
// directions may reach different splicers, each forwarding one side with its own copy of the
// splice: what one learns from its side (the replacement back end's progress while the client's
// ACKs are capped, the end of capping) reaches the other as a replicated update.
test('the same with every flow hashed again over the live splicers: a connection\'s two directions may reach different splicers', () => {
  silentBackendAndCrash('rehash', seedList());
});

// After a rehash a connection's client side and back-end side can reach different boxes, each
// forwarding one direction, or both can move on from a box that carried the connection before.
// Judging idleness by the quieter direction, as a lone splicer must, removed such a download at
// the idle timeout (300 s by default; 150 ms here) and told every peer to drop it. A shared box
// now judges only by both directions, and one that sees neither releases the connection to
// whichever box carries it, whose 'alive' messages keep the copies.
test('a download longer than the idle timeout, its two directions on different splicers after a rehash, completes', () => {
  for (const seed of seedList()) {
    console.log(`# shared-split-idle seed ${seed} (replay: CRAFT_SEED=${seed} npm test -- src/craft/shared)`);
    const rng = new SeededRng(seed + 77);
    const starts = Array.from({ length: 12 }, () => 300_000 + rng.nextInt(6_000)).sort((a, b) => a - b);
    const sizes = starts.map(() => 8_000_000 + rng.nextInt(4_000_000));
    const crash = { index: rng.nextInt(N), atUs: 330_000 + rng.nextInt(20_000) };
    const r = runShared(seed, sizes, starts, crash, undefined, 'rehash', { idleTimeoutUs: 150_000 });
    const label = `seed ${seed} s${crash.index} crashed at ${crash.atUs} µs`;
    assertEveryDownload(r, sizes, label, true);
    const sum = (k: string): number => r.nodes.reduce((a, n) => a + (n.splicer.counters()[k] ?? 0), 0);
    console.log(`# ${label}: withdrawn at ${r.withdrawnUs} µs; released as idle ${sum('splice-released-idle')}, removed as idle ${sum('splice-removed-idle')}, copies expired ${sum('replica-expired')}`);
    assert.equal(sum('splice-removed-idle'), 0, `${label}: no running download removed as idle`);
  }
});

// And the other end of that: a connection that falls silent everywhere (here the client host
// dies mid-download and the back ends give up on it) is not kept for ever. The box carrying
// it releases it after the idle timeout and stops announcing it; every copy then expires.
test('with several splicers a connection silent everywhere leaves every box: released by its carrier, its copies expire', () => {
  for (const seed of seedList()) {
    console.log(`# shared-silent-everywhere seed ${seed} (replay: CRAFT_SEED=${seed} npm test -- src/craft/shared)`);
    const rng = new SeededRng(seed + 91);
    const starts = Array.from({ length: 6 }, () => 300_000 + rng.nextInt(6_000)).sort((a, b) => a - b);
    const sizes = starts.map(() => 20_000_000);
    const afterUs = 1_000 + rng.nextInt(20_000);
    let held = -1;
    let crashClientUs = -1;
    const r = runShared(seed, sizes, starts, undefined, undefined, 'rehash', {
      idleTimeoutUs: 150_000, backendTcp: { maxRetransmits: 3 }, limitUs: 8_000_000,
      onStart: (sim) => {
        // Once every download is spliced and every box holds it (a lost SYN can delay one by
        // a second), the client host dies a little later.
        const count = (): number => Array.from({ length: N }, (_, i) => sim.node(`s${i}`).as<SharedSplicerNode>().splicer.splices().length).reduce((a, b) => a + b, 0);
        const check = (): void => {
          if (count() < N * sizes.length && sim.nowUs < 3_000_000) { sim.at(sim.nowUs + 1_000, check); return; }
          sim.at(sim.nowUs + afterUs, () => { held = count(); crashClientUs = sim.nowUs; sim.crash('client'); });
        };
        sim.at(300_000, check);
      },
    });
    const label = `seed ${seed} client lost at ${crashClientUs} µs`;
    const left = r.nodes.map((n) => n.splicer.splices().length);
    const sum = (k: string): number => r.nodes.reduce((a, n) => a + (n.splicer.counters()[k] ?? 0), 0);
    console.log(`# ${label}: splices held at the loss ${held}; released ${sum('splice-released-idle')}, copies expired ${sum('replica-expired')}; left ${left.join(', ')}`);
    assert.equal(held, N * sizes.length, `${label}: every box held every download's splice`);
    assert.deepEqual(left, Array.from({ length: N }, () => 0), `${label}: every box let them go`);
    assert.ok(sum('splice-released-idle') >= 1 && sum('replica-expired') >= 1, `${label}: released by the carrier, copies expired`);
  }
});

