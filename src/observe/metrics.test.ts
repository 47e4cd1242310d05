// Tests of the metrics registry and its HTTP endpoint: names and help present, values
// move, the stack bridge copies counters, and a real scrape over loopback works.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { METRIC_DOCS, STACK_LIMITS, createMetrics } from './metrics.js';
import { startMetricsServer } from './metrics-server.js';

function get(url: string, method = 'GET'): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('every documented metric is registered with its help text and type', async () => {
  const m = createMetrics();
  const text = await m.registry.metrics();
  for (const doc of Object.values(METRIC_DOCS)) {
    assert.match(doc.name, /^unbroken_[a-z_]+$/);
    if (doc.type === 'counter') assert.match(doc.name, /_total$/);
    assert.ok(text.includes(`# TYPE ${doc.name} ${doc.type}`), `${doc.name} missing`);
    assert.ok(text.includes(`# HELP ${doc.name} `), `${doc.name} help missing`);
  }
});

test('values recorded through the handles appear in the exposition', async () => {
  const m = createMetrics({ defaultLabels: { node: 'a' } });
  m.connections.set({ role: 'sttcp-primary' }, 1000);
  m.replicationLagBytes.set(4096);
  m.heartbeatsMissed.inc({ peer: '10.0.1.2:7400' }, 3);
  m.failovers.inc({ technique: 'sttcp', kind: 'takeover' });
  m.takeoverSeconds.observe({ technique: 'sttcp' }, 0.042);
  m.splices.set(12);
  m.callsPreserved.inc(10_000);
  const text = await m.registry.metrics();
  assert.match(text, /unbroken_connections\{role="sttcp-primary",node="a"\} 1000/);
  assert.match(text, /unbroken_replication_lag_bytes\{node="a"\} 4096/);
  assert.match(text, /unbroken_heartbeats_missed_total\{peer="10.0.1.2:7400",node="a"\} 3/);
  assert.match(text, /unbroken_failovers_total\{technique="sttcp",kind="takeover",node="a"\} 1/);
  assert.match(text, /unbroken_takeover_seconds_bucket\{le="0.05",node="a",technique="sttcp"\} 1/);
  assert.match(text, /unbroken_takeover_seconds_bucket\{le="0.03",node="a",technique="sttcp"\} 0/);
  assert.match(text, /unbroken_splices\{node="a"\} 12/);
  assert.match(text, /unbroken_calls_preserved_total\{node="a"\} 10000/);
});

test('stack counters are copied at scrape time, bounded in sources', async () => {
  const m = createMetrics();
  let retransmits = 5;
  assert.equal(m.addStackSource('primary', () => ({ 'tcp.retransmits': retransmits, 'drop.bad-checksum': 2, zero: 0 })), true);
  let text = await m.registry.metrics();
  assert.match(text, /unbroken_stack_events_total\{host="primary",counter="tcp.retransmits"\} 5/);
  assert.match(text, /unbroken_stack_events_total\{host="primary",counter="drop.bad-checksum"\} 2/);
  retransmits = 9;
  text = await m.registry.metrics();
  assert.match(text, /counter="tcp.retransmits"\} 9/);
  m.removeStackSource('primary');
  text = await m.registry.metrics();
  assert.ok(!text.includes('host="primary"'));
  for (let i = 0; i < STACK_LIMITS.sources; i++) assert.equal(m.addStackSource(`h${i}`, () => ({})), true);
  assert.equal(m.addStackSource('one-too-many', () => ({})), false);
  assert.equal(m.addStackSource('h0', () => ({ x: 1 })), true, 'replacing an existing source is allowed');
});

test('the endpoint serves /metrics over loopback and only that', async () => {
  const m = createMetrics();
  m.failovers.inc({ technique: 'craft', kind: 'backend' }, 2);
  const srv = await startMetricsServer(m.registry, '127.0.0.1:0');
  try {
    assert.ok(srv.port > 0);
    assert.equal(srv.url, `http://127.0.0.1:${srv.port}/metrics`);
    const r = await get(srv.url);
    assert.equal(r.status, 200);
    assert.match(r.type, /^text\/plain; version=0.0.4/);
    assert.match(r.body, /unbroken_failovers_total\{technique="craft",kind="backend"\} 2/);
    const head = await get(srv.url, 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
    assert.equal((await get(`http://127.0.0.1:${srv.port}/other`)).status, 404);
    assert.equal((await get(srv.url, 'POST')).status, 405);
  } finally {
    await srv.close();
  }
});

test('a bad listen address or a taken port is an error, not a crash', async () => {
  const m = createMetrics();
  await assert.rejects(startMetricsServer(m.registry, 'nonsense'), /host:port/);
  await assert.rejects(startMetricsServer(m.registry, '127.0.0.1:99999'), /host:port/);
  const a = await startMetricsServer(m.registry, '127.0.0.1:0');
  try {
    await assert.rejects(startMetricsServer(m.registry, `127.0.0.1:${a.port}`), /EADDRINUSE/);
  } finally {
    await a.close();
  }
});
