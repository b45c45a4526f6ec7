/**
 * Bounds shared by every API read: a page's bytes (`JsonPage`) and a query's
 * work (`ReadBudget`). A read that hits either ends early with a cursor, so
 * one request can neither build an unbounded response nor hold the event loop
 * for longer than its budget.
 */

/** The work one read may do before it answers what it has. */
export interface ReadBudgetLimits {
  /** rows examined (history rows read, series compared with a glob) */
  rows: number;
  /** milliseconds of the clock */
  ms: number;
}

/** Counts the work of one read against its limits; unbounded without limits. */
export class ReadBudget {
  /** rows examined so far */
  spent = 0;
  /** set once a limit is reached */
  exhausted: 'rows' | 'time' | undefined;
  private readonly t0: number;
  private elapsed = 0;
  private calls = 0;

  constructor(private readonly limits: ReadBudgetLimits | undefined, private readonly clock: () => number) {
    this.t0 = limits ? clock() : 0;
  }

  /**
   * Count `rows` rows examined (0 for cheaper work that only takes time);
   * false once the rows or the time are spent. The clock is read every 16 calls.
   */
  spend(rows = 1): boolean {
    this.spent += rows;
    if (!this.limits) return true;
    if (this.exhausted) return false;
    if ((++this.calls & 15) === 0) this.elapsed = this.clock() - this.t0;
    if (this.spent >= this.limits.rows) this.exhausted = 'rows';
    else if (this.elapsed >= this.limits.ms) this.exhausted = 'time';
    return this.exhausted === undefined;
  }

  /** Whether half of either limit is gone: a read that can choose a plan that always progresses should switch now. */
  halfSpent(): boolean {
    if (!this.limits) return false;
    return this.exhausted !== undefined || this.spent * 2 >= this.limits.rows || this.elapsed * 2 >= this.limits.ms;
  }
}

/**
 * A JSON array built item by item up to a byte bound. The first item is always
 * taken (a page must make progress), later ones only while the whole array,
 * brackets and commas included, stays within `maxBytes`.
 */
export class JsonPage {
  private readonly parts: string[] = [];
  /** bytes of the array so far, brackets included */
  bytes = 2;

  constructor(private readonly maxBytes: number) {}

  get length(): number { return this.parts.length; }

  /** Add one item; false (and nothing added) when it would take the array over the bound. */
  add(item: unknown): boolean {
    const text = JSON.stringify(item);
    const size = Buffer.byteLength(text) + (this.parts.length > 0 ? 1 : 0);
    if (this.parts.length > 0 && this.bytes + size > this.maxBytes) return false;
    this.parts.push(text);
    this.bytes += size;
    return true;
  }

  /** The array as the API sends it. */
  text(): string { return '[' + this.parts.join(',') + ']'; }
}
