import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BlickError } from '../core/errors.js';
import type { BlickEvent } from '../core/event.js';
import { decodeMessage, encodeAck, encodeBatch, peekBatchId } from './wire.js';

const arbEvent: fc.Arbitrary<BlickEvent> = fc.record({
  id: fc.string({ minLength: 1, maxLength: 30 }),
  host: fc.string({ minLength: 1, maxLength: 50 }),
  service: fc.string({ minLength: 1, maxLength: 50 }),
  state: fc.option(fc.constantFrom('ok', 'warning', 'critical', 'unknown' as const), { nil: undefined }),
  metric: fc.option(fc.double({ noNaN: true }), { nil: undefined }),
  description: fc.string({ maxLength: 100 }),
  tags: fc.array(fc.string({ maxLength: 20 }), { maxLength: 5 }),
  attributes: fc.dictionary(fc.string({ minLength: 1, maxLength: 10 }).filter((k) => k !== '__proto__'), fc.string({ maxLength: 20 }), { maxKeys: 5 }),
  time: fc.integer({ min: 1, max: 2 ** 47 }),
  ttl: fc.option(fc.double({ min: 0.001, max: 86400, noNaN: true }), { nil: undefined }),
  source: fc.constantFrom('agent', 'relay', 'statsd', 'snmp', 'api', 'server' as const),
}, { requiredKeys: ['id', 'host', 'service', 'description', 'tags', 'attributes', 'time', 'source'] }) as fc.Arbitrary<BlickEvent>;

test('property: a batch survives encode → decode unchanged', () => {
  fc.assert(fc.property(fc.array(arbEvent, { maxLength: 20 }), (events) => {
    const d = decodeMessage(encodeBatch({ id: 'b1', producer: 'p', events }));
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
