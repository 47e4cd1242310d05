// The lab prefix from UNBROKEN_LAB_PREFIX: normalised when it fits, refused when it does
// not (a silent fall-back to the default would let `lab down --all` reach default labs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { labPrefixFrom } from './state.js';

test('lab prefix: default, trailing dash added, digits allowed, bad values refused', () => {
  assert.equal(labPrefixFrom(undefined), 'ublab-');
  assert.equal(labPrefixFrom(''), 'ublab-');
  assert.equal(labPrefixFrom('uballtest-'), 'uballtest-');
  assert.equal(labPrefixFrom('mylab'), 'mylab-');
  assert.equal(labPrefixFrom('s4cr'), 's4cr-');
  for (const bad of ['4cr', 'a', 'UPPER', 'has space', 'way-too-long-prefix', 'x--', '../x']) {
    assert.equal(labPrefixFrom(bad), undefined, bad);
  }
});
