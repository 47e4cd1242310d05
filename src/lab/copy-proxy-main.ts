// The process that runs the copying proxy (copy-proxy.ts) on our stack on a TAP, for the
// craft lab's benchmark: the same stack and driver as the splicer, but every byte copied.
import { TapDevice } from '../drivers/tap/tap-device.js';
import { TapDriver } from '../drivers/tap/tap-driver.js';
import { listenCopyProxy } from './copy-proxy.js';
import { makeStackHost } from './stack-host.js';

export interface CopyProxyConfig {
  tap: string; ip: string; mac: string; prefixLen: number; port: number; seed: number;
  backends: Array<{ ip: string; port: number }>;
}

/** Runs until SIGTERM/SIGINT; resolves with the exit code. */
export async function runCopyProxy(c: CopyProxyConfig): Promise<number> {
  const tap = TapDevice.open(c.tap);
  const host = makeStackHost({ name: 'copy-proxy', mac: c.mac, ip: c.ip, prefixLen: c.prefixLen, seed: c.seed });
  let fatal: Error | undefined;
  const driver = new TapDriver(tap, host, (e) => { fatal = e; });
  listenCopyProxy(host, c.port, { backends: c.backends, nowUs: () => driver.nowUs() });
  driver.start();
  driver.run((now) => host.announce(now));
  console.log(JSON.stringify({ ready: true, pid: process.pid, seed: c.seed }));
  await new Promise<void>((resolve) => { process.once('SIGTERM', resolve); process.once('SIGINT', resolve); });
  console.log(JSON.stringify({ exit: true, counters: host.counters(), driver: driver.counters }));
  await driver.stop();
  return fatal === undefined ? 0 : 1;
}
