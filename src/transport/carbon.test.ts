import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { carbonMessages, PICKLE_POINTS_PER_MESSAGE, type Datapoint } from './carbon.js';

const point = fc.record({
  path: fc.stringMatching(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+){0,3}$/),
  value: fc.double({ noNaN: true, noDefaultInfinity: true }),
  timestamp: fc.integer({ min: 0, max: 2 ** 32 }),
});

test('carbon messages (property): plaintext lines read back as the points, in order, each point in exactly one message', () => {
  fc.assert(fc.property(fc.array(point, { maxLength: 200 }), (points: Datapoint[]) => {
    const messages = carbonMessages(points, 'plaintext');
    assert.equal(messages.reduce((n, m) => n + m.items, 0), points.length);
    const lines = messages.map((m) => m.message.toString('utf8')).join('').split('\n').slice(0, -1);
    assert.deepEqual(lines.map((l) => { const [path, value, ts] = l.split(' '); return { path, value: Number(value), timestamp: Number(ts) }; }),
      points.map((p) => ({ ...p, value: p.value === 0 ? 0 : p.value })));
  }));
});

test('carbon messages (property): each pickle is framed by its byte length and holds one tuple per point, at most 5000', () => {
  fc.assert(fc.property(fc.array(point, { maxLength: 50 }), fc.integer({ min: 1, max: 3 }), (few: Datapoint[], copies) => {
    const points = Array.from({ length: copies }, () => few).flat();
    for (const { message, items } of carbonMessages(points, 'pickle')) {
      assert.equal(message.readUInt32BE(0), message.length - 4);
      const body = message.subarray(4).toString('utf8');
      assert.ok(body.startsWith('(l') && body.endsWith('.'));
      assert.equal(body.split('\ntta').length - 1, items);
      assert.ok(items <= PICKLE_POINTS_PER_MESSAGE);
    }
  }));
  const many = Array.from({ length: PICKLE_POINTS_PER_MESSAGE + 1 }, (_, i) => ({ path: 'a.b', value: i, timestamp: 1 }));
  assert.deepEqual(carbonMessages(many, 'pickle').map((m) => m.items), [PICKLE_POINTS_PER_MESSAGE, 1]);
});
