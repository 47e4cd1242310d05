// CRAFT in the lab with real programs: `unbroken lab up craft` builds two splicers (our
// stack on TAPs, active/standby) in front of two unmodified nginx back ends. curl and wrk
// go through the splicer; tshark on both sides of it checks checksums and that each
// side's sequence numbers are the other side's moved by the logged offsets; then the
// active splicer and a back end are SIGKILLed during a run of curl downloads and every
// download still completes byte-exact. One lab, tests in order (a 2-core machine).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { labSkip } from '../../src/lab/prerequisites.js';
import { CRAFT_NET, splicerEvents, type CraftLabJson } from '../../src/lab/craft-topology.js';
import { checkSpliceCapture, type LoggedSplice } from '../../src/lab/craft-capture.js';
import { readState, type LabState } from '../../src/lab/state.js';
import { checkCapture, inNs, spawnInNs, tsharkArgv } from './helpers.js';

const skip = labSkip(['curl', 'wrk', 'tshark', 'nginx']);
const BIN = new URL('../../bin/unbroken.js', import.meta.url).pathname;
let lab: CraftLabJson | undefined;
let s: LabState;

function cli(args: string[], timeoutMs = 60_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => execFile(process.execPath, [BIN, ...args], { timeout: timeoutMs }, (err, stdout, stderr) => {
    resolve({ code: err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1, stdout, stderr });
  }));
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const url = (f: string): string => `http://${CRAFT_NET.serviceIp}/${f}`;

function splicesLogged(role: string): LoggedSplice[] {
  return splicerEvents(s, role).filter((e) => e.event === 'splice') as unknown as LoggedSplice[];
}

/** curl to a file in the lab dir; returns the HTTP code and the body's sha256. */
async function curlFile(name: string, out: string, extra: string[] = [], timeoutMs = 60_000): Promise<{ code: number; http: string; sha: string; stderr: string }> {
  const r = await inNs(s.netns.client!, ['curl', '-sS', '--fail', ...extra, '-o', out, '-w', '%{http_code}', url(name)], timeoutMs);
  const sha = existsSync(out) ? createHash('sha256').update(readFileSync(out)).digest('hex') : '';
  return { code: r.code, http: r.stdout.trim(), sha, stderr: r.stderr.trim() };
}

before(async () => {
  if (skip) return;
  const r = await cli(['lab', 'up', 'craft', '--backends', '2', '--splicers', '2', '--json']);
  assert.equal(r.code, 0, `lab up craft: ${r.stderr}`);
  lab = JSON.parse(r.stdout) as CraftLabJson;
  s = readState(lab.name)!;
});

after(async () => {
  if (lab === undefined) return;
  const r = await cli(['lab', 'down', lab.name, '--json']);
  assert.equal(r.code, 0, `lab down: ${r.stderr}`);
  for (const ns of Object.values(lab.netns)) assert.ok(!existsSync(`/run/netns/${ns}`), `${ns} left behind`);
});

test('lab up craft --json prints the lab contract: roles client, splicer0..1, backend0..1, live pids', { skip }, () => {
  const j = lab!;
  assert.deepEqual(j.service, { ip: CRAFT_NET.serviceIp, port: 80 });
  for (const r of ['client', 'splicer0', 'splicer1', 'backend0', 'backend1']) assert.ok(j.netns[r] !== undefined, `netns.${r}`);
  for (const r of ['splicer0', 'splicer1', 'backend0', 'backend1']) {
    const pid = j.pids[r]!;
    assert.ok(Number.isInteger(pid) && existsSync(`/proc/${pid}`), `pids.${r} = ${pid} is alive`);
  }
  // Back-end pids are the kernel HTTP servers themselves.
  assert.match(readFileSync(`/proc/${j.pids.backend0}/comm`, 'utf8'), /nginx/);
  assert.ok(j.files !== undefined && Object.keys(j.files).length >= 4);
});

