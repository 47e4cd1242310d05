// FourTuple helpers: reversal, equality and map keys.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { reverseTuple, tupleEquals, tupleKey, type FourTuple } from './four-tuple.js';

test('reverseTuple swaps the ends; keys distinguish direction and fields', () => {
  const t: FourTuple = { localIp: 0xc0a80001, localPort: 80, remoteIp: 0xffffffff, remotePort: 65535 };
  const r = reverseTuple(t);
  assert.deepEqual(r, { localIp: 0xffffffff, localPort: 65535, remoteIp: 0xc0a80001, remotePort: 80 });
  assert.ok(tupleEquals(reverseTuple(r), t));
  assert.ok(!tupleEquals(r, t));
  assert.notEqual(tupleKey(r), tupleKey(t));
  assert.equal(tupleKey(t), '3232235521:80>4294967295:65535');
  assert.notEqual(tupleKey({ ...t, localPort: 81 }), tupleKey(t));
});
