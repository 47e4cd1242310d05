// Unit and property tests of the simulator's event heap: (time, insertion) order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { EventQueue } from './event-queue.js';

interface Ev { timeUs: number; seq: number; id: number }

test('events pop in time order, ties in insertion order', () => {
  const q = new EventQueue<Ev>();
  const times = [5, 1, 5, 3, 1, 0, 5];
  times.forEach((t, id) => q.push({ timeUs: t, seq: 0, id }));
  const order: number[] = [];
  for (let e = q.pop(); e; e = q.pop()) order.push(e.id);
  assert.deepEqual(order, [5, 1, 4, 3, 0, 2, 6]);
  assert.equal(q.size, 0);
  assert.equal(q.pop(), undefined);
});

test('rejects non-integer and negative times', () => {
  const q = new EventQueue<Ev>();
  assert.throws(() => q.push({ timeUs: 1.5, seq: 0, id: 0 }), RangeError);
  assert.throws(() => q.push({ timeUs: -1, seq: 0, id: 0 }), RangeError);
});

test('property: heap order equals a stable sort by time, with pushes interleaved with pops', () => {
  const seed = Number(process.env.FC_SEED ?? Date.now() % 1_000_000);
  console.log(`fast-check seed ${seed} (replay: FC_SEED=${seed} npm test -- src/sim/event-queue.test.ts)`);
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 50 }), fc.boolean()), { maxLength: 300 }), (ops) => {
      const q = new EventQueue<Ev>();
      const model: Ev[] = [];
      let id = 0;
      for (const [t, popToo] of ops) {
        const e = { timeUs: t, seq: 0, id: id++ };
        q.push(e);
        model.push(e);
        if (popToo) {
          model.sort((a, b) => a.timeUs - b.timeUs || a.id - b.id);
          assert.equal(q.pop()?.id, model.shift()!.id);
        }
      }
      model.sort((a, b) => a.timeUs - b.timeUs || a.id - b.id);
      for (const m of model) assert.equal(q.pop()?.id, m.id);
      assert.equal(q.size, 0);
    }),
    { seed, numRuns: 200 },
  );
});
