// `unbroken lab up sttcp --json` prints the lab contract (client, primary, backup
// namespaces; the hosts' pids), the pair is replicating, and `lab down` removes it all.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { UNBROKEN_BIN_PATH } from '../../src/lab/lab.js';
import { netnsExists, sh } from '../../src/lab/netns.js';
import { labSkip } from '../../src/lab/prerequisites.js';
import { hostEvents } from '../../src/lab/sttcp-topology.js';
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

test('lab up sttcp --json: contract JSON, hosts replicating, lab down removes everything', { skip, timeout: 60_000 }, async () => {
  const up = await unbroken(['lab', 'up', 'sttcp', '--app', 'echo', '--mode', 'async', '--json']);
  assert.equal(up.code, 0, up.stderr);
  const j = JSON.parse(up.stdout) as { name: string; netns: Record<string, string>; service: { ip: string; port: number }; pids: Record<string, number> };
  try {
    assert.deepEqual(Object.keys(j).sort(), ['name', 'netns', 'pids', 'service']);
    for (const r of ['client', 'primary', 'backup']) assert.ok(netnsExists(j.netns[r]!), `netns ${r}`);
    assert.deepEqual(j.service, { ip: '10.201.0.100', port: 7 });
    assert.ok(alive(j.pids.primary!) && alive(j.pids.backup!));
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

test('lab up sttcp --no-control-link: the pair replicates over the service LAN alone', { skip, timeout: 60_000 }, async () => {
  const up = await unbroken(['lab', 'up', 'sttcp', '--app', 'echo', '--no-control-link', '--json']);
  assert.equal(up.code, 0, up.stderr);
  const j = JSON.parse(up.stdout) as { name: string; netns: Record<string, string> };
  try {
    assert.equal(rxPackets(j.netns.backup!, 'eth1'), undefined, 'no control link');
    assert.ok(hostEvents(readState(j.name)!, 'primary').some((e) => e.event === 'backup.synced'));
  } finally {
    const down = await unbroken(['lab', 'down', j.name]);
    assert.equal(down.code, 0, down.stderr);
  }
});
