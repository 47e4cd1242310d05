// A back end whose server process is killed closes its connections the way a kernel does:
// what the process had written still goes out, then a FIN — well before the end of the
// response. The splicer takes that early FIN for a back-end failure and re-splices the
// client's connection to another back end with an HTTP Range request; the client never
// sees the early FIN. The process dies after a number of bytes drawn per seed (so always mid-response); health checks are off, so nothing
// but the early close can find the failure. Every download byte-exact, no RST.
// Seeds are printed; replay with CRAFT_SEED=<seed>; more with CRAFT_SEEDS=N.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { StreamConnection, StreamService } from '../stack/app.js';
import { SeededRng } from '../util/rng.js';
import { runSpliceScenario } from './testing/scenario.js';
import { httpPatternService } from './testing/http-app.js';

function seedList(): number[] {
  if (process.env.CRAFT_SEED) return [Number(process.env.CRAFT_SEED)];
  if (process.env.CRAFT_SEEDS) return Array.from({ length: Number(process.env.CRAFT_SEEDS) }, (_, i) => 9100 + i);
  // 9139: the process dies right after writing the head, its FIN in the response's first
  // segment; 9146: its FIN before the client's ACK of the head came back.
  return [9100, 9101, 9139, 9146];
}

/** httpPatternService whose process can be killed: every connection is closed (FIN after the queued bytes), writes stop, new ones are reset. */
function killableService(name: string, killAfterBytes: number): { service: StreamService; kill: () => void } {
  const inner = httpPatternService(name);
  const conns: StreamConnection[] = [];
  let dead = false;
  let written = 0;
  const kill = (): void => { dead = true; for (const c of conns) c.end(); };
  const service: StreamService = (conn) => {
    // A connection to the dead process's port: its kernel resets it.
    if (dead) { conn.destroy(); return { onData: () => undefined, onEnd: () => undefined }; }
    conns.push(conn);
    const wrapped: StreamConnection = {
      id: conn.id,
      write: (d) => {
        if (dead) return 0;
        // The process dies once it has written killAfterBytes in all (mid-way through a write).
        const n = conn.write(d.subarray(0, Math.min(d.length, killAfterBytes - written)));
        written += n;
        if (written >= killAfterBytes) kill();
        return n;
      },
      writableBytes: () => (dead ? 0 : conn.writableBytes()),
      end: () => { if (!dead) conn.end(); },
      destroy: () => { if (!dead) conn.destroy(); },
    };
    const app = inner(wrapped);
    return {
      ...app,
      onData: (d) => { if (!dead) app.onData?.(d); },
      onWritable: () => { if (!dead) app.onWritable?.(); },
      onEnd: () => { if (!dead) app.onEnd?.(); },
    };
  };
  return { service, kill };
}

for (const [close, lossy] of [[true, false], [false, false], [true, true]] as const) {
  test(`a back end killed mid-response (early FIN, ${close ? 'Connection: close' : 'keep-alive'}${lossy ? ', 1 % loss' : ''}) is re-spliced away from; the client never sees the FIN`, () => {
    for (const seed of seedList()) {
      console.log(`# backend-fin seed ${seed} (replay: CRAFT_SEED=${seed} npm test -- src/craft/backend-fin-early)`);
      const rng = new SeededRng(seed);
      const sizes = Array.from({ length: 3 }, () => 500_000 + rng.nextInt(3_000_000));
      const killAfter = 1 + rng.nextInt(400_000);
      const b0 = killableService('b0', killAfter);
      const get = (n: number): string => `GET /bytes/${n} HTTP/1.1\r\nHost: www.example.test\r\n${close ? 'Connection: close\r\n' : ''}\r\n`;
      const r = runSpliceScenario({
        seed, backends: 2, limitUs: 120_000_000,
        downloads: sizes.map((n, i) => ({ startUs: 1000 + i * 1500, request: get(n) })),
        link: { latencyUs: 100, bandwidthBps: 100_000_000, queueFrames: 1024, mtuBytes: 1500 },
        backendServices: { b0: b0.service },
        ...(lossy ? { clientFaults: [{ kind: 'loss', rate: 0.01 }, { kind: 'reorder', rate: 0.01, delayUs: 300 }], backendFaults: [{ kind: 'loss', rate: 0.01 }] } : {}),
      });
      const label = `seed ${seed} b0 killed after writing ${killAfter} bytes`;
      assert.ok(r.finished, `${label}: finished`);
      r.results.forEach((x, i) => {
        assert.equal(x.status, 200, `${label} #${i}`);
        assert.equal(x.bodyBytes, sizes[i], `${label} #${i}: body bytes`);
        assert.ok(x.bodyOk && x.complete, `${label} #${i}: body`);
      });
      assert.equal(r.clientRsts, 0, `${label}: RST at the client`);
      const c = r.splicer.counters();
      assert.ok((c['backend-closed-early'] ?? 0) >= 1, `${label}: the early FIN was seen (${JSON.stringify(c)})`);
    }
  });
}
