// Structured JSON logs (pino) with stable event names: one line per event, field
// `event` from LOG_EVENTS so operators can alert on it. The event table is the
// contract; wording of `msg` is not. Metrics are metrics.ts.
import { pino } from 'pino';
import type { DestinationStream, Logger } from 'pino';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';
export const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];

/** Every event name the project logs, its default level and what it means. Names never change once released. */
export const LOG_EVENTS = {
  'server.started': { level: 'info', help: 'unbroken serve is running its role (fields: role, node).' },
  'server.stopping': { level: 'info', help: 'Orderly shutdown began (fields: signal).' },
  'config.loaded': { level: 'info', help: 'Config file validated (fields: path, role).' },
  'config.invalid': { level: 'error', help: 'Config file rejected (fields: path, errors).' },
  'metrics.listening': { level: 'info', help: 'Prometheus endpoint bound (fields: url).' },
  'connection.opened': { level: 'debug', help: 'A client connection was established (fields: conn, client).' },
  'connection.closed': { level: 'debug', help: 'A connection ended (fields: conn, reason, bytesIn, bytesOut).' },
  'connection.reset': { level: 'warn', help: 'A connection was reset by us or the peer (fields: conn, reason).' },
  'peer.up': { level: 'info', help: 'The control-channel peer answered (fields: peer).' },
  'peer.lost': { level: 'warn', help: 'The peer stopped answering before it was declared failed (fields: peer, missed).' },
  'heartbeat.missed': { level: 'debug', help: 'One heartbeat interval passed with no heartbeat (fields: peer, missed).' },
  'control.rejected': { level: 'warn', help: 'A control message was dropped (fields: peer, reason: bad-mac|replay|malformed|unknown-peer).' },
  'backup.syncing': { level: 'info', help: 'The backup is receiving snapshots of live connections (fields: connections).' },
  'backup.synced': { level: 'info', help: 'The backup shadows every live connection; a crash is now survivable (fields: connections).' },
  'backup.lost': { level: 'warn', help: 'The primary lost its backup and serves alone (degraded).' },
  'lease.lapsed': { level: 'warn', help: 'The primary\'s lease ran out; it stopped using the service address (fields: leaseMs).' },
  'lease.restored': { level: 'info', help: 'The primary heard its backup again and resumed using the service address.' },
  'stepped.down': { level: 'warn', help: 'This host stopped serving to avoid two hosts using the service address (fields: reason).' },
  'connection.shadowed': { level: 'debug', help: 'The backup built a shadow of a connection (fields: conn, isn).' },
  'range.requested': { level: 'debug', help: 'The backup asked the primary for bytes it missed on the tap (fields: conn, from, bytes).' },
  'failover.detected': { level: 'warn', help: 'The peer was declared failed (fields: peer, missed, sinceLastHeartbeatMs).' },
  'fence.done': { level: 'warn', help: 'The fencing command ran before takeover and the peer is certainly down (fields: command, exitCode, ms).' },
  'takeover.started': { level: 'warn', help: 'Takeover began (fields: connections).' },
  'takeover.complete': { level: 'warn', help: 'Service address announced and connections live (fields: connections, takeoverMs).' },
  'takeover.fault': { level: 'error', help: 'A connection could not be taken over and was reset (fields: conn, reason).' },
  'takeover.lost-bytes': { level: 'error', help: 'async mode: a connection lacked acknowledged bytes at takeover and was reset (fields: conn, bytes).' },
  'output.diverged': { level: 'error', help: 'The replica\'s output differed from what the primary sent (fields: conn, offset).' },
  'splice.created': { level: 'debug', help: 'A client connection was spliced to a back end (fields: conn, backend).' },
  'splice.replicated': { level: 'debug', help: 'Splice state reached the peer splicers (fields: conn, peers).' },
  'splice.removed': { level: 'debug', help: 'A splice ended and its state was dropped (fields: tUs; msg: the splice and why).' },
  'splice.error-response': { level: 'info', help: 'The splicer answered a request itself with an HTTP error (no route, no back end up, bad request head) (fields: tUs).' },
  'replication.failed': { level: 'warn', help: 'The peer splicer never confirmed a splice\'s state after every retry; a failover now would lose that splice (fields: tUs; msg names the splice).' },
  'splice.moved': { level: 'warn', help: 'A splice was re-spliced to another back end (fields: conn, from, to, offset).' },
  'backend.down': { level: 'warn', help: 'A back end was marked down (fields: backend, reason).' },
  'backend.up': { level: 'info', help: 'A back end was marked up (fields: backend).' },
  'gateway.registered': { level: 'info', help: 'A media gateway registered (fields: gateway, method).' },
  'gateway.failover': { level: 'warn', help: 'A media gateway moved to this controller with ServiceChange Failover (fields: gateway, from).' },
  'call.started': { level: 'debug', help: 'A call was set up (fields: call, from, to).' },
  'call.preserved': { level: 'info', help: 'A call was rebuilt after a controller failover (fields: call).' },
  'call.released': { level: 'info', help: 'A call ended (fields: call, reason).' },
  'cdr.written': { level: 'debug', help: 'A call detail record was stored (fields: call).' },
  'cdr.failed': { level: 'error', help: 'A call detail record could not be stored (fields: call, error).' },
  'server.failed': { level: 'fatal', help: 'unbroken serve could not start its role; it exits 2 (fields: error).' },
  'server.stopped': { level: 'info', help: 'Orderly shutdown finished (fields: cleanupFailures).' },
  'cleanup.failed': { level: 'error', help: 'Something serve created could not be removed at shutdown (fields: what).' },
  'interface.attached': { level: 'info', help: 'serve attached its TAP device to the LAN (fields: tap, bridge, createdBridge, interface; reclaimed: devices a serve of the same node name killed without cleanup had left, removed first).' },
  'tap.failed': { level: 'fatal', help: 'The TAP device failed; the role stops receiving frames (fields: error).' },
  'socket.error': { level: 'error', help: 'A UDP socket of a calls role failed (fields: error).' },
  'node.final': { level: 'info', help: 'The ST-TCP node\'s counters at shutdown (fields: stats, driver).' },
  'protection.changed': { level: 'info', help: 'ST-TCP protection changed: protected, degraded, standby or down (fields: text).' },
  'backup.joining': { level: 'info', help: 'A backup joins a serving primary by snapshot transfer (fields: text).' },
  'backup.join-abandoned': { level: 'warn', help: 'A backup\'s join was abandoned; the primary stays degraded (fields: text).' },
  'snapshot.applied': { level: 'info', help: 'A joining backup received the live connections\' records (fields: text).' },
  'gateway.rebuilt': { level: 'info', help: 'A gateway that registered is audited and usable (fields: gateway, fragments).' },
  'gateway.lost': { level: 'warn', help: 'A registered gateway stopped answering or moved away (fields: gateway, why).' },
  'call.feature': { level: 'info', help: 'A call feature was used: hold, transfer, conference, ... (fields: call, feature).' },
  'phone.command': { level: 'info', help: 'A media gateway line was driven from stdin (fields: line, op).' },
  'relay.failed': { level: 'warn', help: 'A relayed connection\'s upstream (the local server of app relay) failed; the connection ends (fields: conn, code, detail).' },
  'phone.rejected': { level: 'warn', help: 'A phone command on stdin was not understood (fields: command, error).' },
} as const satisfies Record<string, { level: LogLevel; help: string }>;

