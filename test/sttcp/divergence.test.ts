// Output divergence (DESIGN §ST-TCP 4, issue 4 "Output"): an application that is not
// deterministic across hosts — an HTTP-like reply carrying each host's own Date, in the
// header and again at the end of the body — replicated on a pair whose backup taps both
// directions. The backup must report that its replica's output differs from what the
// primary sent (per connection, with the offset), resend the primary's own bytes at
// takeover, and never splice its replica's bytes into a reply the primary had begun: each
// reply the client receives comes whole from one host, or the connection is reset and
// the reset reported.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededTest } from '../../src/sim/seeded-test.js';
import { requestLine, runStTcpScenario, type ClientPlan, type StTcpScenarioResult } from '../../src/sttcp/scenario.js';
import type { StreamService, StreamConnection } from '../../src/stack/app.js';
import { SeededRng } from '../../src/util/rng.js';
import { ACCESS_LINK } from './workload.js';

const PORT = 80;
const DATES = { primary: 'Thu, 26 Nov 2026 23:00:00 GMT', backup: 'Fri, 27 Nov 2026 01:11:11 GMT' } as const;
const BODY_BYTES = 6000;
const enc = new TextEncoder();
const dec = new TextDecoder();

/** The reply to request line `line` from a host whose clock reads `date`. */
function reply(line: string, date: string): string {
  const trailer = `\r\nServed: ${date}`;
  const fill = `${line.trim()} `.repeat(Math.ceil(BODY_BYTES / 12)).slice(0, BODY_BYTES - trailer.length);
  return `HTTP/1.1 200 OK\r\nDate: ${date}\r\nContent-Length: ${BODY_BYTES}\r\n\r\n${fill}${trailer}`;
}
const REPLY_BYTES = reply(requestLine(0), DATES.primary).length;

function datedService(date: string): StreamService {
  return (conn: StreamConnection) => {
    let head = '';
    const queue: Uint8Array[] = [];
    let ended = false;
    const pump = (): void => {
      while (queue.length > 0) {
        const n = conn.write(queue[0]!);
        if (n < queue[0]!.length) { queue[0] = queue[0]!.subarray(n); return; }
        queue.shift();
      }
      if (ended) conn.end();
    };
    return {
      onData: (d) => {
        head += dec.decode(d);
        for (let nl = head.indexOf('\n'); nl >= 0; nl = head.indexOf('\n')) {
          queue.push(enc.encode(reply(head.slice(0, nl + 1), date)));
          head = head.slice(nl + 1);
        }
        pump();
      },
      onEnd: () => { ended = true; pump(); },
      onWritable: pump,
    };
  };
}

/**
 * Judges one client's byte stream: whole replies, each from one host, answering the
 * requests in order; a trailing partial reply must be a prefix of one host's reply.
 * Returns the problems and how many replies each host produced.
 */
function judge(data: Uint8Array[]): { problems: string[]; replies: number; byHost: Record<string, number> } {
  const all = new Uint8Array(data.reduce((a, d) => a + d.length, 0));
  let o = 0;
  for (const d of data) { all.set(d, o); o += d.length; }
  const text = dec.decode(all);
  const problems: string[] = [];
  const byHost: Record<string, number> = { primary: 0, backup: 0 };
  let i = 0;
  for (let at = 0; at < text.length; at += REPLY_BYTES, i++) {
    const got = text.slice(at, at + REPLY_BYTES);
    const host = (['primary', 'backup'] as const).find((h) => reply(requestLine(i), DATES[h]).startsWith(got));
    if (host === undefined) { problems.push(`reply ${i} (stream offset ${at}) is no single host's reply`); break; }
    if (got.length === REPLY_BYTES) byHost[host]!++;
  }
  return { problems, replies: Math.floor(text.length / REPLY_BYTES), byHost };
}

const REQUESTS = 40;

function run(seed: number): StTcpScenarioResult {
  const rng = new SeededRng(seed * 6151);
  const clients: ClientPlan[] = [];
  for (let c = 0; c < 3; c++) {
    clients.push({ kind: 'request', port: PORT, startUs: 5_000 + c * 1_000, requests: REQUESTS, intervalUs: 4_000, bytes: REQUESTS * REPLY_BYTES });
  }
  return runStTcpScenario({
    seed, fencing: true, link: ACCESS_LINK, clients, crashPrimaryAtUs: 20_000 + rng.nextInt(140_000),
    servicesFor: (box) => [{ port: PORT, service: datedService(DATES[box]) }],
  });
}

function checkRun(r: StTcpScenarioResult): { continued: number; reset: number; backupReplies: number } {
  assert.ok(r.takeoverUs !== undefined, 'the backup took over');
  const diverged = r.events.filter((e) => e.kind === 'output.diverged');
  let reset = 0;
  let continued = 0;
  let backupReplies = 0;
  for (const c of r.connections) {
    const j = judge(c.data!);
    assert.deepEqual(j.problems, [], `${c.id}: the client's stream mixes hosts`);
    backupReplies += j.byHost.backup!;
    if (c.close === 'reset') {
      reset++;
    } else {
      assert.equal(c.close, 'closed', `${c.id}: ended ${c.close}`);
      assert.equal(j.replies, REQUESTS, `${c.id}: every request answered`);
      assert.equal(c.receivedBytes, REQUESTS * REPLY_BYTES);
      continued++;
    }
  }
  // Every reset is one the backup reported as divergence at takeover, and no RST reached
  // any other connection.
  assert.equal(reset, r.backupStats['connections-reset-output-diverged'] ?? 0, 'resets = reported divergent takeovers');
  assert.ok(reset > 0 || r.clientRsts === 0, `${r.clientRsts} RST(s) with no connection reported reset`);
  // The replica answered every request the primary did before the crash differently:
  // reported per connection, with the connection and the stream offset (the Date in the first reply).
  assert.equal(r.backupStats['output-diverged'], r.connections.length, 'one report per connection');
  const offset = 'HTTP/1.1 200 OK\r\nDate: '.length;
  for (const e of diverged) assert.match(e.text, new RegExp(`10\\.9\\.0\\.1:\\d+>10\\.9\\.0\\.100:${PORT}: .* stream offset ${offset}$`));
  return { continued, reset, backupReplies };
}

seededTest('divergent replica (per-host Date): reported per connection, client streams never mix hosts across failover', (seed) => {
  checkRun(run(seed));
}, { seeds: 6 });

test('divergent replica: connections whose reply was half-sent at the crash are reset and reported, the others continue', () => {
  // Over these seeds both outcomes occur: a takeover between replies continues with the
  // backup's replies; one inside a reply the primary had begun resets that connection.
  let continued = 0;
  let reset = 0;
  let backupReplies = 0;
  for (let seed = 101; seed <= 106; seed++) {
    const x = checkRun(run(seed));
    continued += x.continued;
    reset += x.reset;
    backupReplies += x.backupReplies;
  }
  assert.ok(continued > 0, 'some connections continued after the takeover');
  assert.ok(backupReplies > 0, 'the backup answered requests after the takeover');
  assert.ok(reset > 0, 'some connections were caught mid-reply and reset');
});
