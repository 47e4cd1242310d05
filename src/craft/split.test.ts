// Split splice (CRAFT addition 3) in the simulator: back ends running our stack get the
// splice state from the splicer and send their data segments straight to the client; the
// splicer carries the client→server direction (and the back ends' FINs). Byte-exact, every
// client-side segment consistent, no RST, state gone after close.
// Seeds are printed; replay with CRAFT_SEED=<seed>.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SeededRng } from '../util/rng.js';
import { runSpliceScenario, SERVICE_IP } from './testing/scenario.js';
import { concatChunks, flowKey } from './testing/wire-checker.js';
import { parseIpv4, formatIpv4 } from '../wire/addr.js';

const get = (n: number): string => `GET /bytes/${n} HTTP/1.1\r\nHost: www.example.test\r\n\r\n`;

function seedList(): number[] {
  if (process.env.CRAFT_SEED) return [Number(process.env.CRAFT_SEED)];
  return Array.from({ length: Number(process.env.CRAFT_SEEDS ?? 3) }, (_, i) => 9700 + i);
}

test('split splice: back ends send straight to the client; the splicer carries client→server only; byte-exact', () => {
  const svc = parseIpv4(SERVICE_IP)!;
  for (const seed of seedList()) {
    console.log(`# split seed ${seed} (replay: CRAFT_SEED=${seed} npm test -- src/craft/split)`);
    const rng = new SeededRng(seed);
    const sizes = Array.from({ length: 5 }, () => rng.nextInt(3) === 0 ? rng.nextInt(3000) : 100_000 + rng.nextInt(1_500_000));
    const r = runSpliceScenario({
      seed, backends: 2, split: true, limitUs: 60_000_000,
      downloads: sizes.map((n, i) => ({ startUs: 1000 + i * 1500, request: get(n) })),
      clientFaults: [{ kind: 'loss', rate: 0.01 }, { kind: 'reorder', rate: 0.01, delayUs: 300 }],
    });
    const label = `seed ${seed}`;
    assert.ok(r.finished, `${label}: finished`);
    r.results.forEach((x, i) => {
      assert.equal(x.status, 200, `${label} #${i}`);
      assert.ok(x.bodyOk && x.complete && x.bodyBytes === sizes[i], `${label} #${i}: body ${x.bodyBytes}/${sizes[i]}`);
      assert.equal(x.close, 'closed', `${label} #${i}: close`);
    });
    assert.equal(r.clientRsts, 0, `${label}: RST`);
    for (const sp of r.splices) {
      const i = r.results.findIndex((x) => x.connId?.split('>')[0] === `${formatIpv4(sp.client.ip)}:${sp.client.port}`);
      const cReq = flowKey(sp.client.ip, sp.client.port, svc, sp.client.localPort);
      const cResp = flowKey(svc, sp.client.localPort, sp.client.ip, sp.client.port);
      const problems = [...r.clientWire.checkStream(cResp, concatChunks(r.results[i]!.received), cReq, true), ...r.clientWire.checkStream(cReq, new TextEncoder().encode(get(sizes[i]!)), cResp, true)];
      assert.deepEqual(problems.slice(0, 3), [], `${label} #${i}: client-side wire`);
    }
    assert.equal(r.clientWire.badChecksums, 0, `${label}: bad checksums at the client`);
    const c = r.splicer.counters();
    const direct = r.splitBackends.reduce((a, b) => a + (b.counters()['split-rewritten'] ?? 0), 0);
    const viaSplicer = c['forward-b2c'] ?? 0;
    console.log(`# ${label}: back-end segments straight to the client ${direct}, through the splicer ${viaSplicer} (first segments, FINs), client→server ${c['forward-c2b'] ?? 0}`);
    assert.equal(c['split-started'], sizes.length);
    assert.ok(direct > 20 * viaSplicer, `${label}: most return traffic bypasses the splicer (${direct} direct, ${viaSplicer} via)`);
    r.sim.runUntil(r.sim.nowUs + 20_000_000);
    assert.equal(r.splicer.spliceCount(), 0, `${label}: splicer state left`);
    assert.deepEqual(r.splitBackends.map((b) => b.spliceCount()), [0, 0], `${label}: back-end state left`);
  }
});
