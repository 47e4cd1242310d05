// The Prometheus scrape endpoint: a small node:http server bound to a configured
// "host:port" that answers GET /metrics from a prom-client registry. Nothing else is
// served; what the metrics are is metrics.ts.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { parseHostPort } from '../config/address.js';

export interface MetricsServer {
  /** e.g. http://127.0.0.1:9464/metrics */
  url: string;
  host: string;
  port: number;
  close(): Promise<void>;
}

/** Limits: scrapers are few; a stuck client must not hold the process. */
const SERVER_LIMITS = { connections: 32, headersTimeoutMs: 5_000, requestTimeoutMs: 10_000 } as const;

/** Starts serving `registry` on `listen` ("127.0.0.1:9464"; port 0 picks a free one). Rejects on a bad address or a bind error. */
export function startMetricsServer(registry: Registry, listen: string): Promise<MetricsServer> {
  const addr = parseHostPort(listen);
  if (!addr) return Promise.reject(new Error(`metrics listen address must be host:port, e.g. 127.0.0.1:9464 (got ${JSON.stringify(listen)})`));
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    if (path === '/metrics') {
      registry.metrics().then(
        (body) => { res.writeHead(200, { 'content-type': registry.contentType }); res.end(req.method === 'HEAD' ? undefined : body); },
        (err: unknown) => { res.writeHead(500, { 'content-type': 'text/plain' }).end(`collecting metrics failed: ${String(err)}\n`); },
      );
      return;
    }
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('unbroken metrics: GET /metrics\n');
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found; try /metrics\n');
  });
  server.maxConnections = SERVER_LIMITS.connections;
  server.headersTimeout = SERVER_LIMITS.headersTimeoutMs;
  server.requestTimeout = SERVER_LIMITS.requestTimeoutMs;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(addr.port, addr.host, () => {
      server.off('error', reject);
      const a = server.address() as AddressInfo;
      const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
      resolve({
        url: `http://${host}:${a.port}/metrics`,
        host: a.address,
        port: a.port,
        close: () => new Promise<void>((done) => { server.close(() => done()); server.closeAllConnections(); }),
      });
    });
  });
}
