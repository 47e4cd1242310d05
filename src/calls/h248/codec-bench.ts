// Measurement harness for `npm run bench` (the lead wires it into the bench command): codec and
// transaction-engine throughput on the sample corpus. The only file in h248/ that reads a clock;
// protocol code never does. Run alone: npx tsx src/calls/h248/codec-bench.ts

import { performance } from 'node:perf_hooks';
import { sampleMessages } from './sample-messages.js';
import { encodeMessage } from './text-printer.js';
import { parseMessage } from './text-parser.js';
import { TransactionEngine } from './transactions.js';
import * as M from './model.js';

export interface H248BenchResult {
  readonly corpusMessages: number;
  readonly corpusBytesMean: number;
  readonly parsePerSec: number;
  readonly printCompactPerSec: number;
  readonly printLongPerSec: number;
  readonly engineRoundTripsPerSec: number; // request + reply + ResponseAck through two engines
}

function rate(iterations: number, f: (i: number) => void): number {
  for (let i = 0; i < Math.min(2_000, iterations); i++) f(i); // warm-up
  const t0 = performance.now();
  for (let i = 0; i < iterations; i++) f(i);
  return Math.round(iterations / ((performance.now() - t0) / 1000));
}

export function benchH248(iterations = 100_000): H248BenchResult {
  const msgs = sampleMessages().map(([, m]) => m);
  const bytes = msgs.map((m) => encodeMessage(m));
  const c = new TransactionEngine({ mId: '[10.0.0.1]:2944' });
  const g = new TransactionEngine({ mId: '[10.0.0.11]:2944' });
  const req = [M.action(7, M.modify('rtp/7', { media: M.media({ mode: 'sendReceive' }) }))];
  let now = 0;
  const roundTrip = (): void => {
    now += 100;
    c.sendRequest(req, now);
    for (let b = c.pollTransmit(); b; b = c.pollTransmit()) g.handle(b, now);
    for (let e = g.pollEvent(); e; e = g.pollEvent()) {
      if (e.type === 'request') g.sendReply(M.reply(e.transactionId, M.actionReply(7, { type: 'modify', terminationIds: ['rtp/7'] })), now);
    }
    for (let b = g.pollTransmit(); b; b = g.pollTransmit()) c.handle(b, now);
    while (c.pollEvent());
    c.handleTimeout(now + 20_000);
    for (let b = c.pollTransmit(); b; b = c.pollTransmit()) g.handle(b, now);
  };
  return {
    corpusMessages: msgs.length,
    corpusBytesMean: Math.round(bytes.reduce((n, b) => n + b.length, 0) / bytes.length),
    parsePerSec: rate(iterations, (i) => { parseMessage(bytes[i % bytes.length]!); }),
    printCompactPerSec: rate(iterations, (i) => { encodeMessage(msgs[i % msgs.length]!); }),
    printLongPerSec: rate(iterations, (i) => { encodeMessage(msgs[i % msgs.length]!, { form: 'long' }); }),
    engineRoundTripsPerSec: rate(Math.max(1, Math.floor(iterations / 4)), roundTrip),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(JSON.stringify(benchH248()));
