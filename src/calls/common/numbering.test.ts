// Numbering plans, generated and explicit.
// Routing decisions are tested through the call flows in sim/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NumberingPlan, lineDigitsFor, numberOf } from './numbering.js';

test('numbering plan: generated and explicit plans map numbers to lines both ways', () => {
  const g = new NumberingPlan(3, 5);
  assert.equal(numberOf(2, 4), '0204');
  assert.deepEqual(g.lookup('0204'), { mgId: 'mg2', termId: 'al/4', number: '0204' });
  assert.equal(g.numberAt('mg3', 'al/5'), '0305');
  assert.equal(g.lookup('0306'), undefined);
  assert.deepEqual(g.linesOf('mg1'), ['al/1', 'al/2', 'al/3', 'al/4', 'al/5']);
  const e = NumberingPlan.fromEntries([
    { number: '1001', mgId: '[10.0.4.11]:2944', termId: 'al/1' },
    { number: '2001', mgId: '[10.0.4.12]:2944', termId: 'al/1' },
  ]);
  assert.equal(e.lookup('2001')?.mgId, '[10.0.4.12]:2944');
  assert.equal(e.numberAt('[10.0.4.11]:2944', 'al/1'), '1001');
  assert.ok(e.knowsGateway('[10.0.4.12]:2944'));
  assert.throws(() => NumberingPlan.fromEntries([{ number: '1001', mgId: 'a', termId: 'al/1' }, { number: '1001', mgId: 'b', termId: 'al/1' }]), /duplicate/);
  assert.throws(() => NumberingPlan.fromEntries([{ number: '12', mgId: 'a', termId: 'al/1' }]), /4 digits/);
});

test('numbering plan: more than 99 lines per gateway get wider numbers and a longer digit map', () => {
  assert.equal(new NumberingPlan(3, 99).digitMap, 'xxxx');
  assert.equal(lineDigitsFor(1000), 4);
  const w = new NumberingPlan(2, 1000);
  assert.equal(w.digitMap, 'xxxxxx');
  assert.equal(numberOf(2, 42, 4), '020042');
  assert.deepEqual(w.lookup('020042'), { mgId: 'mg2', termId: 'al/42', number: '020042' });
  assert.equal(w.numberAt('mg1', 'al/1000'), '011000');
  assert.throws(() => numberOf(1, 100), /99 lines/);
});
