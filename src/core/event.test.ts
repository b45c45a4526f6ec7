import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BlickError } from './errors.js';
import { DEFAULT_TIME_BOUNDS, makeEvent, PRODUCER_SOURCES, SOURCES, STATES, EVENT_LIMITS, type BlickEvent } from './event.js';
import { UlidFactory } from './ids.js';
import { assertEdgeEvent } from './testdata/edge.js';
import { MAX_DURATION_MS, parseDuration } from './duration.js';

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
    [{ host: 'h', service: 's', metric: 'NaN' }, /"metric" must be a finite number/],
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

test('durations that overflow or exceed MAX_DURATION_MS are not durations', () => {
  assert.equal(parseDuration('99999999999999999999h'), undefined);
  assert.equal(parseDuration('9'.repeat(400) + 'ms'), undefined, 'Infinity');
  assert.equal(parseDuration('9'.repeat(400)), undefined);
  assert.equal(parseDuration(1e300), undefined);
  assert.equal(parseDuration('104249991w'), undefined, 'just beyond MAX_SAFE_INTEGER ms');
  assert.equal(parseDuration('52w'), 52 * 604_800_000);
  assert.ok(parseDuration('14000w')! <= MAX_DURATION_MS);
});

const invalidField = (field: string) => (err: unknown) => err instanceof BlickError && err.code === 'EVENT_INVALID' && err.message.includes(`"${field}"`);

test('names (host, service, tags, attribute keys, id) with a lone surrogate or a control character are rejected, naming the field', () => {
  const bad = ['a\uD800', '\uDC00b', 'x\u0000y', 'tab\there', 'nl\n', 'del\u007f', 'c1\u009b[31m'];
  for (const v of bad) {
    assert.throws(() => makeEvent({ host: v, service: 's' }), invalidField('host'), JSON.stringify(v));
    assert.throws(() => makeEvent({ host: 'h', service: v }), invalidField('service'), JSON.stringify(v));
    assert.throws(() => makeEvent({ host: 'h', service: 's', tags: ['ok', v] }), invalidField('tags'), JSON.stringify(v));
    assert.throws(() => makeEvent({ host: 'h', service: 's', attributes: { [v]: 'x' } }), invalidField('attributes'), JSON.stringify(v));
    assert.throws(() => makeEvent({ host: 'h', service: 's', id: v }), invalidField('id'), JSON.stringify(v));
  }
  // a pair is fine, and so is U+FFFD itself
  const e = makeEvent({ host: 'h\uD83D\uDE00', service: 'disk \uFFFD', tags: ['ü'] });
  assert.equal(e.host, 'h😀');
  assert.throws(() => makeEvent({ host: 'h', service: 's', attributes: JSON.parse('{"__proto__":"x"}') }), invalidField('attributes'));
});

test('text (description, attribute values) keeps control characters but lone surrogates become U+FFFD', () => {
  const e = makeEvent({ host: 'h', service: 's', description: 'a\uD800b\tc\u0000', attributes: { k: '\uDFFFz' } });
  assert.equal(e.description, 'a\uFFFDb\tc\u0000');
  assert.equal(e.attributes.k, '\uFFFDz');
});

test('non-finite metric and ttl are rejected', () => {
  for (const metric of [Infinity, -Infinity, NaN, 1e309]) assert.throws(() => makeEvent({ host: 'h', service: 's', metric }), invalidField('metric'), String(metric));
  for (const ttl of [Infinity, NaN, -1, EVENT_LIMITS.maxTtlSeconds + 1]) assert.throws(() => makeEvent({ host: 'h', service: 's', ttl }), invalidField('ttl'), String(ttl));
});

