// `unbroken serve --config FILE`: load and validate the config (src/config/), start the
// JSON logger and the Prometheus endpoint (src/observe/), run the one role the file
// names (sttcp-primary/backup, splicer, backend, call-controller, media-gateway) until SIGTERM or SIGINT, then stop it and remove what it created (TAP device,
// bridge). Exit codes: 0 clean stop, 1 invalid config, 2 the role could not start,
// 3 the role stopped but something it created could not be removed.
import { formatConfigErrors, loadConfigFile } from '../config/load.js';
import type { ServeConfig } from '../config/schema.js';
import { createLogger, type EventLogger } from '../observe/log.js';
import { createMetrics, type UnbrokenMetrics } from '../observe/metrics.js';
import { startMetricsServer, type MetricsServer } from '../observe/metrics-server.js';
import { startSttcpRole } from './sttcp-role.js';
import { startSplicerRole } from './splicer-role.js';
import { startBackendRole } from './backend-role.js';
import { startControllerRole, startGatewayRole } from './calls-roles.js';
import type { RunningRole } from './types.js';
import { ServeError } from './types.js';
import { NetSetupError } from './net.js';

export interface ServeOptions {
  configPath: string;
  /** Where errors before the logger exists go (the terminal). */
  stderr: (line: string) => void;
  /** Resolves when the process should stop (default: the first SIGTERM or SIGINT). */
  stopSignal?: Promise<string>;
}

export const SERVE_EXIT = { ok: 0, invalidConfig: 1, startFailed: 2, cleanupFailed: 3 } as const;

function waitForSignal(): Promise<string> {
  return new Promise((resolve) => {
    const on = (sig: string) => (): void => { process.off('SIGTERM', term); process.off('SIGINT', int); resolve(sig); };
    const term = on('SIGTERM');
    const int = on('SIGINT');
    process.once('SIGTERM', term);
    process.once('SIGINT', int);
  });
}

async function startRole(c: ServeConfig, node: string, log: EventLogger, metrics: UnbrokenMetrics): Promise<RunningRole> {
  switch (c.role) {
    case 'sttcp-primary':
    case 'sttcp-backup':
      return startSttcpRole(c.role, node, c.sttcp, log, metrics);
    case 'call-controller':
      return startControllerRole(node, c.controller, log, metrics);
    case 'media-gateway':
      return startGatewayRole(node, c.gateway, log, metrics, process.stdin);
    case 'splicer':
      return startSplicerRole(node, c.splicer, log, metrics);
    case 'backend':
      return startBackendRole(node, c.backend, log, metrics);
  }
}

export async function runServe(o: ServeOptions): Promise<number> {
  // Install the handlers first: a signal during start-up must still stop us cleanly.
  const stopSignal = o.stopSignal ?? waitForSignal();
  const r = loadConfigFile(o.configPath);
  if (!r.ok) {
    o.stderr(formatConfigErrors(o.configPath, r.errors));
    return SERVE_EXIT.invalidConfig;
  }
  const c = r.config;
  const node = c.node ?? c.role;
  const log = createLogger({ level: c.log.level, bindings: { node, role: c.role } });
  log.event('config.loaded', { path: o.configPath, role: c.role });
  const metrics = createMetrics({ defaultLabels: { node, role: c.role }, processMetrics: true });
  let server: MetricsServer | undefined;
  let role: RunningRole | undefined;
  try {
    if (c.metrics) {
      server = await startMetricsServer(metrics.registry, c.metrics.listen);
      log.event('metrics.listening', { url: server.url });
    }
    role = await startRole(c, node, log, metrics);
  } catch (e) {
    const known = e instanceof ServeError || e instanceof NetSetupError || (e as NodeJS.ErrnoException).code !== undefined;
    log.event('server.failed', { error: (e as Error).message }, `cannot start ${c.role}: ${(e as Error).message}`);
    if (!known) o.stderr((e as Error).stack ?? String(e));
    await server?.close();
    return SERVE_EXIT.startFailed;
  }
  log.event('server.started', { ...role.describe, metrics: server?.url });
  const sig = await stopSignal;
  log.event('server.stopping', { signal: sig });
  const failed = await role.stop();
  await server?.close();
  for (const f of failed) log.event('cleanup.failed', { what: f }, `could not undo: ${f}`);
  log.event('server.stopped', { cleanupFailures: failed.length }, 'stopped');
  return failed.length === 0 ? SERVE_EXIT.ok : SERVE_EXIT.cleanupFailed;
}
