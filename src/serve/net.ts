// Plumbing a TAP device for `unbroken serve` into the host's LAN, and taking it out
// again: when the configured interface is a Linux bridge the TAP joins it; otherwise a
// bridge is created with the interface and the TAP as its two ports (as the lab's host
// namespaces do), and removed at shutdown. The TAP port then behaves like a NIC with a
// unicast MAC filter: it receives frames for the given MACs and broadcast only.
// Runs `ip`/`bridge` (iproute2); needs root. Our stack on the TAP is src/serve/sttcp-role.ts.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';

export interface TapPlumbing {
  tap: string;
  /** The bridge the TAP is a port of. */
  bridge: string;
  /** True when serve created the bridge (and moved `iface` into it). */
  createdBridge: boolean;
  /** Devices a serve of this node name killed without cleanup had left, removed before plumbing (ip link del ...). */
  reclaimed: string[];
  /** Undoes everything in reverse order; safe to call twice. Returns what failed, if anything. */
  remove(): string[];
}

export class NetSetupError extends Error {
  constructor(message: string) { super(message); this.name = 'NetSetupError'; }
}

function run(argv: string[]): string {
  try {
    return execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stderr?: string; code?: string };
    if (err.code === 'ENOENT') throw new NetSetupError(`${argv[0]} is not installed (Debian package iproute2)`);
    throw new NetSetupError(`${argv.join(' ')}: ${(err.stderr ?? String(e)).trim()}`);
  }
}

export function interfaceExists(name: string): boolean { return existsSync(`/sys/class/net/${name}`); }

/** A TAP has carrier only while a process holds it open; an abandoned one reads 0 (or cannot be read). */
export function tapInUse(name: string): boolean {
  try { return readFileSync(`/sys/class/net/${name}/carrier`, 'utf8').trim() === '1'; } catch { return false; }
}
export function isBridge(name: string): boolean { return existsSync(`/sys/class/net/${name}/bridge`); }

/** Interface names derived from the node name: stable across restarts, at most 15 characters. */
export function deviceNames(node: string): { tap: string; bridge: string } {
  const h = createHash('sha256').update(node).digest('hex').slice(0, 8);
  return { tap: `ubt${h}`, bridge: `ubb${h}` };
}

/**
 * Creates TAP `names.tap` attached to `iface` (a bridge) or to a new bridge holding
 * `iface`. `macs` are the unicast addresses our stack answers to on it.
 */
export function plumbTap(iface: string, macs: readonly string[], names: { tap: string; bridge: string }): TapPlumbing {
  if (process.getuid?.() !== 0) throw new NetSetupError('serve needs root to create its TAP device (run as root, or under systemd as the unit file does)');
  if (!interfaceExists(iface)) throw new NetSetupError(`interface ${iface} does not exist here (ip link show); set the interface field to one that does`);
  // A serve of this node name that was killed (SIGKILL, a crash) leaves its TAP and bridge
  // behind; one that runs holds its TAP open. Reclaim the first, refuse beside the second.
  if (interfaceExists(names.tap) && tapInUse(names.tap)) throw new NetSetupError(`${names.tap} exists and is held open: another serve with this node name runs here; give each process its own node name`);
  const reclaimed: string[] = [];
  for (const dev of [names.tap, names.bridge]) {
    if (!interfaceExists(dev)) continue;
    run(['ip', 'link', 'del', dev]);
    reclaimed.push(dev);
  }
  const undo: Array<{ what: string; fn: () => void }> = [];
  const remove = (): string[] => {
    const failed: string[] = [];
    while (undo.length > 0) {
      const u = undo.pop()!;
      try { u.fn(); } catch (e) { failed.push(`${u.what}: ${(e as Error).message}`); }
    }
    return failed;
  };
  try {
    let bridge = iface;
    let createdBridge = false;
    if (!isBridge(iface)) {
      bridge = names.bridge;
      // ageing_time 0: nothing stays learned, so the uplink's frames reach the TAP port's filter.
      run(['ip', 'link', 'add', bridge, 'type', 'bridge', 'ageing_time', '0', 'stp_state', '0']);
      undo.push({ what: `ip link del ${bridge}`, fn: () => { if (interfaceExists(bridge)) run(['ip', 'link', 'del', bridge]); } });
      run(['ip', 'link', 'set', bridge, 'up']);
      run(['ip', 'link', 'set', iface, 'master', bridge, 'up']);
      undo.push({ what: `ip link set ${iface} nomaster`, fn: () => { if (interfaceExists(iface)) run(['ip', 'link', 'set', iface, 'nomaster']); } });
      run(['bridge', 'link', 'set', 'dev', iface, 'learning', 'off']);
      createdBridge = true;
    }
    run(['ip', 'tuntap', 'add', 'dev', names.tap, 'mode', 'tap']);
    undo.push({ what: `ip link del ${names.tap}`, fn: () => { if (interfaceExists(names.tap)) run(['ip', 'link', 'del', names.tap]); } });
    run(['ip', 'link', 'set', names.tap, 'master', bridge, 'up']);
    // A NIC's unicast filter: only frames for our MACs (and broadcast) reach the stack.
    run(['bridge', 'link', 'set', 'dev', names.tap, 'flood', 'off', 'learning', 'off']);
    // replace, not add: a bridge that already learned a MAC on the uplink keeps that entry on
    // `add`. sticky: frames from the other host with the service MAC must not move it back.
    for (const mac of macs) run(['bridge', 'fdb', 'replace', mac, 'dev', names.tap, 'master', 'static', 'sticky']);
    return { tap: names.tap, bridge, createdBridge, reclaimed, remove };
  } catch (e) {
    remove();
    throw e;
  }
}
