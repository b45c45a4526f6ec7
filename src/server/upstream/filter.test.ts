import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { makeEvent } from '../../core/event.js';
import { forwardConfigSchema } from './config.js';
import { eventFilter } from './index.js';

const ev = (host: string, service: string, state?: 'ok' | 'critical') => makeEvent({ host, service, ...(state ? { state } : {}) }, { source: 'agent' });

test('server.forward: no keys forward everything; hosts, services and states narrow it (all must match)', () => {
  const all = eventFilter(forwardConfigSchema.parse({}));
  assert.ok(all(ev('a', 'b')) && all(ev('a', 'b', 'ok')));
  const f = eventFilter(forwardConfigSchema.parse({ hosts: ['web-*', 'db-01'], services: ['app *'], states: ['critical'] }));
  assert.ok(f(ev('web-07', 'app errors', 'critical')));
  assert.ok(f(ev('db-01', 'app x', 'critical')));
  assert.ok(!f(ev('db-02', 'app x', 'critical')), 'host');
  assert.ok(!f(ev('web-07', 'heartbeat', 'critical')), 'service');
  assert.ok(!f(ev('web-07', 'app errors', 'ok')), 'state');
  assert.ok(!f(ev('web-07', 'app errors')), 'no state while states is set');
});

test('server.forward: bad keys are refused with a clear message', () => {
  const r = forwardConfigSchema.safeParse({ states: ['crit'] });
  assert.ok(!r.success);
  assert.ok(!forwardConfigSchema.safeParse({ hosts: [''] }).success);
  assert.ok(!forwardConfigSchema.safeParse({ filter: {} }).success, 'unknown keys');
  assert.ok(!forwardConfigSchema.safeParse({ spool: { max_bytes: 10 } }).success);
});

test('server.forward property: the filter never throws and "*" matches every host and service', () => {
  const star = eventFilter({ hosts: ['*'], services: ['*'], states: [] });
  fc.assert(fc.property(fc.string({ minLength: 1, maxLength: 50 }).filter((s) => s.trim() === s && !/[\x00-\x1f]/.test(s)), fc.string({ minLength: 1, maxLength: 50 }).filter((s) => s.trim() === s && !/[\x00-\x1f]/.test(s)), (h, s) => {
    let e;
    try { e = ev(h, s); } catch { return; }
    assert.ok(star(e));
  }));
});
