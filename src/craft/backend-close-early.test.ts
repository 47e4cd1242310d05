// A back end whose server process dies is not silent: its host answers the next packet of
// the connection with a RST (here: the host restarts with no connection). The splicer
// takes a RST before the client has the whole response for a back-end failure and
// re-splices to another back end with an HTTP Range request; health checks are off, so
// nothing else can find the failure. Every download completes byte-exact, no RST.
// Seeds are printed; replay with CRAFT_SEED=<seed>; more with CRAFT_SEEDS=N.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Host } from '../stack/host.js';
import { tcpConnectionFactory } from '../stack/tcp-engine.js';
import type { TcpConnection } from '../tcp/connection.js';
import { SeededRng } from '../util/rng.js';
import { BACKEND_IP, runSpliceScenario } from './testing/scenario.js';
import { httpPatternService } from './testing/http-app.js';

const get = (n: number): string => `GET /bytes/${n} HTTP/1.1\r\nHost: www.example.test\r\n\r\n`;

function seedList(): number[] {
  if (process.env.CRAFT_SEED) return [Number(process.env.CRAFT_SEED)];
  return Array.from({ length: Number(process.env.CRAFT_SEEDS ?? 3) }, (_, i) => 7000 + i);
}

test('a back end that loses its connections (RST mid-response) is re-spliced away from, without health checks', () => {
  for (const seed of seedList()) {
    console.log(`# backend-rst seed ${seed} (replay: CRAFT_SEED=${seed} npm test -- src/craft/backend-close-early)`);
    const rng = new SeededRng(seed);
    const sizes = Array.from({ length: 4 }, () => 2_000_000 + rng.nextInt(2_000_000));
    const crashUs = 60_000 + rng.nextInt(60_000);
    let restarted = false;
    const r = runSpliceScenario({
      seed, backends: 2, limitUs: 120_000_000,
      downloads: sizes.map((n, i) => ({ startUs: 1000 + i * 2000, request: get(n) })),
      link: { latencyUs: 100, bandwidthBps: 100_000_000, queueFrames: 1024, mtuBytes: 1500 },
      onStart: (sim) => {
        sim.at(crashUs, () => sim.crash('b0'));
        // The same host back 1 ms later, its server listening again but with no connection.
        sim.at(crashUs + 1000, () => {
          sim.restart('b0', (ctx) => {
            const h = new Host<TcpConnection>({ name: 'b0', mac: '02:00:00:07:01:10', ip: BACKEND_IP(0), prefixLen: 24, rng: ctx.rng, tcpFactory: tcpConnectionFactory({ timeWaitUs: 1_000_000 }) });
            h.listen(80, httpPatternService('b0'));
            return h;
          });
          restarted = true;
        });
      },
    });
    const label = `seed ${seed} b0 restarted at ${crashUs} µs`;
    assert.ok(restarted && r.finished, `${label}: finished`);
    r.results.forEach((x, i) => {
      assert.equal(x.status, 200, `${label} #${i}`);
      assert.equal(x.bodyBytes, sizes[i], `${label} #${i}: body bytes`);
      assert.ok(x.bodyOk && x.complete, `${label} #${i}: body`);
      assert.equal(x.close, 'closed', `${label} #${i}: close`);
    });
    assert.equal(r.clientRsts, 0, `${label}: RST at the client`);
    const c = r.splicer.counters();
    const onB0 = r.results.filter((x) => x.headers['x-backend'] === 'b0').length;
    assert.ok(onB0 >= 1);
    assert.ok((c['backend-closed-early'] ?? 0) >= 1, `${label}: the early RST was seen (${JSON.stringify(c)})`);
    assert.equal(c['resplice'], onB0, `${label}: every b0 download re-spliced (${JSON.stringify(c)})`);
  }
});