export type LogEvent = keyof typeof LOG_EVENTS;

export function isLogEvent(s: string): s is LogEvent {
  return Object.hasOwn(LOG_EVENTS, s);
}

export interface EventLogger {
  /** Log a named event at its table level (or `level`). `fields` cannot override `event`. */
  event(name: LogEvent, fields?: Record<string, unknown>, msg?: string, level?: LogLevel): void;
  child(bindings: Record<string, unknown>): EventLogger;
  /** The pino logger underneath, for libraries that want one. */
  readonly pino: Logger;
}

export interface LoggerOptions {
  level?: LogLevel;
  /** Bound on every line, e.g. {node: 'a', role: 'sttcp-backup'}. */
  bindings?: Record<string, unknown>;
  /** Where lines go; stdout by default. */
  destination?: DestinationStream | NodeJS.WritableStream;
}

export function createLogger(opts: LoggerOptions = {}): EventLogger {
  const logger = pino({
    level: opts.level ?? 'info',
    base: { pid: process.pid, ...(opts.bindings ?? {}) },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    messageKey: 'msg',
  }, (opts.destination ?? pino.destination({ dest: 1, sync: true })) as DestinationStream);
  return wrap(logger);
}

function wrap(logger: Logger): EventLogger {
  return {
    pino: logger,
    event(name, fields = {}, msg, level) {
      const lvl = level ?? LOG_EVENTS[name].level;
      logger[lvl]({ ...fields, event: name }, msg ?? name);
    },
    child(bindings) {
      return wrap(logger.child(bindings));
    },
  };
}