/** tshark on `devs` in `ns` with a large buffer; stop() ends it and returns the drops it reported. */
async function capture(ns: string, devs: string[], file: string): Promise<{ stop: () => Promise<number> }> {
  const p = spawnInNs(ns, tsharkArgv(devs, file, ['-B', '64']));
  let err = '';
  p.stderr?.on('data', (d: Buffer) => { err += d.toString(); });
  const until = Date.now() + 15_000;
  while (!/Capture started|Capturing on/.test(err) && Date.now() < until && p.exitCode === null) await sleep(50);
  assert.match(err, /Capturing on/, `tshark did not start: ${err}`);
  await sleep(1500);                                 // every interface capturing (tshark reports before all are)
  return {
    stop: async () => {
      const done = new Promise<void>((r) => p.once('exit', () => r()));
      p.kill('SIGINT');
      await done;
      return [...err.matchAll(/(\d+) packets? dropped/g)].reduce((a, m) => a + Number(m[1]), 0);
    },
  };
}

test('curl through the splicer is byte-exact; tshark on both sides: checksums good, each side the other moved by the splice offsets', { skip, timeout: 120_000 }, async () => {
  // Byte-exact at full speed first (not captured).
  for (const n of ['1000.bin', '10000000.bin']) {
    const r = await curlFile(n, join(s.dir, `f-${n}`));
    assert.equal(r.code, 0, `curl ${n}: ${r.stderr}`);
    assert.equal(r.http, '200');
    assert.equal(r.sha, lab!.files![n], `${n} byte-exact`);
  }
  const pcap = join(s.dir, 'both-sides.pcap');
  const names = ['1000.bin', '100000.bin', '1000000.bin'];
  let splices: LoggedSplice[] = [];
  let dropped = -1;
  // The capture must be complete to judge sequence numbers (its holes would look like ours):
  // rate-limited transfers, and another try when tshark still reports drops (a busy machine).
  for (let attempt = 1; attempt <= 3 && dropped !== 0; attempt++) {
    const before = splicesLogged('splicer0').length;
    // The LAN ports of the client (client side) and of the back ends (back-end side).
    const cap = await capture(s.netns.lan!, ['l-client', 'l-backend0', 'l-backend1'], pcap);
    try {
      for (const n of names) {
        const r = await curlFile(n, join(s.dir, `c-${n}`), ['--limit-rate', '2M']);
        assert.equal(r.code, 0, `curl ${n}: ${r.stderr}`);
        assert.equal(r.http, '200');
        assert.equal(r.sha, lab!.files![n], `${n} byte-exact`);
      }
      // Four at once, spread over both back ends.
      const par = await Promise.all([0, 1, 2, 3].map((i) => curlFile('1000000.bin', join(s.dir, `p${i}.bin`), ['--limit-rate', '1M'])));
      for (const r of par) { assert.equal(r.code, 0, r.stderr); assert.equal(r.sha, lab!.files!['1000000.bin']); }
    } finally {
      await sleep(300);
      dropped = await cap.stop();
    }
    splices = splicesLogged('splicer0').slice(before);
    if (dropped !== 0) console.log(`capture attempt ${attempt}: tshark dropped ${dropped} frames; again`);
  }
  assert.equal(dropped, 0, 'tshark dropped frames in every attempt: the capture cannot judge the splicer');
  assert.ok(splices.length >= names.length + 4, `${splices.length} splices logged`);
  assert.ok(new Set(splices.map((x) => x.backend)).size === 2, 'both back ends served');
  const c = await checkCapture(pcap, [CRAFT_NET.serviceMac]);
  console.log(`capture: ${JSON.stringify(c)}`);
  assert.equal(c.badChecksums, 0, `bad checksums on the splicer's frames:\n${c.offenders.join('\n')}`);
  assert.equal(c.malformed, 0, `malformed:\n${c.offenders.join('\n')}`);
  const m = await checkSpliceCapture(pcap, `${CRAFT_NET.serviceIp}:80`, splices);
  console.log(`sequence check: ${JSON.stringify(m)}`);
  assert.equal(m.splicesSeen, splices.length);
  assert.ok(m.b2cChecked > 3000 && m.c2bChecked >= splices.length, `checked ${m.b2cChecked} b2c, ${m.c2bChecked} c2b segments`);
  assert.deepEqual(m.problems, []);
  assert.equal(m.offsetMismatches + m.b2cUnmatched + m.c2bUnmatched, 0);
  assert.equal(m.unexplainedGaps, 0);
  assert.deepEqual(m.ackedUnseen, { clientSide: 0, backendSide: 0 });
});

