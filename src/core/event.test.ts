import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BlickError } from './errors.js';
import { makeEvent } from './event.js';
import { UlidFactory } from './ids.js';
import { parseDuration } from './duration.js';

test('makeEvent fills id, time and source, and keeps what it is given', () => {
  const e = makeEvent({ host: 'web-01', service: 'disk /var', metric: 93.5, state: 'warning', tags: ['prod'], attributes: { mount: '/var' }, ttl: 30 }, { source: 'agent', now: () => 1234 });
  assert.match(e.id, /^[0-9A-HJKMNP-TV-Z]{26}$/);
  assert.deepEqual({ ...e, id: 'x' }, { id: 'x', host: 'web-01', service: 'disk /var', state: 'warning', metric: 93.5, description: '', tags: ['prod'], attributes: { mount: '/var' }, time: 1234, ttl: 30, source: 'agent' });
});

test('makeEvent rejects each malformed field with a message that names it', () => {
  const cases: [object, RegExp][] = [
    [{ service: 's' }, /"host" is required/],
    [{ host: 'h' }, /"service" is required/],
    [{ host: 'h', service: 's', state: 'bad' }, /"state" must be one of/],
    [{ host: 'h', service: 's', metric: 'NaN' }, /"metric" must be a number/],
    [{ host: 'h', service: 's', tags: 'x' }, /"tags" must be an array/],
    [{ host: 'h', service: 's', attributes: { a: 1 } }, /"attributes\.a" must be a string/],
    [{ host: 'h', service: 's', time: -1 }, /"time" must be unix milliseconds/],
    [{ host: 'h', service: 's', ttl: 'soon' }, /"ttl" must be a number of seconds/],
    [{ host: 'h', service: 's', source: 'moon' }, /"source" must be one of/],
    [{ host: 'h'.repeat(256), service: 's' }, /"host" is longer than 255/],
    [{ host: 'h', service: 's', description: 'x'.repeat(40_000) }, /"description" is longer/],
  ];
  for (const [input, re] of cases) {
    assert.throws(() => makeEvent(input as any), (err: unknown) => err instanceof BlickError && err.code === 'EVENT_INVALID' && re.test(err.message), JSON.stringify(input).slice(0, 80));
  }
});

test('property: makeEvent either returns a valid event or throws EVENT_INVALID, for any JSON input', () => {
  fc.assert(fc.property(fc.jsonValue(), fc.record({ host: fc.anything(), service: fc.anything(), state: fc.anything(), metric: fc.anything(), tags: fc.anything(), attributes: fc.anything(), time: fc.anything(), ttl: fc.anything() }, { requiredKeys: [] }), (a, b) => {
    for (const input of [a, b]) {
      try {
        const e = makeEvent(input as any);
        assert.equal(typeof e.host, 'string');
        assert.ok(e.host.length > 0 && e.service.length > 0);
      } catch (err) {
        assert.ok(err instanceof BlickError && err.code === 'EVENT_INVALID', String(err));
      }
    }
  }), { numRuns: 2000 });
});

test('ULIDs are unique and sort in creation order, also within one millisecond', () => {
  const f = new UlidFactory(() => 1_700_000_000_000);
  const ids = Array.from({ length: 10_000 }, () => f.next());
  assert.equal(new Set(ids).size, ids.length);
  assert.deepEqual([...ids].sort(), ids);
  const g = new UlidFactory();
  const a = g.next(1000), b = g.next(2000);
  assert.ok(a < b);
});

test('durations: 500ms, 10s, 5m, 1h30m, bare seconds; nonsense is undefined', () => {
  assert.equal(parseDuration('500ms'), 500);
  assert.equal(parseDuration('10s'), 10_000);
  assert.equal(parseDuration('5m'), 300_000);
  assert.equal(parseDuration('1h30m'), 5_400_000);
  assert.equal(parseDuration('7d'), 604_800_000);
  assert.equal(parseDuration(15), 15_000);
  assert.equal(parseDuration('2'), 2000);
  for (const bad of ['', 'soon', '5 parsecs', '10x', 'm5', '-1s']) assert.equal(parseDuration(bad), undefined, bad);
});
