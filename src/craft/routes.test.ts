// Routing: most specific rule wins (host, then path prefix on a segment boundary),
// smooth weighted round-robin shares, health marks, exclusion of failed back ends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Router } from './routes.js';

const r = (): Router => new Router({
  pools: {
    api: [{ id: 'a1', ip: '10.0.0.1', port: 80 }],
    static: [{ id: 's1', ip: '10.0.0.2', port: 80, weight: 5 }, { id: 's2', ip: '10.0.0.3', port: 80, weight: 2 }, { id: 's3', ip: '10.0.0.4', port: 80 }],
    wild: [{ id: 'w1', ip: '10.0.0.5', port: 80 }],
    rest: [{ id: 'r1', ip: '10.0.0.6', port: 80 }],
  },
  rules: [
    { pool: 'rest' },
    { host: '*.example.test', pool: 'wild' },
    { host: 'www.example.test', pathPrefix: '/api', pool: 'api' },
    { host: 'www.example.test', pathPrefix: '/static/', pool: 'static' },
  ],
});

test('most specific rule wins; prefixes match on segment boundaries', () => {
  const x = r();
  assert.equal(x.match({ host: 'www.example.test', path: '/api' }), 'api');
  assert.equal(x.match({ host: 'www.example.test', path: '/api/v1' }), 'api');
  assert.equal(x.match({ host: 'www.example.test', path: '/api?q' }), 'api');
  assert.equal(x.match({ host: 'www.example.test', path: '/apix' }), 'wild');
  assert.equal(x.match({ host: 'www.example.test', path: '/static/a.png' }), 'static');
  assert.equal(x.match({ host: 'img.example.test', path: '/api' }), 'wild');
  assert.equal(x.match({ host: 'example.test', path: '/' }), 'rest');
  assert.equal(x.match({ host: undefined, path: '/' }), 'rest');
});

test('weights: smooth round-robin gives exact shares over a cycle, interleaved', () => {
  const x = r();
  const picks: string[] = [];
  for (let i = 0; i < 16; i++) {
    const d = x.choose({ host: 'www.example.test', path: '/static/x' }, 0);
    assert.equal(d.kind, 'backend');
    if (d.kind === 'backend') picks.push(d.backend.id);
  }
  const count = (id: string): number => picks.filter((p) => p === id).length;
  assert.deepEqual([count('s1'), count('s2'), count('s3')], [10, 4, 2]);
  // Smooth: the heavy back end never gets more than 3 in a row (nginx SWRR property for 5:2:1).
  assert.ok(!picks.join(',').includes('s1,s1,s1,s1'));
});

test('health: a down back end is skipped until its hold time ends; all down → no-backend; exclusion', () => {
  const x = r();
  x.markDown('s1', 1000);
  for (let i = 0; i < 6; i++) {
    const d = x.choose({ host: 'www.example.test', path: '/static/' }, 500);
    assert.ok(d.kind === 'backend' && d.backend.id !== 's1');
  }
  const later = x.choose({ host: 'www.example.test', path: '/static/' }, 1000);
  assert.equal(later.kind, 'backend');
  x.markDown('a1');
  assert.deepEqual(x.choose({ host: 'www.example.test', path: '/api' }, 0), { kind: 'no-backend', pool: 'api' });
  x.markUp('a1');
  assert.equal(x.choose({ host: 'www.example.test', path: '/api' }, 0).kind, 'backend');
  const ex = x.choose({ host: 'www.example.test', path: '/static/' }, 2000, new Set(['s1', 's2']));
  assert.ok(ex.kind === 'backend' && ex.backend.id === 's3');
  const none = new Router({ pools: { p: [{ id: 'x', ip: '1.1.1.1', port: 1 }] }, rules: [{ host: 'a', pool: 'p' }] });
  assert.deepEqual(none.choose({ host: 'b', path: '/' }, 0), { kind: 'no-route' });
});

test('bad configuration is refused at construction', () => {
  assert.throws(() => new Router({ pools: { p: [] }, rules: [] }));
  assert.throws(() => new Router({ pools: { p: [{ id: 'x', ip: '1.1.1.1', port: 1, weight: 0 }] }, rules: [] }));
  assert.throws(() => new Router({ pools: {}, rules: [{ pool: 'nope' }] }));
});
