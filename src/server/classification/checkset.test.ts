import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import fc from 'fast-check';
import { isBlickError } from '../../core/errors.js';
import { Registry } from '../../core/metrics.js';
import { CheckSetWaits, parseIfNoneMatch, parseSubscriptions } from './checkset.js';

test('subscriptions and If-None-Match parse as sent; too many or too long subscriptions are a 400', () => {
  assert.deepEqual(parseSubscriptions(' web, db ,,'), ['web', 'db']);
  assert.deepEqual(parseSubscriptions(undefined), []);
  assert.throws(() => parseSubscriptions(Array.from({ length: 300 }, (_, i) => `s${i}`).join(',')), (e) => isBlickError(e, 'BAD_REQUEST'));
  assert.throws(() => parseSubscriptions('x'.repeat(300)), (e) => isBlickError(e, 'BAD_REQUEST'));
  assert.deepEqual(parseIfNoneMatch('"abc", W/"def"'), ['abc', 'def']);
  assert.deepEqual(parseIfNoneMatch(undefined), []);
  fc.assert(fc.property(fc.string({ maxLength: 200 }), (s) => {
    // any header or query text: a list of strings or a BAD_REQUEST, never anything else
    parseIfNoneMatch(s);
    try { for (const x of parseSubscriptions(s)) assert.ok(x.length > 0 && !x.includes(',')); } catch (e) { assert.ok(isBlickError(e, 'BAD_REQUEST')); }
  }));
});

test('long-polls: bounded (refused and counted beyond max), woken only when their set changed, released by close and by the client leaving', async () => {
  const metrics = new Registry();
  const waits = new CheckSetWaits(2, metrics);
  let changed = false;
  const a = new EventEmitter(), b = new EventEmitter();
  const done: string[] = [];
  const wa = waits.wait('web-01', () => changed, 60_000, a).then(() => done.push('a'));
  const wb = waits.wait('web-01', () => true, 60_000, b).then(() => done.push('b'));
  assert.throws(() => waits.wait('web-01', () => true, 60_000, new EventEmitter()), (e) => isBlickError(e, 'TOO_MANY_WAITS'));
  assert.match(metrics.render(), /blick_checkset_waits_refused_total 1/);
  waits.wake('db-01');
  waits.wake('web-01'); // b's set changed, a's did not
  await wb;
  assert.deepEqual(done, ['b']);
  assert.equal(waits.size, 1);
  b.emit('close'); // late close of an answered request: nothing happens
  changed = true;
  a.emit('close');
  await wa;
  assert.equal(waits.size, 0);
  const c = waits.wait('web-01', () => false, 60_000, new EventEmitter());
  waits.close();
  await c;
  assert.equal(waits.size, 0);
});