function wrkReport(out: string): { requests: number; non2xx: number; socketErrors: number } {
  const req = /(\d+) requests in/.exec(out);
  const non = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  const se = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    requests: req === null ? 0 : Number(req[1]),
    non2xx: non === null ? 0 : Number(non[1]),
    socketErrors: se === null ? 0 : se.slice(1).reduce((a, x) => a + Number(x), 0),
  };
}

test('wrk through the splicer: keep-alive and a connection per request, zero errors, no non-2xx', { skip, timeout: 60_000 }, async () => {
  for (const extra of [[], ['-H', 'Connection: close']]) {
    const r = await inNs(s.netns.client!, ['wrk', '-t', '2', '-c', '8', '-d', '3s', ...extra, url('1000.bin')], 30_000);
    assert.equal(r.code, 0, r.stderr);
    const w = wrkReport(r.stdout);
    console.log(`wrk ${extra.join(' ') || 'keep-alive'}: ${JSON.stringify(w)}`);
    if (w.socketErrors > 0) for (const role of ['splicer0', 'splicer1']) console.log(role, splicerEvents(s, role).filter((e) => e.event !== 'splice').map((e) => `${e.tUs} ${e.event} ${e.text}`).slice(-8).join('; '));
    assert.ok(w.requests > 50, `${w.requests} requests`);
    assert.equal(w.non2xx, 0, r.stdout);
    assert.equal(w.socketErrors, 0, r.stdout);
  }
});

test('the active splicer and a back end SIGKILLed during curl downloads: zero failed requests, every download byte-exact', { skip, timeout: 90_000 }, async () => {
  const name = '50000000.bin';
  const before = splicesLogged('splicer0').length;
  const n = 6;
  // Rate-limited so that the downloads are still running at both crashes. The client's kernel
  // may buffer many megabytes ahead of curl (tcp_rmem allows 32 MB here): of a 10 MB file a
  // back end had once sent everything before it was killed, and there was no failure to see.
  // 50 MB at 4 MB/s is still far from its end 2 s in.
  const runs = Array.from({ length: n }, (_, i) => curlFile(name, join(s.dir, `k${i}.bin`), ['--limit-rate', '4M'], 80_000));
  const until = Date.now() + 15_000;
  while (Date.now() < until && splicesLogged('splicer0').length < before + n) await sleep(20);
  const mine = splicesLogged('splicer0').slice(before);
  if (mine.length < n) {
    const rs = await Promise.all(runs);
    assert.fail(`${mine.length} of ${n} downloads spliced before the crash; curl: ${rs.map((r) => `${r.code} ${r.stderr}`).join(' | ')}; splicer0: ${splicerEvents(s, 'splicer0').filter((e) => e.event !== 'splice').map((e) => `${e.event} ${e.text}`).slice(-5).join(' | ')}`);
  }
  assert.ok(mine.some((x) => x.backendId === 'backend0'), 'some downloads on backend0');
  await sleep(300);                                  // replicated (the splicer holds data until the peer acknowledges)
  process.kill(lab!.pids.splicer0!, 'SIGKILL');
  await sleep(1200);
  process.kill(lab!.pids.backend0!, 'SIGKILL');
  const results = await Promise.all(runs);
  if (results.some((r) => r.code !== 0)) {
    // What the surviving splicer did, to find the cause of a failed download.
    process.kill(lab!.pids.splicer1!, 'SIGUSR2');
    await sleep(500);
    console.log(`curl: ${results.map((r) => `${r.code} ${r.stderr}`).join(' | ')}`);
    console.log(`splicer1: ${splicerEvents(s, 'splicer1').filter((e) => e.event !== 'splice' || true).slice(-40).map((e) => `${e.tUs} ${e.event} ${e.text ?? ''} ${e.client ?? ''}${e.event === 'stats' ? JSON.stringify(e.stats) : ''}`).join('; ')}`);
  }
  results.forEach((r, i) => {
    assert.equal(r.code, 0, `download ${i}: curl ${r.code} ${r.stderr}`);
    assert.equal(r.http, '200');
    assert.equal(r.sha, lab!.files![name], `download ${i} byte-exact`);
  });
  const ev = splicerEvents(s, 'splicer1');
  const takeovers = ev.filter((e) => e.event === 'takeover');
  assert.equal(takeovers.length, 1, 'one takeover');
  assert.ok(Number(takeovers[0]!.splices) >= n, `took over ${String(takeovers[0]!.splices)} splices`);
  assert.ok(ev.some((e) => e.event === 'backend-failed' && /backend0/.test(e.text)), 'the surviving splicer saw backend0 fail');
  assert.ok(!existsSync(`/proc/${lab!.pids.splicer0}`) || readFileSync(`/proc/${lab!.pids.splicer0}/cmdline`, 'utf8').indexOf('run-craft') < 0);
});

