import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BlickError } from '../core/errors.js';
import { DEFAULT_TIME_BOUNDS, PRODUCER_SOURCES, type BlickEvent } from '../core/event.js';
import { assertEdgeEvent } from '../core/testdata/edge.js';
import { decodeMessage, DEFAULT_WIRE_LIMITS, encodeAck, encodeBatch, peekBatchId } from './wire.js';

const NOW = 1_800_000_000_000;
const now = () => NOW;

const arbEvent: fc.Arbitrary<BlickEvent> = fc.record({
  id: fc.string({ minLength: 1, maxLength: 30 }),
  host: fc.string({ minLength: 1, maxLength: 50 }),
  service: fc.string({ minLength: 1, maxLength: 50 }),
  state: fc.option(fc.constantFrom('ok', 'warning', 'critical', 'unknown' as const), { nil: undefined }),
  metric: fc.option(fc.double({ noNaN: true, noDefaultInfinity: true }), { nil: undefined }),
  description: fc.string({ maxLength: 100 }),
  tags: fc.array(fc.string({ maxLength: 20 }), { maxLength: 5 }),
  attributes: fc.dictionary(fc.string({ minLength: 1, maxLength: 10 }).filter((k) => k !== '__proto__'), fc.string({ maxLength: 20 }), { maxKeys: 5 }),
  time: fc.integer({ min: DEFAULT_TIME_BOUNDS.minTime, max: NOW + DEFAULT_TIME_BOUNDS.maxFutureSkewMs }),
  ttl: fc.option(fc.double({ min: 0.001, max: 86400, noNaN: true }), { nil: undefined }),
  source: fc.constantFrom(...PRODUCER_SOURCES),
}, { requiredKeys: ['id', 'host', 'service', 'description', 'tags', 'attributes', 'time', 'source'] }) as fc.Arbitrary<BlickEvent>;

test('property: a batch survives encode → decode unchanged', () => {
  fc.assert(fc.property(fc.array(arbEvent, { maxLength: 20 }), (events) => {
    const d = decodeMessage(encodeBatch({ id: 'b1', producer: 'p', events }), DEFAULT_WIRE_LIMITS, now);
    assert.equal(d.kind, 'batch');
    if (d.kind !== 'batch') return;
    assert.equal(d.invalid, 0);
    assert.deepEqual(d.batch.events.map((e) => ({ ...e, attributes: { ...e.attributes } })), events.map((e) => {
      const o: any = { ...e, attributes: { ...e.attributes } };
      for (const k of ['state', 'metric', 'ttl']) if (o[k] === undefined) delete o[k];
      return o;
    }));
  }), { numRuns: 300 });
});

test('property: random bytes and every truncation of a valid message decode or fail with a BlickError, never crash', () => {
  const valid = encodeBatch({ id: 'b', producer: 'p', events: [{ id: 'e', host: 'h', service: 's', state: 'ok', metric: 1, description: 'd', tags: ['t'], attributes: { a: 'b' }, time: 1, ttl: 5, source: 'agent' }] });
  for (let i = 0; i < valid.length; i++) {
    try { decodeMessage(valid.subarray(0, i)); } catch (err) { assert.ok(err instanceof BlickError, `truncated at ${i}: ${err}`); }
  }
  fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
    try { decodeMessage(bytes); } catch (err) { assert.ok(err instanceof BlickError, String(err)); }
  }), { numRuns: 5000 });
});

test('acks round-trip; limits are enforced', () => {
  const d = decodeMessage(encodeAck({ batchId: 'x', accepted: 3, duplicates: 1, rejected: 2 }));
  assert.deepEqual(d, { kind: 'ack', ack: { batchId: 'x', accepted: 3, duplicates: 1, rejected: 2 } });
  const big = encodeBatch({ id: 'b', producer: 'p', events: Array.from({ length: 11 }, (_, i) => ({ id: `e${i}`, host: 'h', service: 's', description: '', tags: [], attributes: {}, time: 1, source: 'agent' as const })) });
  assert.throws(() => decodeMessage(big, { maxBatchEvents: 10, maxMessageBytes: 1e6 }), (e: any) => e.code === 'BATCH_TOO_LARGE');
  assert.throws(() => decodeMessage(big, { maxBatchEvents: 100, maxMessageBytes: 10 }), (e: any) => e.code === 'MESSAGE_TOO_LARGE');
});

const ev = (over: Partial<BlickEvent>): BlickEvent => ({ id: 'e', host: 'h', service: 's', description: '', tags: [], attributes: {}, time: NOW, source: 'agent', ...over });

