import type { BlickEvent } from '../core/event.js';
import { FACTS_SERVICE, SEVERITY, worseState, type State } from '../core/event.js';
import type { CheckState } from './store/store.js';


function key(host: string, service: string): string { return host + '\u0000' + service; }

/**
 * The current state of every host+service, in memory (rebuilt from the store
 * at start). `prepare` computes what a batch changes without touching the
 * index, so the store can commit first and `apply` can follow only on success.
 */
export class StateIndex {
  private readonly checks = new Map<string, CheckState>();
  private readonly byHost = new Map<string, Map<string, CheckState>>();

  load(rows: CheckState[]): void { for (const r of rows) this.set(r); }

  private set(c: CheckState): void {
    this.checks.set(key(c.host, c.service), c);
    let h = this.byHost.get(c.host);
    if (!h) { h = new Map(); this.byHost.set(c.host, h); }
    h.set(c.service, c);
  }

  get(host: string, service: string): CheckState | undefined { return this.checks.get(key(host, service)); }

  /**
   * The new state rows for a batch: one per host+service, the newest event
   * wins (an older event that arrives late — a resend — does not roll state back).
   * Also reports which checks changed state, for the event stream and rules.
   */
  prepare(events: BlickEvent[]): { rows: CheckState[]; changed: { before: State | null; after: CheckState }[] } {
    const next = new Map<string, CheckState>();
    const changed: { before: State | null; after: CheckState }[] = [];
    for (const e of events) {
      if (e.service === FACTS_SERVICE) continue;
      const k = key(e.host, e.service);
      const prev = next.get(k) ?? this.checks.get(k);
      if (prev && prev.time > e.time) continue;
      const state = e.state ?? null;
      // a pure metric event keeps the check's state; a new state changes it
      const newState = state ?? prev?.state ?? null;
      const stateChanged = !prev || (state !== null && state !== prev.state);
      const row: CheckState = {
        host: e.host, service: e.service, state: newState, metric: e.metric ?? null, description: e.description,
        time: e.time, last_change: stateChanged ? e.time : prev!.last_change, source: e.source, ttl: e.ttl ?? null,
        tags: e.tags, attributes: e.attributes, event_id: e.id,
      };
      if (stateChanged && (prev?.state ?? null) !== newState) changed.push({ before: prev?.state ?? null, after: row });
      next.set(k, row);
    }
    return { rows: [...next.values()], changed };
  }

  apply(rows: CheckState[]): void { for (const r of rows) this.set(r); }

  all(): IterableIterator<CheckState> { return this.checks.values(); }
  get size(): number { return this.checks.size; }
  hosts(): IterableIterator<string> { return this.byHost.keys(); }
  hostChecks(host: string): CheckState[] { return [...(this.byHost.get(host)?.values() ?? [])]; }

  /** The worst state of a host's checks (null when none has a state). */
  worst(host: string): State | null {
    let w: State | undefined;
    for (const c of this.byHost.get(host)?.values() ?? []) if (c.state) w = worseState(w, c.state);
    return w ?? null;
  }

  lastSeen(host: string): number | null {
    let t: number | null = null;
    for (const c of this.byHost.get(host)?.values() ?? []) if (t === null || c.time > t) t = c.time;
    return t;
  }
}

export function compareSeverity(a: State | null, b: State | null): number {
  return (a ? SEVERITY[a] : -1) - (b ? SEVERITY[b] : -1);
}

/** A bounded set of recently seen ids (insertion order eviction). */
export class RecentIds {
  private readonly set = new Set<string>();
  constructor(private readonly capacity: number) {}
  has(id: string): boolean { return this.set.has(id); }
  add(id: string): void {
    this.set.add(id);
    if (this.set.size > this.capacity) {
      // evict in chunks to keep the per-add cost flat
      const it = this.set.values();
      for (let i = 0; i < Math.max(1, this.capacity >> 6); i++) this.set.delete(it.next().value as string);
    }
  }
  delete(id: string): void { this.set.delete(id); }
  get size(): number { return this.set.size; }
}

/**
 * TTL expiry: remembers when each host+service expires and reports the ones
 * overdue, each once. A timing wheel of 100 ms buckets keyed by deadline:
 * memory stays proportional to the number of checks (re-arming moves a check
 * between buckets), and a check expires at most 100 ms after its deadline.
 */
export class ExpiryTracker {
  private static readonly TICK = 100;
  private readonly deadline = new Map<string, number>();
  private readonly buckets = new Map<number, Set<string>>();
  private cursor = -1;

  /** Track (or re-arm) expiry for a check; ttl null clears it. */
  track(host: string, service: string, time: number, ttl: number | null): void {
    const k = key(host, service);
    const old = this.deadline.get(k);
    if (old !== undefined) this.buckets.get(Math.floor(old / ExpiryTracker.TICK))?.delete(k);
    if (ttl === null) { this.deadline.delete(k); return; }
    const at = time + ttl * 1000;
    this.deadline.set(k, at);
    const b = Math.floor(at / ExpiryTracker.TICK);
    let set = this.buckets.get(b);
    if (!set) { set = new Set(); this.buckets.set(b, set); }
    set.add(k);
    if (this.cursor < 0 || b < this.cursor) this.cursor = b;
  }

  /** Checks whose ttl ran out by `now`, each reported once. */
  due(now: number): { host: string; service: string }[] {
    const out: { host: string; service: string }[] = [];
    if (this.cursor < 0) return out;
    const last = Math.floor(now / ExpiryTracker.TICK);
    // walk bucket numbers when few, else the (sparse) bucket keys
    const walk = last - this.cursor <= this.buckets.size ? null : [...this.buckets.keys()].filter((b) => b <= last).sort((a, b) => a - b);
    const visit = (b: number) => {
      const set = this.buckets.get(b);
      if (!set) return;
      for (const k of set) {
        const at = this.deadline.get(k)!;
        if (at > now) continue; // later in this bucket: next call
        set.delete(k);
        this.deadline.delete(k);
        const i = k.indexOf('\u0000');
        out.push({ host: k.slice(0, i), service: k.slice(i + 1) });
      }
      if (set.size === 0) this.buckets.delete(b);
    };
    if (walk) for (const b of walk) visit(b);
    else for (let b = this.cursor; b <= last; b++) visit(b);
    this.cursor = this.buckets.has(last) ? last : last + 1;
    if (this.buckets.size === 0) this.cursor = -1;
    return out;
  }

  get size(): number { return this.deadline.size; }
}
