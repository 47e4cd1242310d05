// `unbroken lab up sttcp --json` prints the lab contract (client, primary, backup
// namespaces; the hosts' pids), the pair is replicating, and `lab down` removes it all.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { UNBROKEN_BIN_PATH, realtimeUsable } from '../../src/lab/lab.js';
import { netnsExists, sh } from '../../src/lab/netns.js';
import { labSkip } from '../../src/lab/prerequisites.js';
import { STTCP_LAB_RT_PRIORITY, hostEvents } from '../../src/lab/sttcp-topology.js';
import { readState, stateFile } from '../../src/lab/state.js';

const skip = labSkip();

function unbroken(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => execFile(process.execPath, [UNBROKEN_BIN_PATH, ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
    resolve({ code: err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1, stdout, stderr });
  }));
}

const alive = (pid: number): boolean => { try { process.kill(pid, 0); return true; } catch { return false; } };

/** Packets received on `dev` in `ns` (undefined when there is no such device). */
function rxPackets(ns: string, dev: string): number | undefined {
  let out: string;
  try { out = sh(['ip', '-n', ns, '-s', 'link', 'show', dev]); } catch { return undefined; }
  const lines = out.split('\n');
  const i = lines.findIndex((l) => l.trim().startsWith('RX:'));
  return Number(lines[i + 1]!.trim().split(/\s+/)[1]);
}

/** Each thread of `pid`: [scheduling policy (0 normal, 2 SCHED_RR), real-time priority] from /proc (stat fields 40, 41). */
function threadSched(pid: number): Array<[number, number]> {
  return readdirSync(`/proc/${pid}/task`).map((tid) => {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // f[0] is field 3 (state): field n is f[n - 3].
    return [Number(f[41 - 3]), Number(f[40 - 3])];
  });
}

test('lab up sttcp --realtime 20 --json: contract JSON, hosts replicating under SCHED_RR, lab down removes everything', { skip, timeout: 60_000 }, async () => {
  const up = await unbroken(['lab', 'up', 'sttcp', '--app', 'echo', '--mode', 'async', '--realtime', String(STTCP_LAB_RT_PRIORITY), '--json']);
  assert.equal(up.code, 0, up.stderr);
  const j = JSON.parse(up.stdout) as { name: string; netns: Record<string, string>; service: { ip: string; port: number }; pids: Record<string, number> };
  try {
    assert.deepEqual(Object.keys(j).sort(), ['name', 'netns', 'pids', 'service']);
    for (const r of ['client', 'primary', 'backup']) assert.ok(netnsExists(j.netns[r]!), `netns ${r}`);
    assert.deepEqual(j.service, { ip: '10.201.0.100', port: 7 });
    assert.ok(alive(j.pids.primary!) && alive(j.pids.backup!));
    // Every thread of both hosts (V8's and the TAP driver's too) runs under SCHED_RR.
    const expected: [number, number] = realtimeUsable(STTCP_LAB_RT_PRIORITY) ? [2, STTCP_LAB_RT_PRIORITY] : [0, 0];
    for (const r of ['primary', 'backup']) {
      const threads = threadSched(j.pids[r]!);
      assert.ok(threads.length > 1, `${r}: threads listed`);
      for (const t of threads) assert.deepEqual(t, expected, `${r}: policy and priority of every thread`);
    }
    const s = readState(j.name)!;
    assert.ok(hostEvents(s, 'primary').some((e) => e.event === 'backup.synced'));
    // The control channel runs on its own link (eth1 between the hosts), not the LAN.
    assert.ok((rxPackets(j.netns.backup!, 'eth1') ?? 0) > 10, 'heartbeats arrive on the control link');
    assert.ok((rxPackets(j.netns.primary!, 'eth1') ?? 0) > 10, 'echoes arrive on the control link');
  } finally {
    const down = await unbroken(['lab', 'down', j.name]);
    assert.equal(down.code, 0, down.stderr);
  }
  for (const ns of Object.values(j.netns)) assert.ok(!netnsExists(ns), `${ns} removed`);
  assert.ok(!alive(j.pids.primary!) && !alive(j.pids.backup!));
  assert.ok(!existsSync(stateFile(j.name)));
});

test('lab up sttcp refuses a bad --mode and leaves nothing behind', { skip, timeout: 30_000 }, async () => {
  const r = await unbroken(['lab', 'up', 'sttcp', '--mode', 'eventual', '--json']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /--mode must be sync or async/);
});

test('lab up sttcp refuses a bad --realtime and leaves nothing behind', { skip, timeout: 30_000 }, async () => {
  const r = await unbroken(['lab', 'up', 'sttcp', '--realtime', '100', '--json']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /--realtime: a SCHED_RR priority 1–99 or 'off'/);
});

test('lab up sttcp refuses a bad --tap and leaves nothing behind', { skip, timeout: 30_000 }, async () => {
  const r = await unbroken(['lab', 'up', 'sttcp', '--tap', 'both', '--json']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /--tap must be one-way or two-way, not 'both'/);
});

test('lab up sttcp --no-control-link: the pair replicates over the service LAN alone, hosts at normal priority (the default)', { skip, timeout: 60_000 }, async () => {
  const up = await unbroken(['lab', 'up', 'sttcp', '--app', 'echo', '--no-control-link', '--json']);
  assert.equal(up.code, 0, up.stderr);
  const j = JSON.parse(up.stdout) as { name: string; netns: Record<string, string>; pids: Record<string, number> };
  try {
    for (const r of ['primary', 'backup']) for (const t of threadSched(j.pids[r]!)) assert.deepEqual(t, [0, 0], `${r}: normal scheduling`);
    assert.equal(rxPackets(j.netns.backup!, 'eth1'), undefined, 'no control link');
    assert.ok(hostEvents(readState(j.name)!, 'primary').some((e) => e.event === 'backup.synced'));
  } finally {
    const down = await unbroken(['lab', 'down', j.name]);
    assert.equal(down.code, 0, down.stderr);
  }
});
