import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReverseNames } from './resolver.js';

function names(table: Record<string, string[] | 'hang' | 'error'>, opts: { maxEntries?: number; timeoutMs?: number } = {}) {
  let t = 0;
  const asked: string[] = [];
  const outcomes: string[] = [];
  const r = new ReverseNames({
    timeoutMs: opts.timeoutMs ?? 50, ttlMs: 1000, maxEntries: opts.maxEntries ?? 100, now: () => t,
    reverse: (a) => {
      asked.push(a);
      const v = table[a];
      if (v === 'hang') return new Promise(() => undefined);
      if (v === 'error' || v === undefined) return Promise.reject(Object.assign(new Error('ENOTFOUND'), { code: 'ENOTFOUND' }));
      return Promise.resolve(v);
    },
    onOutcome: (o) => outcomes.push(o),
  });
  return { r, asked, outcomes, advance: (ms: number) => { t += ms; } };
}

test('a name is looked up once per ttl; traps from one address share the lookup', async () => {
  const { r, asked, outcomes, advance } = names({ '10.0.0.2': ['sw-01.example.net.'] });
  const [a, b] = await Promise.all([r.lookup('10.0.0.2'), r.lookup('10.0.0.2')]);
  assert.equal(a, 'sw-01.example.net');
  assert.equal(b, 'sw-01.example.net');
  assert.deepEqual(asked, ['10.0.0.2']);
  advance(1001);
  assert.equal(await r.lookup('10.0.0.2'), 'sw-01.example.net');
  assert.deepEqual(asked, ['10.0.0.2', '10.0.0.2']);
  assert.deepEqual(outcomes, ['hit', 'resolved', 'resolved'], 'the second trap is a hit on the pending lookup');
});

test('no name, an error, a name that is no host name, or a timeout: undefined (cached too), never a rejection', async () => {
  const { r, asked, outcomes } = names({ '10.0.0.3': 'error', '10.0.0.4': 'hang', '10.0.0.5': ['bad name\n.'], '10.0.0.6': [] });
  assert.equal(await r.lookup('10.0.0.3'), undefined);
  // the lookup timer is unref'd (a daemon must not stay up for it) and the hanging lookup holds
  // nothing else: keep the event loop alive while waiting for the timeout, or the test process
  // may end with the promise pending
  const alive = setInterval(() => undefined, 1000);
  try { assert.equal(await r.lookup('10.0.0.4'), undefined); } finally { clearInterval(alive); }
  assert.equal(await r.lookup('10.0.0.5'), undefined);
  assert.equal(await r.lookup('10.0.0.6'), undefined);
  assert.equal(await r.lookup('10.0.0.3'), undefined);
  assert.deepEqual(asked, ['10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.6']);
  assert.deepEqual(outcomes, ['failed', 'timeout', 'failed', 'failed', 'hit']);
});

test('the cache holds at most maxEntries addresses, the least recently used goes first', async () => {
  const { r, asked } = names({ a: ['a.x'], b: ['b.x'], c: ['c.x'] }, { maxEntries: 2 });
  await r.lookup('a'); await r.lookup('b'); await r.lookup('a'); await r.lookup('c');
  assert.equal(r.size, 2);
  await r.lookup('a');
  assert.deepEqual(asked, ['a', 'b', 'c'], 'a stayed (used last), b was evicted');
  await r.lookup('b');
  assert.deepEqual(asked, ['a', 'b', 'c', 'b']);
});
