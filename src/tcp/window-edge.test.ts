// RFC 9293 §3.8.6.2.2: the right edge of the advertised window (ACK + scaled window) never
// moves left. With window scaling the field is a rounded quantity; this checks the
// rounding across random arrivals and reads (a soak once found the edge retreating by a
// few bytes, after which both sides dropped each other's ACKs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { established, fill, LOCAL_ISS, REMOTE_ISS } from './testing/trace.js';
import { fcParams } from './testing/fc-seed.js';
import { seqAdd, seqGe } from './seq.js';

test('advertised right edge never moves left, whatever arrives and is read', () => {
  fc.assert(fc.property(
    fc.integer({ min: 20_000, max: 300_000 }),
    fc.array(fc.record({ len: fc.integer({ min: 1, max: 1000 }), read: fc.integer({ min: 0, max: 5000 }) }), { minLength: 1, maxLength: 120 }),
    (rcvBufBytes, steps) => {
      const tr = established({ rcvBufBytes, delayedAckUs: 0, windowScale: true }, LOCAL_ISS, REMOTE_ISS, { mss: 1000, windowScale: 7 });
      const shift = tr.conn.info().rcvWndShift;
      let seq = REMOTE_ISS + 1;
      let edge: number | undefined;
      for (const st of steps) {
        const room = tr.conn.info().rcvWnd;
        const len = Math.min(st.len, room);
        if (len > 0) { tr.recv({ seq, ack: LOCAL_ISS + 1, payload: fill(len) }); seq += len; }
        tr.conn.read(st.read);
        for (const s of tr.drainSend()) {
          if (!s.flags.ack) continue;
          const e = seqAdd(s.ack, s.window * 2 ** shift);
          if (edge !== undefined) assert.ok(seqGe(e, edge), `edge moved left: ${edge} → ${e} (shift ${shift})`);
          edge = e;
        }
      }
    }), fcParams('src/tcp/window-edge.test.ts', 200));
});
