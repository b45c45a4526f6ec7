import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { statsdConfigSchema } from './config.js';
import { MetricStore, type FlushData } from './store.js';

const KINDS = ['counters', 'timers', 'gauges', 'sets'] as const;
type Kind = (typeof KINDS)[number];

function sample(store: MetricStore, kind: Kind, key: string, value: number): void {
  if (kind === 'counters') store.counter(key, value, 1);
  else if (kind === 'timers') store.timer(key, value, 1);
  else if (kind === 'gauges') store.gauge(key, value, false);
  else store.set(key, String(value));
}

function flush(store: MetricStore): FlushData {
  let out: FlushData | undefined;
  store.flush(Date.now(), (d) => { out = { ...d, counters: new Map(d.counters), gauges: new Map(d.gauges) }; });
  return out!;
}

test('with delete_idle_stats, a name sampled every interval is not new again: the new-name budget stays for new names', () => {
  const store = new MetricStore(statsdConfigSchema.parse({ delete_idle_stats: true, max_new_names_per_interval: 1000 }));
  for (let i = 0; i < 800; i++) store.counter(`steady.${i}`, 1, 1);
  assert.equal(flush(store).dropped, 0);
  // deleted at the flush (delete_counters), back in the next interval, with 500 names never seen
  for (let i = 0; i < 800; i++) store.counter(`steady.${i}`, 1, 1);
  for (let i = 0; i < 500; i++) store.counter(`fresh.${i}`, 1, 1);
  const d = flush(store);
  assert.equal(d.dropped, 0);
  assert.equal(d.sampled.counters.size, 1300);
});

const op = fc.oneof(
  { weight: 12, arbitrary: fc.record({ kind: fc.constantFrom(...KINDS), name: fc.integer({ min: 0, max: 40 }), value: fc.integer({ min: -3, max: 3 }) }) },
  { weight: 1, arbitrary: fc.constant('flush' as const) },
);

test('property: names held ≤ max_names, new names per interval ≤ the budget, `sampled` is exactly what got a value, every refused value is counted', () => {
  fc.assert(fc.property(
    fc.array(op, { maxLength: 300 }), fc.integer({ min: 1, max: 30 }), fc.integer({ min: 1, max: 15 }), fc.boolean(), fc.boolean(),
    (ops, maxNames, maxNew, deleteIdle, deleteGauges) => {
      const store = new MetricStore(statsdConfigSchema.parse({ max_names: maxNames, max_new_names_per_interval: maxNew, delete_idle_stats: deleteIdle, delete_gauges: deleteGauges }));
      const clientNames = () => KINDS.reduce((n, k) => n + [...store[k].keys()].filter((key) => key.startsWith('m')).length, 0);
      const none = () => Object.fromEntries(KINDS.map((k) => [k, new Set<string>()])) as Record<Kind, Set<string>>;
      let got = none();
      let previous = none();
      let refused = 0;
      let admittedNew = 0;
      let total = 0;
      for (const o of ops) {
        if (o === 'flush') {
          const d = flush(store);
          for (const k of KINDS) assert.deepEqual([...d.sampled[k]].sort(), [...got[k]].sort(), `sampled ${k}`);
          assert.equal(d.dropped, refused);
          total += refused;
          previous = got;
          got = none();
          refused = 0;
          admittedNew = 0;
          continue;
        }
        const key = `m${o.name}`;
        const before = store[o.kind].has(key);
        sample(store, o.kind, key, o.value);
        if (store[o.kind].has(key)) {
          got[o.kind].add(key);
          if (!before && !previous[o.kind].has(key)) admittedNew++;
        } else {
          refused++;
        }
        assert.ok(clientNames() <= maxNames, 'max_names');
        // a name sampled in the previous interval (deleted at its flush when idle stats are deleted) is not new
        assert.ok(admittedNew <= maxNew, 'max_new_names_per_interval');
      }
      assert.equal(store.droppedTotal, total + refused);
    },
  ), { numRuns: 400 });
});
