// Test helper: a client on our stack that sends a byte stream as fast as TCP lets it
// while reading the replies in bursts (reading paused most of the time), against an app
// served by a second host — the client that backs an app's output up while its input
// keeps coming. Not used at runtime.
import { Host } from '../stack/host.js';
import { Pump } from '../stack/test-pump.js';
import type { CloseReason, StreamApp, StreamService } from '../stack/app.js';
import type { HostStreamConnection } from '../stack/tcp-demux.js';
import { SeededRng } from '../util/rng.js';

export interface SlowReaderResult {
  /** Everything the client read. */
  received: Uint8Array;
  /** The server's FIN arrived. */
  ended: boolean;
  /** How the client's connection closed, if it did (a reset: the app cut it off). */
  closed: CloseReason | undefined;
}

/**
 * Sends `data` (then FIN) to `service`; the client's reading is paused for `pausedUs`
 * and open for `readingUs`, alternately, until the server's FIN or `limitUs` of virtual time.
 */
export function slowReaderRun(service: StreamService, data: Uint8Array, opts: { pausedUs: number; readingUs: number; limitUs: number }): SlowReaderResult {
  const mk = (n: number): Host => new Host({ name: `h${n}`, mac: `02:00:00:00:00:0${n}`, ip: `10.0.0.${n}`, prefixLen: 24, rng: new SeededRng(300 + n) });
  const client = mk(1);
  const server = mk(2);
  const pump = new Pump([client, server], 100);
  server.listen(5000, service);
  const got: Uint8Array[] = [];
  let receivedBytes = 0;
  let ended = false;
  let closed: CloseReason | undefined;
  let off = 0;
  const app = (conn: HostStreamConnection): StreamApp => {
    const push = (): void => {
      while (off < data.length) {
        const n = conn.write(data.subarray(off, Math.min(data.length, off + 64 * 1024)));
        off += n;
        if (n === 0) return;
      }
      conn.end();
    };
    return {
      onOpen: push,
      onData(d) { got.push(d.slice()); receivedBytes += d.length; },
      onEnd() { ended = true; },
      onWritable: push,
      onClose(r) { closed = r; },
    };
  };
  const conn = client.connect('10.0.0.2', 5000, app, 0);
  for (let guard = 0; guard < 1_000_000 && !ended && closed === undefined && pump.nowUs < opts.limitUs; guard++) {
    conn.pauseReading();
    pump.run(opts.pausedUs);
    conn.resumeReading();
    client.handleTimeout(pump.nowUs);
    pump.run(opts.readingUs);
  }
  const received = new Uint8Array(receivedBytes);
  let o = 0;
  for (const g of got) { received.set(g, o); o += g.length; }
  return { received, ended, closed };
}