test('with time bounds, a time too far ahead or before 2000 is set to now and kept in producer_time; within the skew it is kept', () => {
  const now = () => 1_800_000_000_000;
  const clamped: number[] = [];
  const opts = { now, time: DEFAULT_TIME_BOUNDS, onTimeClamped: (_e: BlickEvent, t: number) => clamped.push(t) };
  const ahead = makeEvent({ host: 'h', service: 's', time: 1e17, attributes: { a: 'b' } }, opts);
  assert.deepEqual([ahead.time, ahead.attributes], [now(), { a: 'b', producer_time: '100000000000000000' }]);
  const hourAhead = makeEvent({ host: 'h', service: 's', time: now() + 3_600_000 }, opts);
  assert.deepEqual([hourAhead.time, hourAhead.attributes.producer_time], [now(), String(now() + 3_600_000)]);
  const old = makeEvent({ host: 'h', service: 's', time: 1000 }, opts);
  assert.deepEqual([old.time, old.attributes.producer_time], [now(), '1000']);
  const skewed = makeEvent({ host: 'h', service: 's', time: now() + 4 * 60_000 }, opts);
  assert.deepEqual([skewed.time, skewed.attributes], [now() + 4 * 60_000, {}]);
  assert.deepEqual(clamped, [1e17, now() + 3_600_000, 1000]);
  // the attribute rides on top of a full attribute map
  const full = Object.fromEntries(Array.from({ length: EVENT_LIMITS.attributes }, (_, i) => [`k${i}`, 'v']));
  assert.equal(makeEvent({ host: 'h', service: 's', time: 1e17, attributes: full }, opts).attributes.producer_time, '100000000000000000');
});

test('sources: a claim outside the allowed list is rejected; "ignore" always stamps the edge\'s source', () => {
  assert.throws(() => makeEvent({ host: 'h', service: 's', source: 'server' }, { sources: PRODUCER_SOURCES }), /"source" "server" may not be claimed here/);
  assert.throws(() => makeEvent({ host: 'h', service: 's', source: 'api' }, { sources: PRODUCER_SOURCES }), invalidField('source'));
  assert.equal(makeEvent({ host: 'h', service: 's', source: 'relay' }, { sources: PRODUCER_SOURCES }).source, 'relay');
  assert.equal(makeEvent({ host: 'h', service: 's', source: 'server' }, { source: 'api', sources: 'ignore' }).source, 'api');
  assert.equal(makeEvent({ host: 'h', service: 's', source: 'moon' }, { source: 'api', sources: 'ignore' }).source, 'api');
});

const hostile = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: fc.constantFrom('a', ' ', '\uD800', '\uDC00', '\u0000', '\t', '\u009b', '\uFFFD', '😀'), maxLength: 12 }),
  fc.constantFrom('', 'web-01', 'disk /var', '__proto__'),
);
const hugeNumber = fc.oneof(fc.double(), fc.constantFrom(1e17, 1e309, -1e309, 2 ** 63, Number.MAX_VALUE, -0, 0), fc.integer());

test('property: at the edge, makeEvent returns only events within every rule, or throws EVENT_INVALID', () => {
  const now = 1_800_000_000_000;
  fc.assert(fc.property(fc.record({
    id: fc.oneof(hostile, fc.anything()), host: hostile, service: hostile, state: fc.oneof(fc.constantFrom(...STATES), fc.anything()),
    metric: fc.oneof(hugeNumber, fc.anything()), description: fc.oneof(hostile, fc.anything()),
    tags: fc.oneof(fc.array(hostile, { maxLength: 4 }), fc.anything()),
    attributes: fc.oneof(fc.dictionary(hostile, hostile, { maxKeys: 4 }), fc.anything()),
    time: fc.oneof(hugeNumber, fc.anything()), ttl: fc.oneof(hugeNumber, fc.anything()), source: fc.oneof(fc.constantFrom(...SOURCES), fc.anything()),
  }, { requiredKeys: [] }), fc.constantFrom<'api' | 'ingest'>('api', 'ingest'), (input, edge) => {
    const opts = edge === 'api'
      ? { source: 'api' as const, sources: 'ignore' as const, now: () => now, time: DEFAULT_TIME_BOUNDS }
      : { sources: PRODUCER_SOURCES, now: () => now, time: DEFAULT_TIME_BOUNDS };
    let e: BlickEvent;
    try { e = makeEvent(input as any, opts); } catch (err) {
      assert.ok(err instanceof BlickError && err.code === 'EVENT_INVALID', String(err));
      return;
    }
    assertEdgeEvent(e, now, edge === 'api' ? ['api'] : [...PRODUCER_SOURCES, 'api']);
  }), { numRuns: 3000 });
});
