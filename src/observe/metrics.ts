// The project's Prometheus metrics: names, help texts and label sets in one table, a
// registry factory (prom-client) and a bridge for the stack's plain counters. The
// HTTP endpoint is metrics-server.ts; protocol code never imports this (drivers do).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Every metric the project exports. Names follow Prometheus conventions: `_total`
 * for counters, base units (`_seconds`, `_bytes`) in the name. README/docs list this table.
 */
export const METRIC_DOCS = {
  connections: {
    name: 'unbroken_connections', type: 'gauge', labels: ['role'],
    help: 'By role: TCP connections this process serves (ST-TCP primary) or shadows (backup); gateways registered (call controller); calls in progress, as H.248 contexts (media gateway).',
  },
  replicationLagBytes: {
    name: 'unbroken_replication_lag_bytes', type: 'gauge', labels: [],
    help: 'ST-TCP: bytes the primary\'s application has read that the backup has not yet acknowledged, summed over connections (retention buffer fill). In sync mode this bounds what the client may still have un-ACKed.',
  },
  heartbeatsMissed: {
    name: 'unbroken_heartbeats_missed_total', type: 'counter', labels: ['peer'],
    help: 'Heartbeat intervals that passed without a valid heartbeat from the peer.',
  },
  failovers: {
    name: 'unbroken_failovers_total', type: 'counter', labels: ['technique', 'kind'],
    help: 'Failovers this process performed: technique sttcp|craft|calls, kind takeover (peer crashed) | backend (re-splice) | failback.',
  },
  takeoverSeconds: {
    name: 'unbroken_takeover_seconds', type: 'histogram', labels: ['technique'],
    help: 'Time from the last sign of life of the failed peer to the end of takeover (service address announced, connections live): the server-side part of the pause a client sees.',
  },
  splices: {
    name: 'unbroken_splices', type: 'gauge', labels: [],
    help: 'CRAFT: spliced connections whose splice state this splicer holds (its own and replicated ones).',
  },
  callsPreserved: {
    name: 'unbroken_calls_preserved_total', type: 'counter', labels: [],
    help: 'Calls rebuilt by this call controller after a controller failover and kept with their features.',
  },
  callsActive: {
    name: 'unbroken_calls_active', type: 'gauge', labels: [],
    help: 'Calls this controller currently controls.',
  },
  callsReleased: {
    name: 'unbroken_calls_released_total', type: 'counter', labels: ['reason'],
    help: 'Calls ended, by release reason (normal, busy, no-answer, failover-unstable, ...).',
  },
  degraded: {
    name: 'unbroken_degraded', type: 'gauge', labels: [],
    help: '1 while this process serves without a working peer (backup lost or not yet synced), else 0.',
  },
  controlRejected: {
    name: 'unbroken_control_rejected_total', type: 'counter', labels: ['reason'],
    help: 'Control-channel messages dropped: bad-mac (HMAC mismatch), replay, malformed, unknown-peer.',
  },
  stackEvents: {
    name: 'unbroken_stack_events_total', type: 'counter', labels: ['host', 'counter'],
    help: 'The TCP/IP stack\'s own counters (segments in/out, retransmits, resets, drops by reason), per stack host, copied at scrape time.',
  },
} as const;

export type MetricKey = keyof typeof METRIC_DOCS;

/** Buckets for takeover time: 1 ms to 10 s, dense around the 50 ms goal. */
export const TAKEOVER_BUCKETS_SECONDS = [0.001, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

/** Bounds for the stack bridge (a scrape must stay small whatever registers). */
export const STACK_LIMITS = { sources: 64, countersPerSource: 256 } as const;

export type StackCounterSource = () => Readonly<Record<string, number>>;

export interface UnbrokenMetrics {
  registry: Registry;
  connections: Gauge<'role'>;
  replicationLagBytes: Gauge;
  heartbeatsMissed: Counter<'peer'>;
  failovers: Counter<'technique' | 'kind'>;
  takeoverSeconds: Histogram<'technique'>;
  splices: Gauge;
  callsPreserved: Counter;
  callsActive: Gauge;
  callsReleased: Counter<'reason'>;
  degraded: Gauge;
  controlRejected: Counter<'reason'>;
  /** Export a stack host's `counters()` under `host`. Returns false when the source limit is reached. */
  addStackSource(host: string, read: StackCounterSource): boolean;
  removeStackSource(host: string): void;
}

export interface MetricsOptions {
  /** Labels put on every series, e.g. {node: 'a', role: 'sttcp-primary'}. */
  defaultLabels?: Record<string, string>;
  /** Also export Node's process metrics (CPU, memory, event-loop lag) with the unbroken_process_ prefix. */
  processMetrics?: boolean;
}

export function createMetrics(opts: MetricsOptions = {}): UnbrokenMetrics {
  const registry = new Registry();
  if (opts.defaultLabels) registry.setDefaultLabels(opts.defaultLabels);
  const d = METRIC_DOCS;
  const reg = [registry];
  const sources = new Map<string, StackCounterSource>();

  const stackEvents = new Counter({
    name: d.stackEvents.name, help: d.stackEvents.help, labelNames: [...d.stackEvents.labels], registers: reg,
    collect(this: Counter<'host' | 'counter'>) {
      // The stack's counters are cumulative already: copy them at scrape time.
      this.reset();
      for (const [host, read] of sources) {
        let n = 0;
        for (const [name, value] of Object.entries(read())) {
          if (n++ >= STACK_LIMITS.countersPerSource) break;
          if (Number.isFinite(value) && value > 0) this.inc({ host, counter: name }, value);
        }
      }
    },
  });
  void stackEvents;

  const m: UnbrokenMetrics = {
    registry,
    connections: new Gauge({ name: d.connections.name, help: d.connections.help, labelNames: [...d.connections.labels], registers: reg }),
    replicationLagBytes: new Gauge({ name: d.replicationLagBytes.name, help: d.replicationLagBytes.help, registers: reg }),
    heartbeatsMissed: new Counter({ name: d.heartbeatsMissed.name, help: d.heartbeatsMissed.help, labelNames: [...d.heartbeatsMissed.labels], registers: reg }),
    failovers: new Counter({ name: d.failovers.name, help: d.failovers.help, labelNames: [...d.failovers.labels], registers: reg }),
    takeoverSeconds: new Histogram({ name: d.takeoverSeconds.name, help: d.takeoverSeconds.help, labelNames: [...d.takeoverSeconds.labels], buckets: [...TAKEOVER_BUCKETS_SECONDS], registers: reg }),
    splices: new Gauge({ name: d.splices.name, help: d.splices.help, registers: reg }),
    callsPreserved: new Counter({ name: d.callsPreserved.name, help: d.callsPreserved.help, registers: reg }),
    callsActive: new Gauge({ name: d.callsActive.name, help: d.callsActive.help, registers: reg }),
    callsReleased: new Counter({ name: d.callsReleased.name, help: d.callsReleased.help, labelNames: [...d.callsReleased.labels], registers: reg }),
    degraded: new Gauge({ name: d.degraded.name, help: d.degraded.help, registers: reg }),
    controlRejected: new Counter({ name: d.controlRejected.name, help: d.controlRejected.help, labelNames: [...d.controlRejected.labels], registers: reg }),
    addStackSource(host, read) {
      if (!sources.has(host) && sources.size >= STACK_LIMITS.sources) return false;
      sources.set(host, read);
      return true;
    },
    removeStackSource(host) {
      sources.delete(host);
    },
  };
  if (opts.processMetrics) collectDefaultMetrics({ register: registry, prefix: 'unbroken_process_' });
  return m;
}