/** A craft lab of its own for one test: up with `flags`, `fn`, then down whatever happened. */
async function withCraftLab(flags: readonly string[], fn: (j: CraftLabJson, st: LabState) => Promise<void>): Promise<void> {
  const up = await cli(['lab', 'up', 'craft', '--backends', '2', ...flags, '--json']);
  assert.equal(up.code, 0, `lab up craft ${flags.join(' ')}: ${up.stderr}`);
  const j = JSON.parse(up.stdout) as CraftLabJson;
  try {
    await fn(j, readState(j.name)!);
  } finally {
    const r = await cli(['lab', 'down', j.name, '--json']);
    assert.equal(r.code, 0, `lab down: ${r.stderr}`);
  }
}

// ---- several splicers active at once (a second lab, after the pair's) ----------------

for (const [m, flags, label] of [[3, ['--splicers', '3'], 'three splicers'], [2, ['--splicers', '2', '--shared'], 'two splicers with --shared']] as const) {
test(`${label} active at once (ECMP next hops): curl and wrk through them, one SIGKILLed mid-run — zero failed requests, byte-exact`, { skip, timeout: 90_000 }, async () => {
  await withCraftLab(flags, async (j, st) => {
    const roles = Array.from({ length: m }, (_, k) => `splicer${k}`);
    assert.deepEqual(Object.keys(j.pids).filter((r) => r.startsWith('splicer')).sort(), roles);
    const spliced = (role: string): LoggedSplice[] => splicerEvents(st, role).filter((e) => e.event === 'splice') as unknown as LoggedSplice[];
    const get = async (name: string, out: string, extra: string[]): Promise<{ code: number; http: string; sha: string; stderr: string }> => {
      const r = await inNs(st.netns.client!, ['curl', '-sS', '--fail', '--max-time', '30', ...extra, '-o', out, '-w', '%{http_code} %{local_port}', url(name)], 40_000);
      const sha = existsSync(out) ? createHash('sha256').update(readFileSync(out)).digest('hex') : '';
      return { code: r.code, http: r.stdout.trim(), sha, stderr: r.stderr.trim() };
    };
    // Rate-limited downloads, so they run across the crash; the client's multipath route spreads them.
    const name = '10000000.bin';
    const n = m === 2 ? 12 : 9;                  // all on one splicer by chance: 2 in 4096, 3 in 19683
    const runs = Array.from({ length: n }, (_, i) => get(name, join(st.dir, `m${i}.bin`), ['--limit-rate', '3M']));
    const until = Date.now() + 15_000;
    const count = (): number[] => roles.map((r) => spliced(r).length);
    while (Date.now() < until && count().reduce((a, b) => a + b, 0) < n) await sleep(20);
    const per = count();
    console.log(`splices per splicer: ${per.join(', ')}`);
    assert.equal(per.reduce((a, b) => a + b, 0), n, 'every download spliced');
    assert.ok(per.filter((x) => x > 0).length >= 2, `flows spread over the splicers: ${per.join(', ')}`);
    // The victim: the splicer carrying the most downloads; wrk keeps requests going across the crash.
    const victim = per.indexOf(Math.max(...per));
    // wrk counts a response later than 2 s (its default) as a timeout error although it still
    // arrives; across the crash a request waits for the loss to be seen (500 ms here) and then
    // for its client's backed-off retransmission, so the bound is 10 s: a pause, not a failure.
    const wrk = inNs(st.netns.client!, ['wrk', '-t', '2', '-c', '8', '-d', '4s', '--timeout', '10s', url('1000.bin')], 40_000);
    await sleep(1000);
    // The hosts stamp their log lines with CLOCK_MONOTONIC, as process.hrtime does here.
    const killNs = process.hrtime.bigint();
    process.kill(j.pids[`splicer${victim}`]!, 'SIGKILL');
    const [w, results] = await Promise.all([wrk, Promise.all(runs)]);
    if (results.some((r) => r.code !== 0)) {
      console.log(`curl: ${results.map((r) => `${r.code} ${r.http} ${r.stderr}`).join(' | ')}`);
      // A live splicer's counters, its driver's too (how late its timers fired, its longest turn).
      for (const r of roles) if (existsSync(`/proc/${j.pids[r]}`)) process.kill(j.pids[r]!, 'SIGUSR2');
      await sleep(500);
      const ms = (mono: string): string => (Number(BigInt(mono) - killNs) / 1e6).toFixed(1);
      for (const r of roles) {
        console.log(`${r} (ms from the kill of splicer${victim}): ${splicerEvents(st, r).map((e) => `${ms(e.monoNs)} ${e.event} ${e.text ?? ''} ${e.client ?? ''}${e.event === 'stats' ? JSON.stringify(e.driver) : ''}`).join('; ')}`);
        // What a host wrote that is not an event (a fatal error, a stack trace).
        const other = readFileSync(join(st.dir, `${r}.log`), 'utf8').split('\n').filter((l) => l.trim() !== '' && !l.includes('"event":'));
        if (other.length > 0) console.log(`${r}, other output: ${other.slice(-12).join(' / ')}`);
      }
      const early = roles.flatMap((r) => splicerEvents(st, r).filter((e) => e.event === 'peer-lost' && BigInt(e.monoNs) < killNs).map((e) => `${r} lost ${e.text} at ${ms(e.monoNs)} ms`));
      if (early.length > 0) console.log(`a peer was declared lost before the test's kill (two splicers gone): ${early.join('; ')}`);
    }
    results.forEach((r, i) => {
      assert.equal(r.code, 0, `download ${i}: curl ${r.code} ${r.stderr}`);
      assert.equal(r.http.split(' ')[0], '200');
      assert.equal(r.sha, j.files![name], `download ${i} byte-exact`);
    });
    const wr = wrkReport(w.stdout);
    console.log(`wrk across the crash of splicer${victim}: ${JSON.stringify(wr)}`);
    assert.equal(w.code, 0, w.stderr);
    assert.ok(wr.requests > 50, `${wr.requests} requests`);
    assert.equal(wr.non2xx, 0, w.stdout);
    assert.equal(wr.socketErrors, 0, w.stdout);
    const adopted = roles.filter((_, k) => k !== victim).flatMap((r) => splicerEvents(st, r).filter((e) => e.event === 'peer-adopted'));
    assert.equal(adopted.length, 1, 'one live splicer adopted the lost one\'s address');
    assert.equal(adopted[0]!.peer, CRAFT_NET.splicerIp(victim));
  });
});
}

