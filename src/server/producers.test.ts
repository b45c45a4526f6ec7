import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ProducerMarks, type NumberedBatch } from './producers.js';

/** A producer's batches as consecutive ranges of numbers, each with the low water it had when built. */
function batches(sizes: number[]): NumberedBatch[] {
  const out: NumberedBatch[] = [];
  let seq = 1;
  for (const n of sizes) {
    out.push({ producerId: 'p', seq, lowWater: 1, count: n, seqs: Array.from({ length: n }, (_, i) => seq + i) });
    seq += n;
  }
  return out;
}

function deliver(marks: ProducerMarks, b: NumberedBatch, stored: number[]): void {
  const plan = marks.plan(b, 0);
  for (let i = 0; i < b.seqs.length; i++) if (plan.isNew(i)) stored.push(b.seqs[i]!);
  marks.apply(plan);
}

test('property: however batches are repeated and reordered, every number is accepted exactly once', () => {
  fc.assert(fc.property(
    fc.array(fc.integer({ min: 1, max: 20 }), { minLength: 1, maxLength: 30 }),
    fc.array(fc.nat(), { maxLength: 120 }),
    (sizes, picks) => {
      const all = batches(sizes);
      const total = sizes.reduce((a, b) => a + b, 0);
      const marks = new ProducerMarks({ maxRanges: 1000 });
      const stored: number[] = [];
      for (const p of picks) deliver(marks, all[p % all.length]!, stored);
      for (const b of all) deliver(marks, b, stored); // then each once more, in order
      // once all is delivered the mark is a floor alone, and an empty batch leaves it so
      const empty = marks.plan({ producerId: 'p', seq: total + 1, lowWater: 1, count: 0, seqs: [] }, 0);
      assert.deepEqual([empty.next.floor, empty.next.ranges], [total + 1, []]);
      assert.deepEqual([...stored].sort((a, b) => a - b), Array.from({ length: total }, (_, i) => i + 1));
    },
  ));
});

test('property: a batch split in halves is deduplicated against the whole and the other half', () => {
  fc.assert(fc.property(fc.integer({ min: 2, max: 50 }), fc.integer({ min: 1, max: 49 }), fc.boolean(), (n, cut, wholeFirst) => {
    fc.pre(cut < n);
    const [whole] = batches([n]);
    const a: NumberedBatch = { ...whole!, count: cut, seqs: whole!.seqs.slice(0, cut) };
    const b: NumberedBatch = { ...whole!, seq: whole!.seq + cut, count: n - cut, seqs: whole!.seqs.slice(cut) };
    const marks = new ProducerMarks();
    const stored: number[] = [];
    for (const x of wholeFirst ? [whole!, b, a] : [b, a, whole!, a]) deliver(marks, x, stored);
    assert.equal(stored.length, n);
    assert.equal(new Set(stored).size, n);
  }));
});

test('the low water lets the server forget; ranges and producers stay bounded', () => {
  const marks = new ProducerMarks({ maxProducers: 2, maxRanges: 3 });
  // out-of-order acks leave ranges above the floor; the next low water folds them in
  const stored: number[] = [];
  deliver(marks, { producerId: 'p', seq: 10, lowWater: 1, count: 1, seqs: [10] }, stored);
  deliver(marks, { producerId: 'p', seq: 20, lowWater: 1, count: 1, seqs: [20] }, stored);
  const plan = marks.plan({ producerId: 'p', seq: 30, lowWater: 21, count: 1, seqs: [30] }, 0);
  assert.deepEqual([plan.next.floor, plan.next.ranges], [21, [[30, 31]]]);
  // too many gaps: the oldest is given up (counted by the caller)
  const many = marks.plan({ producerId: 'q', seq: 1, lowWater: 0, count: 1, seqs: [1] }, 0);
  marks.apply(many);
  let abandoned = 0;
  for (const s of [3, 5, 7, 9]) { const p = marks.plan({ producerId: 'q', seq: s, lowWater: 0, count: 1, seqs: [s] }, 0); abandoned += p.abandoned; marks.apply(p); }
  assert.ok(abandoned >= 1);
  // a third producer makes the one seen longest ago forgotten
  const third = marks.plan({ producerId: 'r', seq: 1, lowWater: 1, count: 1, seqs: [1] }, 0);
  assert.deepEqual(third.forget, ['p']);
  marks.apply(third);
  assert.equal(marks.size, 2);
});