test('the decoder applies the edge rules per event: bad names, server/api sources and non-finite metrics are rejected, far-future times clamped, the rest kept', () => {
  const clamped: number[] = [];
  const events = [
    ev({ id: 'surrogate', host: 'a\uD800' }),
    ev({ id: 'nul', host: 'a\u0000b' }),
    ev({ id: 'forged', source: 'server', attributes: { expired: 'true' } }),
    ev({ id: 'api', source: 'api' }),
    ev({ id: 'inf', metric: Infinity }),
    ev({ id: 'nan', metric: NaN }),
    ev({ id: 'ttl', ttl: Infinity }),
    ev({ id: 'future', time: 1e17 }),
    ev({ id: 'ok', description: 'x\uD800' }),
  ];
  const d = decodeMessage(encodeBatch({ id: 'b', producer: 'p', events }), DEFAULT_WIRE_LIMITS, now, { sources: PRODUCER_SOURCES, time: DEFAULT_TIME_BOUNDS, onTimeClamped: (_e, t) => clamped.push(t) });
  assert.ok(d.kind === 'batch');
  if (d.kind !== 'batch') return;
  assert.equal(d.invalid, 7);
  assert.deepEqual(d.batch.events.map((e) => [e.id, e.time, e.attributes.producer_time]), [['future', NOW, '100000000000000000'], ['ok', NOW, undefined]]);
  const text = d.batch.events[1]!.description;
  assert.ok(text.isWellFormed() && /^x\uFFFD+$/.test(text), text);
  assert.deepEqual(clamped, [1e17]);
});

test('a string that is not UTF-8 in a name is rejected; in text it becomes U+FFFD', () => {
  // hand-made bytes: the host "h\xff" and the description "\xc3(" are not UTF-8
  const valid = encodeBatch({ id: 'b', producer: 'p', events: [ev({ host: 'hX', description: 'dXY' })] });
  const patch = (from: string, to: number[]) => {
    const b = Buffer.from(valid);
    const i = b.indexOf(from);
    assert.ok(i >= 0);
    to.forEach((byte, k) => { b[i + k] = byte; });
    return b;
  };
  const badHost = decodeMessage(patch('hX', [0x68, 0xff]), DEFAULT_WIRE_LIMITS, now);
  assert.ok(badHost.kind === 'batch' && badHost.invalid === 1 && /"host" is not well-formed/.test(badHost.firstError ?? ''));
  const badText = decodeMessage(patch('dXY', [0x64, 0xc3, 0x28]), DEFAULT_WIRE_LIMITS, now);
  assert.ok(badText.kind === 'batch' && badText.invalid === 0);
  if (badText.kind === 'batch') assert.ok(badText.batch.events[0]!.description.isWellFormed() && badText.batch.events[0]!.description.includes('\uFFFD'));
});

test('property: mutated valid envelopes decode to events within every rule, or fail with a BlickError', () => {
  const base = encodeBatch({ id: 'b', producer: 'p', events: [
    ev({ id: 'e1', host: 'web-01', service: 'disk /var', state: 'warning', metric: 93.5, ttl: 30, tags: ['t'], attributes: { mount: '/var' }, description: 'full' }),
    ev({ id: 'e2', host: 'db-01', service: 'cpu', source: 'relay', time: NOW - 1000 }),
  ] });
  fc.assert(fc.property(fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }), fc.nat(base.length), (flips, cut) => {
    const b = Buffer.from(base.subarray(0, Math.max(cut, base.length - 8)));
    for (const [i, v] of flips) if (i < b.length) b[i] = v;
    let d;
    try { d = decodeMessage(b, DEFAULT_WIRE_LIMITS, now); } catch (err) {
      assert.ok(err instanceof BlickError, String(err));
      return;
    }
    if (d.kind === 'batch') for (const e of d.batch.events) assertEdgeEvent(e, NOW, PRODUCER_SOURCES);
  }), { numRuns: 5000 });
});

test('property: numbered batches and refusals round-trip; the batch id is read without decoding the events', () => {
  fc.assert(fc.property(fc.array(arbEvent, { maxLength: 20 }), fc.string({ minLength: 1, maxLength: 40 }), fc.nat(2 ** 40), fc.nat(2 ** 40), (events, id, seq, lowWater) => {
    const origin = { producerId: 'p1', seq, lowWater };
    const buf = encodeBatch({ id, producer: 'p', events, origin });
    assert.equal(peekBatchId(buf), id);
    const d = decodeMessage(buf);
    assert.ok(d.kind === 'batch');
    if (d.kind !== 'batch') return;
    assert.deepEqual(d.batch.origin, origin);
    assert.deepEqual(d.seqs, events.map((_, i) => seq + i));
  }));
  const r = decodeMessage(encodeAck({ batchId: 'b', accepted: 0, duplicates: 0, rejected: 0, error: 'too big', refusal: 'message_too_large', maxMessageBytes: 1024, maxBatchEvents: 7 }));
  assert.ok(r.kind === 'ack');
  if (r.kind === 'ack') assert.deepEqual([r.ack.refusal, r.ack.maxMessageBytes, r.ack.maxBatchEvents], ['message_too_large', 1024, 7]);
});

test('property: peeking at arbitrary bytes for a batch id never throws', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
    const id = peekBatchId(bytes);
    assert.ok(id === undefined || typeof id === 'string');
  }));
});
