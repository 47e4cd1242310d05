// A copying TCP proxy on our stack: the baseline the CRAFT splicer is measured against.
// It terminates the client's connection, opens one to a back end (round-robin), and
// copies bytes both ways through its own send buffers, with back-pressure (a side whose
// peer cannot take more stops reading) and half-closes passed on. What a splice avoids:
// every byte crosses two TCP connections' buffers. Sans-IO: the host is driven outside.
import type { Host } from '../stack/host.js';
import type { HostStreamConnection } from '../stack/tcp-demux.js';
import type { StreamApp } from '../stack/app.js';
import type { TcpEngine } from '../stack/tcp-engine.js';

export interface CopyProxyOptions {
  backends: Array<{ ip: string; port: number }>;
  /** The driver's clock (connect needs the current time). */
  nowUs: () => number;
  /** Client bytes held before the back-end connection opens. */
  pendingMaxBytes?: number;
}

/** One direction: bytes read from `from` waiting to be accepted by `to`. */
class Pipe {
  private queue: Uint8Array[] = [];
  private ended = false;
  to: HostStreamConnection | undefined;
  constructor(private readonly from: () => HostStreamConnection | undefined, private readonly limit: number) {}

  push(d: Uint8Array): void {
    this.queue.push(d.slice());
    this.pump();
    if (this.queue.length > 0) this.from()?.pauseReading();
  }

  end(): void { this.ended = true; this.pump(); }

  /** Writes what the other side accepts; resumes reading once everything is through. */
  pump(): void {
    const to = this.to;
    if (to === undefined) {
      if (this.queue.reduce((a, c) => a + c.length, 0) > this.limit) this.from()?.pauseReading();
      return;
    }
    while (this.queue.length > 0) {
      const head = this.queue[0]!;
      const n = to.write(head);
      if (n < head.length) { this.queue[0] = head.subarray(n); return; }
      this.queue.shift();
    }
    this.from()?.resumeReading();
    if (this.ended) { this.ended = false; to.end(); }
  }
}

/** Listens on `port` of `host` and proxies each connection to the next back end. */
export function listenCopyProxy<C extends TcpEngine>(host: Host<C>, port: number, o: CopyProxyOptions): void {
  let next = 0;
  const limit = o.pendingMaxBytes ?? 64 * 1024;
  host.listen(port, (client: HostStreamConnection): StreamApp => {
    const b = o.backends[next++ % o.backends.length]!;
    let backend: HostStreamConnection | undefined;
    const up = new Pipe(() => client, limit);            // client → back end
    const down = new Pipe(() => backend, limit);         // back end → client
    down.to = client;
    backend = host.connect(b.ip, b.port, () => ({
      onOpen: () => { up.to = backend; up.pump(); },
      onData: (d) => down.push(d),
      onEnd: () => down.end(),
      onWritable: () => up.pump(),
      onClose: (reason) => { if (reason !== 'closed') client.destroy(); },
    }), o.nowUs());
    return {
      onData: (d) => up.push(d),
      onEnd: () => up.end(),
      onWritable: () => down.pump(),
      onClose: (reason) => { if (reason !== 'closed') backend?.destroy(); },
    };
  });
}