test('three splicers active at once, a back-end host falls silent mid-download: each splicer\'s own echo requests find it, every download byte-exact', { skip, timeout: 90_000 }, async () => {
  await withCraftLab(['--splicers', '3'], async (j, st) => {
    const roles = ['splicer0', 'splicer1', 'splicer2'];
    const events = (role: string, kind: string): Array<Record<string, unknown>> => splicerEvents(st, role).filter((e) => e.event === kind);
    const name = '10000000.bin';
    const n = 9;
    const runs = Array.from({ length: n }, (_, i) => inNs(st.netns.client!, ['curl', '-sS', '--fail', '--max-time', '60', '--limit-rate', '2M', '-o', join(st.dir, `h${i}.bin`), '-w', '%{http_code}', url(name)], 70_000));
    const until = Date.now() + 15_000;
    const spliced = (): number => roles.reduce((a, r) => a + events(r, 'splice').length, 0);
    while (Date.now() < until && spliced() < n) await sleep(20);
    assert.equal(spliced(), n, 'every download spliced');
    const onB0 = roles.reduce((a, r) => a + events(r, 'splice').filter((e) => e.backendId === 'backend0').length, 0);
    assert.ok(onB0 > 0, 'some downloads on backend0');
    await sleep(1000);
    // The host goes silent: its link is cut (nginx keeps running, nothing reaches anyone).
    await inNs(st.netns.backend0!, ['ip', 'link', 'set', 'eth0', 'down'], 10_000);
    const rs = await Promise.all(runs);
    rs.forEach((r, i) => {
      assert.equal(r.code, 0, `download ${i}: curl ${r.code} ${r.stderr}`);
      assert.equal(r.stdout.trim(), '200');
      const sha = createHash('sha256').update(readFileSync(join(st.dir, `h${i}.bin`))).digest('hex');
      assert.equal(sha, j.files![name], `download ${i} byte-exact`);
    });
    const found = roles.map((r) => events(r, 'backend-failed').filter((e) => /backend0 down: no echo reply/.test(String(e.text))).length);
    // Each splicer's counters (SIGUSR2 logs them): the downloads it moved to backend1.
    const before = roles.map((r) => events(r, 'stats').length);
    for (const r of roles) process.kill(j.pids[r]!, 'SIGUSR2');
    const statsUntil = Date.now() + 5_000;
    while (Date.now() < statsUntil && roles.some((r, k) => events(r, 'stats').length <= before[k]!)) await sleep(20);
    const counter = (r: string, k: string): number => Number((events(r, 'stats').at(-1)?.stats as { splicer?: Record<string, number> } | undefined)?.splicer?.[k] ?? 0);
    // A download whose client already held every byte (curl reads at 2 MB/s; the kernel buffers
    // megabytes ahead) is closed by the splicer instead (client-closer.ts).
    const moved = roles.map((r) => counter(r, 'resplice') + counter(r, 'closer-started'));
    console.log(`silent backend0: ${onB0} downloads on it; found down by the splicers: ${found.join(', ')}; re-spliced or closed per splicer: ${moved.join(', ')}`);
    const keys = ['spliced', 'resplice-started', 'resplice', 'closer-started', 'replica-forwarded', 'replica-backend-down', 'replica-down-probe', 'backend-closed-early', 'client-probe'];
    for (const r of roles) {
      console.log(`${r}: ${keys.map((k) => `${k}=${counter(r, k)}`).join(' ')}; on backend0: ${events(r, 'splice').filter((e) => e.backendId === 'backend0').length}; `
        + `failures seen: ${events(r, 'backend-failed').map((e) => String(e.text)).join(' | ')}`);
    }
    assert.deepEqual(found, [1, 1, 1], 'every splicer found the silent host by its own echo requests');
    // Each splicer moved the downloads it carried there. Once, in a CI run under load, the
    // splicers' moves added up to one more than the downloads on backend0 (every download
    // still byte-exact); the counters below are printed to find out why if it recurs.
    roles.forEach((r, k) => {
      const mine = events(r, 'splice').filter((e) => e.backendId === 'backend0').length;
      assert.ok(moved[k]! >= mine, `${r} carried ${mine} downloads on backend0 and moved ${moved[k]}`);
    });
    if (moved.reduce((a, b) => a + b, 0) !== onB0) console.log(`note: ${moved.reduce((a, b) => a + b, 0)} moves for ${onB0} downloads on backend0`);
  });
});

