// What the craft lab's benchmark puts beside the splicer, in splicer0's namespace (the
// same position on the LAN): HAProxy on the kernel's TCP (the namespace's bridge gets an
// address), the copying proxy on our stack (its own TAP) and a splicer without a peer
// (its own TAP and address: the splicer's cost without replication). All balance over
// the same back ends. Their processes are recorded in the lab state, so `lab down` stops them.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { startLabProcess } from './lab.js';
import { LabError, sh } from './netns.js';
import { addTap, randomSeed } from './pair.js';
import { CRAFT_LAB_LIVENESS, CRAFT_NET, waitListen } from './craft-topology.js';
import type { CraftHostConfig } from './craft-host-main.js';
import { writeState, type LabState } from './state.js';
import type { CopyProxyConfig } from './copy-proxy-main.js';

function backendList(s: LabState): Array<{ ip: string; port: number }> {
  return Object.keys(s.netns).filter((r) => /^backend\d+$/.test(r)).sort()
    .map((r) => ({ ip: CRAFT_NET.backendIp(Number(r.slice(7))), port: s.service.port }));
}

/** HAProxy (mode http, one thread, round-robin) at extraIp(0) in splicer0's namespace. Returns its address. */
export async function addHaproxy(s: LabState): Promise<{ ip: string; port: number }> {
  const ns = s.netns.splicer0!;
  const ip = CRAFT_NET.extraIp(0);
  sh(['ip', '-n', ns, 'addr', 'add', `${ip}/${CRAFT_NET.prefixLen}`, 'dev', 'br0']);
  const cfg = join(s.dir, 'haproxy.cfg');
  writeFileSync(cfg, [
    'global', '  maxconn 4096', '  nbthread 1',
    'defaults', '  mode http', '  timeout connect 5s', '  timeout client 60s', '  timeout server 60s',
    'frontend fe', `  bind ${ip}:${s.service.port}`, '  default_backend be',
    'backend be', '  balance roundrobin',
    ...backendList(s).map((b, i) => `  server b${i} ${b.ip}:${b.port}`), '',
  ].join('\n'));
  const fd = openSync(join(s.dir, 'haproxy.log'), 'a');
  const child = spawn('ip', ['netns', 'exec', ns, 'haproxy', '-db', '-f', cfg], { detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  child.unref();
  if (child.pid === undefined) throw new LabError('could not start haproxy');
  s.pids.haproxy = child.pid;
  writeState(s);
  await waitListen(ns, ip, s.service.port, 10_000, child.pid);
  return { ip, port: s.service.port };
}

/** The copying proxy on our stack at extraIp(1), on tap1 in splicer0's namespace. Returns its address. */
export async function addCopyProxy(s: LabState): Promise<{ ip: string; port: number }> {
  const ns = s.netns.splicer0!;
  addTap(ns, 'tap1');
  const cfg: CopyProxyConfig = {
    tap: 'tap1', ip: CRAFT_NET.extraIp(1), mac: CRAFT_NET.extraMac(1), prefixLen: CRAFT_NET.prefixLen,
    port: s.service.port, seed: randomSeed(), backends: backendList(s),
  };
  await startLabProcess(s, 'copyproxy', ns, 'run-copy-proxy', cfg);
  return { ip: cfg.ip, port: cfg.port };
}

/** A second splicer, alone (no peer, no replication), at extraIp(2) on tap2 in splicer0's namespace. */
export async function addSoloSplicer(s: LabState): Promise<{ ip: string; port: number }> {
  const ns = s.netns.splicer0!;
  addTap(ns, 'tap2');
  const backends = backendList(s);
  const cfg: CraftHostConfig = {
    role: 'solo', nodeId: 9, tap: 'tap2', ownIp: CRAFT_NET.extraIp(2), ownMac: CRAFT_NET.extraMac(3), peerIp: CRAFT_NET.extraIp(2),
    serviceIp: CRAFT_NET.extraIp(2), serviceMac: CRAFT_NET.extraMac(2), prefixLen: CRAFT_NET.prefixLen, port: s.service.port,
    backends: backends.map((b, i) => ({ id: `backend${i}`, ...b })), seed: randomSeed(),
    heartbeatUs: CRAFT_LAB_LIVENESS.heartbeatUs, deadAfterUs: CRAFT_LAB_LIVENESS.deadAfterUs,
  };
  await startLabProcess(s, 'solosplicer', ns, 'run-craft', cfg);
  return { ip: cfg.serviceIp, port: cfg.port };
}
