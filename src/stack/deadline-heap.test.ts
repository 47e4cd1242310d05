// DeadlineHeap: earliest live deadline, due items once each, stale slots skipped and
// compacted so re-arming timers cannot grow the heap without bound.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DeadlineHeap } from './deadline-heap.js';
import { checkProperty } from '../wire/prop.js';

test('matches a model: peek is the minimum live deadline, takeDue returns exactly the due items', () => {
  checkProperty('deadline-heap-model', 'src/stack/deadline-heap.test.ts', fc.property(
    fc.array(fc.tuple(fc.nat(9), fc.option(fc.nat(1000), { nil: undefined })), { maxLength: 200 }), fc.nat(1000),
    (arms, now) => {
      const current = new Map<number, number | undefined>();
      const heap = new DeadlineHeap<number>((k) => current.get(k));
      for (const [k, d] of arms) {
        current.set(k, d);
        if (d !== undefined) heap.push(d, k);
      }
      const live = [...current.entries()].filter(([, d]) => d !== undefined) as Array<[number, number]>;
      assert.equal(heap.peek(), live.length === 0 ? undefined : Math.min(...live.map(([, d]) => d)));
      const due = heap.takeDue(now).sort((x, y) => x - y);
      assert.deepEqual(due, live.filter(([, d]) => d <= now).map(([k]) => k).sort((x, y) => x - y));
    }));
});

test('compact bounds the heap when one item is re-armed many times', () => {
  let deadline = 0;
  const heap = new DeadlineHeap<string>(() => deadline);
  for (let i = 0; i < 10_000; i++) {
    deadline = 1_000_000 - i;                              // each re-arm makes the previous slot stale
    heap.push(deadline, 'conn');
    heap.compact(1);
  }
  assert.ok(heap.size <= 4 + 64, `heap size ${heap.size}`);
  assert.equal(heap.peek(), deadline);
});