test('a killed splicer started again with `lab restart` rejoins: its address comes back to it, it takes in the others\' splices and carries downloads again — every download byte-exact', { skip, timeout: 120_000 }, async () => {
  await withCraftLab(['--splicers', '3'], async (j, st) => {
    const roles = ['splicer0', 'splicer1', 'splicer2'];
    const events = (role: string, kind: string): Array<Record<string, unknown>> => splicerEvents(st, role).filter((e) => e.event === kind);
    const waitFor = async (what: string, ok: () => boolean, ms = 10_000): Promise<void> => {
      const until = Date.now() + ms;
      while (Date.now() < until && !ok()) await sleep(20);
      assert.ok(ok(), `${what} within ${ms} ms`);
    };
    const curl = (name: string, out: string, extra: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
      inNs(st.netns.client!, ['curl', '-sS', '--fail', '--max-time', '60', ...extra, '-o', join(st.dir, out), '-w', '%{http_code}', url(name)], 70_000);
    const byteExact = (r: { code: number; stdout: string; stderr: string }, out: string, name: string, label: string): void => {
      assert.equal(r.code, 0, `${label}: curl ${r.code} ${r.stderr}`);
      assert.equal(r.stdout.trim(), '200');
      assert.equal(createHash('sha256').update(readFileSync(join(st.dir, out))).digest('hex'), j.files![name], `${label} byte-exact`);
    };
    // Downloads long enough (10 MB at 1 MB/s) to run across the crash and the return.
    const long = Array.from({ length: 6 }, (_, i) => curl('10000000.bin', `r${i}.bin`, ['--limit-rate', '1M']));
    await waitFor('every long download spliced', () => roles.reduce((a, r) => a + events(r, 'splice').length, 0) >= 6, 15_000);
    const per = roles.map((r) => events(r, 'splice').length);
    const victim = roles[per.indexOf(Math.max(...per))]!;
    const survivors = roles.filter((r) => r !== victim);
    process.kill(j.pids[victim]!, 'SIGKILL');
    await waitFor('a survivor adopted the lost splicer\'s address', () => survivors.some((r) => events(r, 'peer-adopted').length > 0));
    const adopter = survivors.find((r) => events(r, 'peer-adopted').length > 0)!;
    const joinedBefore = events(victim, 'joined').length;
    const splicedBefore = events(victim, 'splice').length;
    const back = await cli(['lab', 'restart', j.name, victim, '--json']);
    assert.equal(back.code, 0, `lab restart: ${back.stderr}`);
    const pid = (JSON.parse(back.stdout) as { pid: number }).pid;
    assert.ok(pid !== j.pids[victim] && existsSync(`/proc/${pid}`), 'a new process');
    await waitFor('the adopter gave the address back', () => events(adopter, 'peer-released').length > 0);
    await waitFor('the restarted splicer joined with its peers\' splices', () => events(victim, 'joined').length > joinedBefore);
    assert.equal(events(victim, 'joined').at(-1)!.text, 'synced');
    // A second wave: the client's multipath route hashes some of it to the returned splicer
    // (none of 18 by chance: (2/3)^18, under 0.1 %).
    const wave = await Promise.all(Array.from({ length: 18 }, (_, i) => curl('1000000.bin', `w${i}.bin`, [])));
    wave.forEach((r, i) => byteExact(r, `w${i}.bin`, '1000000.bin', `second-wave download ${i}`));
    const longs = await Promise.all(long);
    longs.forEach((r, i) => byteExact(r, `r${i}.bin`, '10000000.bin', `long download ${i}`));
    const spliced = events(victim, 'splice').length - splicedBefore;
    console.log(`${victim} killed and restarted (${adopter} had its address): it spliced ${spliced} of the 18 second-wave downloads`);
    assert.ok(spliced > 0, 'the returned splicer carries new downloads');
    assert.ok(existsSync(`/proc/${pid}`), 'and is still running');
  });
});
