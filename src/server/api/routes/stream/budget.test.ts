import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isBlickError } from '../../../../core/errors.js';
import { StreamBudget, type DropReason, type StreamLimits, type StreamSink } from './budget.js';

/** A connection whose kernel takes nothing until told to (`drain`). */
class Sink implements StreamSink {
  unsent = 0;
  destroyed = 0;
  constructor(readonly key: string, private readonly order: Sink[] = []) {}
  write(chunk: string): void { this.unsent += Buffer.byteLength(chunk); }
  destroy(): void { this.destroyed++; this.unsent = 0; this.order.push(this); }
}

const limits: StreamLimits = { totalBytes: 1000, clientBytes: 300, clients: 6, clientsPerKey: 3, historyBytes: 0 };

type Op =
  | { op: 'open'; key: number }
  | { op: 'round'; bytes: number[] }
  | { op: 'drain'; who: number; bytes: number }
  | { op: 'close'; who: number };

const ops = fc.array(fc.oneof(
  { weight: 2, arbitrary: fc.record({ op: fc.constant('open' as const), key: fc.integer({ min: 0, max: 2 }) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('round' as const), bytes: fc.array(fc.integer({ min: 0, max: 250 }), { minLength: 6, maxLength: 6 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('drain' as const), who: fc.nat(), bytes: fc.integer({ min: 1, max: 400 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('close' as const), who: fc.nat() }) },
), { minLength: 10, maxLength: 80 });

test('under any mix of clients, writes and drains the unsent bytes stay within both budgets, the slowest go first, each drop is counted once', () => {
  fc.assert(fc.property(ops, (list: Op[]) => {
    const drops: DropReason[] = [];
    const destroyed: Sink[] = [];
    const budget = new StreamBudget(limits, { onDrop: (reason) => drops.push(reason) });
    let live: Sink[] = [];
    const all: Sink[] = [];
    for (const o of list) {
      if (o.op === 'open') {
        const s = new Sink(`k${o.key}`, destroyed);
        const full = live.length >= limits.clients || live.filter((x) => x.key === s.key).length >= limits.clientsPerKey;
        try { budget.admit(s.key, s); live.push(s); all.push(s); assert.ok(!full, 'admitted over a count limit'); }
        catch (err) { assert.ok(isBlickError(err, 'TOO_MANY_STREAMS') && err.status === 429); assert.ok(full, 'refused under the limits'); }
      } else if (o.op === 'round') {
        const lag = new Map(live.map((s) => [s, s.unsent]));
        const before = drops.length;
        budget.fanOut((sink) => 'x'.repeat(o.bytes[live.indexOf(sink as Sink)] ?? 0));
        const gone = live.filter((s) => s.destroyed > 0);
        live = live.filter((s) => s.destroyed === 0);
        assert.equal(drops.length - before, gone.length, 'one drop counted per client dropped');
        assert.deepEqual(new Set(destroyed.slice(before)), new Set(gone));
        // dropped for the total: none of the survivors was further behind at the start of the round
        const shed = destroyed.slice(before).filter((_, i) => drops[before + i] === 'total_budget');
        if (shed.length > 0) {
          const least = Math.min(...shed.map((s) => lag.get(s)!));
          for (const s of live) assert.ok(lag.get(s)! <= least, 'a survivor was further behind than a dropped client');
        }
      } else if (o.op === 'drain') {
        const s = live[o.who % Math.max(1, live.length)];
        if (s) s.unsent = Math.max(0, s.unsent - o.bytes);
      } else {
        const s = live[o.who % Math.max(1, live.length)];
        if (s) { budget.release(s); live = live.filter((x) => x !== s); }
      }
      const total = live.reduce((n, s) => n + s.unsent, 0);
      assert.ok(total <= limits.totalBytes, `unsent total ${total} over ${limits.totalBytes}`);
      for (const s of live) assert.ok(s.unsent <= limits.clientBytes, `a client holds ${s.unsent} over ${limits.clientBytes}`);
      assert.equal(budget.clients, live.length);
      assert.equal(budget.buffered(), total);
    }
    for (const s of all) assert.ok(s.destroyed <= 1, 'a client destroyed twice');
    assert.equal(drops.length, all.filter((s) => s.destroyed === 1).length);
  }), { numRuns: 500 });
});

test('a chunk larger than the client budget still reaches a client with nothing unsent, and drops it on the next write', () => {
  const drops: DropReason[] = [];
  const budget = new StreamBudget({ ...limits, totalBytes: 10_000 }, { onDrop: (r) => drops.push(r) });
  const s = new Sink('a');
  budget.admit('a', s);
  assert.equal(budget.send(s, 'x'.repeat(500)), true);
  assert.equal(s.unsent, 500);
  assert.equal(budget.send(s, 'x'), false);
  assert.deepEqual(drops, ['client_budget']);
  assert.equal(s.destroyed, 1);
  assert.equal(budget.send(s, 'x'), false, 'a dropped client is not written again');
  assert.equal(budget.clients, 0);
});

test('over the total budget the client furthest behind goes first, not the one just given the most', () => {
  const drops: DropReason[] = [];
  const budget = new StreamBudget({ ...limits, totalBytes: 600, clientBytes: 600, clients: 10, clientsPerKey: 10 }, { onDrop: (r) => drops.push(r) });
  const [fast, slow, other] = [new Sink('a'), new Sink('b'), new Sink('c')];
  for (const s of [fast, slow, other]) budget.admit(s.key, s);
  budget.send(slow, 'x'.repeat(100)); // slow is 100 behind
  // this round gives fast 300 (it holds the most now), slow 50, other 200: 100 + 550 > 600
  const give = new Map<StreamSink, number>([[fast, 300], [slow, 50], [other, 200]]);
  budget.fanOut((s) => 'x'.repeat(give.get(s)!));
  assert.deepEqual(drops, ['total_budget']);
  assert.equal(slow.destroyed, 1, 'the client that was behind before the round is dropped');
  assert.equal(fast.destroyed + other.destroyed, 0);
  assert.equal(budget.buffered(), 500);
});
