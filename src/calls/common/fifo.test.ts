import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Fifo } from './fifo.js';

test('fifo: keeps order across compactions and interleaved pushes', () => {
  const q = new Fifo<number>();
  const ref: number[] = [];
  let next = 0;
  for (let round = 0; round < 50; round++) {
    for (let i = 0; i < 700; i++) { q.push(next); ref.push(next++); }
    for (let i = 0; i < 500; i++) assert.equal(q.shift(), ref.shift());
    assert.equal(q.length, ref.length);
    assert.equal(q.peek(), ref[0]);
  }
  while (ref.length > 0) assert.equal(q.shift(), ref.shift());
  assert.equal(q.shift(), undefined);
  assert.equal(q.peek(), undefined);
  assert.equal(q.length, 0);
});
