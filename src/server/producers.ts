import type { Origin } from '../transport/wire.js';

/**
 * What the server has committed of one producer's numbered events: every
 * number below `floor`, and the half-open ranges `[start, end)` above it
 * (sorted, disjoint, none touching the floor). Persisted with the events it
 * describes, in the same transaction.
 */
export interface ProducerMark {
  id: string;
  floor: number;
  ranges: [number, number][];
  /** when a batch of this producer was last committed, unix ms (which producer to forget first) */
  seen: number;
}

/** A batch's numbers as the receiver decoded them (see BatchNumbers in transport/receiver.ts). */
export interface NumberedBatch extends Origin {
  /** the number of each event handed to ingest, in order */
  seqs: number[];
  /** events on the wire, invalid ones included */
  count: number;
}

export interface ProducerMarksOptions {
  /** producers remembered; beyond, the one seen longest ago is forgotten [10,000] */
  maxProducers?: number;
  /** ranges kept above a producer's floor; beyond, the floor moves past the oldest gap [256] */
  maxRanges?: number;
}

/** The outcome of checking a batch: which events are new, and the mark to save if it commits. */
export interface MarkPlan {
  isNew: (i: number) => boolean;
  next: ProducerMark;
  /** producers to forget in the same commit (over maxProducers) */
  forget: string[];
  /** gaps given up because the mark had too many ranges */
  abandoned: number;
}

function covered(m: ProducerMark, n: number): boolean {
  if (n < m.floor) return true;
  const r = m.ranges;
  let lo = 0, hi = r.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const [s, e] = r[mid]!;
    if (n < s) hi = mid - 1;
    else if (n >= e) lo = mid + 1;
    else return true;
  }
  return false;
}

/**
 * Exact dedupe of numbered events across restarts: per producer id, the
 * numbers already committed. A repeat (a resend after a lost ack, a half of a
 * split batch the server already has, a batch a relay forwards twice) is
 * dropped however old it is. Memory and the stored table are bounded by
 * maxProducers × maxRanges; `low_water` from the producer keeps the ranges few.
 */
export class ProducerMarks {
  private readonly marks = new Map<string, ProducerMark>(); // least recently seen first
  private readonly maxProducers: number;
  private readonly maxRanges: number;

  constructor(opts: ProducerMarksOptions = {}) {
    this.maxProducers = opts.maxProducers ?? 10_000;
    this.maxRanges = opts.maxRanges ?? 256;
  }

  load(marks: ProducerMark[]): void {
    for (const m of [...marks].sort((a, b) => a.seen - b.seen)) this.marks.set(m.id, m);
  }

  get size(): number { return this.marks.size; }

  /** Check a batch against what is committed; nothing changes until `apply`. */
  plan(b: NumberedBatch, now: number): MarkPlan {
    const cur = this.marks.get(b.producerId) ?? { id: b.producerId, floor: 0, ranges: [], seen: now };
    const ranges = cur.ranges.map((r) => [r[0], r[1]] as [number, number]);
    if (b.count > 0) ranges.push([b.seq, b.seq + b.count]);
    ranges.sort((x, y) => x[0] - y[0]);
    // a producer never sends below its low water again; it cannot vouch for numbers above this batch
    let floor = Math.max(cur.floor, Math.min(b.lowWater, b.seq + b.count));
    const merged: [number, number][] = [];
    for (const r of ranges) {
      if (r[1] <= floor) continue;
      if (r[0] <= floor) { floor = r[1]; continue; }
      const last = merged[merged.length - 1];
      if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
      else merged.push(r);
    }
    // merging into the floor may have reached ranges kept above it
    while (merged.length > 0 && merged[0]![0] <= floor) floor = Math.max(floor, merged.shift()![1]);
    let abandoned = 0;
    while (merged.length > this.maxRanges) { floor = merged.shift()![1]; abandoned++; }
    const forget: string[] = [];
    if (!this.marks.has(b.producerId)) {
      const it = this.marks.keys();
      for (let over = this.marks.size + 1 - this.maxProducers; over > 0; over--) forget.push(it.next().value as string);
    }
    return { isNew: (i) => !covered(cur, b.seqs[i]!), next: { id: b.producerId, floor, ranges: merged, seen: now }, forget, abandoned };
  }

  /** Keep a plan whose commit succeeded. */
  apply(p: MarkPlan): void {
    for (const id of p.forget) this.marks.delete(id);
    this.marks.delete(p.next.id);
    this.marks.set(p.next.id, p.next);
  }
}
