// The application a serve role runs on our stack, from its `app` config: a built-in app
// (echo, blob, http files, resp key-value), or the relay to an unmodified server on this
// host's loopback (src/apps/relay). The relay's upstream sockets report outside the TAP
// driver's turn, so their effects are queued and run inside one (`turns`), at the
// current time, so that what the relay writes is sent at once — as the lab's ST-TCP host
// does (src/lab/sttcp-host-main.ts).
import { createApp, type ReplicableApp } from '../apps/index.js';
import { RelayApp } from '../apps/relay/relay-app.js';
import { netUpstream, waitForUpstream } from '../apps/relay/net-upstream.js';
import { FsFileStore } from '../drivers/fs-file-store.js';
import type { FrameEndpoint } from '../stack/endpoint.js';
import type { StreamService } from '../stack/app.js';
import type { TapDriver } from '../drivers/tap/tap-driver.js';
import { parseHostPort } from '../config/address.js';
import type { AppConfig } from '../config/schema.js';
import type { EventLogger } from '../observe/log.js';
import { ServeError } from './types.js';

/** How long serve waits at start for the relayed server to accept a connection. */
export const RELAY_WAIT_MS = 10_000;

export function appFromConfig(a: Exclude<AppConfig, { kind: 'relay' }>): ReplicableApp {
  switch (a.kind) {
    case 'echo': return createApp('echo');
    case 'resp': return createApp('resp');
    case 'blob': return createApp('blob', { blobBytesOnConnect: a.sizeBytes });
    case 'http': return createApp('http', { store: new FsFileStore(a.root) });
  }
}

/** Runs callbacks from outside the driver (socket events) inside one of its turns. */
export class DriverTurns {
  private driver: TapDriver | undefined;
  private endpoint: FrameEndpoint | undefined;
  private readonly queued: Array<() => void> = [];

  /** Until attach(), callbacks run at once (nothing is on the wire yet). */
  attach(driver: TapDriver, endpoint: FrameEndpoint): void { this.driver = driver; this.endpoint = endpoint; }

  readonly enter = (fn: () => void): void => {
    if (this.driver === undefined) { fn(); return; }
    this.queued.push(fn);
    // The events of one I/O phase share one turn: one clock update, one drain.
    if (this.queued.length === 1) setImmediate(this.runQueued);
  };

  private readonly runQueued = (): void => {
    const batch = this.queued.splice(0);
    const ep = this.endpoint!;
    this.driver!.run((now) => {
      ep.handleTimeout(now);
      for (const fn of batch) fn();
    });
  };
}

export interface ServedApp {
  kind: AppConfig['kind'];
  service: StreamService;
  /** A built-in app that ST-TCP can resume from a snapshot (a joining backup). */
  app?: ReplicableApp;
  /** Why a joining ST-TCP backup is refused (the relay: the server's state cannot be copied). */
  joinRefusal?: string;
  counters(): Readonly<Record<string, number>>;
  describe: string;
}

/**
 * The app of `a`. For the relay, waits up to `waitMs` for the server at the target
 * to accept a connection (a ServeError naming `field` if it does not) and logs each
 * upstream failure as relay.failed.
 */
export async function serveApp(a: AppConfig, field: string, turns: DriverTurns, log: EventLogger, waitMs = RELAY_WAIT_MS): Promise<ServedApp> {
  if (a.kind !== 'relay') {
    const app = appFromConfig(a);
    return { kind: a.kind, service: app.service, app, counters: () => app.counters(), describe: a.kind };
  }
  const up = parseHostPort(a.target)!;   // validated: loopback host:port
  try {
    await waitForUpstream(up.host, up.port, waitMs);
  } catch (e) {
    throw new ServeError(`${field}.target: ${(e as Error).message}; start that server first (serve relays each connection to it)`);
  }
  const relay = new RelayApp({
    connector: netUpstream({ host: up.host, port: up.port, enter: turns.enter }),
    onError: (conn, e) => log.event('relay.failed', { conn, code: e.code, detail: e.detail }, `upstream ${a.target}: ${e.code}`),
  });
  return {
    kind: 'relay', service: relay.service,
    joinRefusal: `relayed to ${a.target}: the server's state cannot be copied to a joining backup`,
    counters: () => relay.counters(), describe: `relay to ${a.target}`,
  };
}
