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
  get size(): number { return this.set.size; }
}

/**
 * TTL expiry: remembers when each host+service expires and reports the ones
 * overdue. A min-heap with lazy deletion: a newer event for the same check
 * bumps its generation and the stale heap entry is skipped.
 */
export class ExpiryTracker {
  private heap: { at: number; k: string; gen: number }[] = [];
  private readonly gens = new Map<string, number>();

  /** Track (or re-arm) expiry for a check; ttl null clears it. */
  track(host: string, service: string, time: number, ttl: number | null): void {
    const k = key(host, service);
    const gen = (this.gens.get(k) ?? 0) + 1;
    if (ttl === null) { if (this.gens.has(k)) this.gens.set(k, gen); return; }
    this.gens.set(k, gen);
    this.push({ at: time + ttl * 1000, k, gen });
  }

  /** Checks whose ttl ran out by `now`, each reported once. */
  due(now: number): { host: string; service: string }[] {
    const out: { host: string; service: string }[] = [];
    while (this.heap.length > 0 && this.heap[0]!.at <= now) {
      const top = this.pop()!;
      if (this.gens.get(top.k) !== top.gen) continue;
      this.gens.delete(top.k);
      const i = top.k.indexOf('\u0000');
      out.push({ host: top.k.slice(0, i), service: top.k.slice(i + 1) });
    }
    return out;
  }

  get size(): number { return this.heap.length; }

  private push(x: { at: number; k: string; gen: number }): void {
    const h = this.heap; h.push(x);
    let i = h.length - 1;
    while (i > 0) { const p = (i - 1) >> 1; if (h[p]!.at <= h[i]!.at) break; [h[p], h[i]] = [h[i]!, h[p]!]; i = p; }
  }

  private pop(): { at: number; k: string; gen: number } | undefined {
    const h = this.heap;
    if (h.length === 0) return undefined;
    const top = h[0]!; const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1; let m = i;
        if (l < h.length && h[l]!.at < h[m]!.at) m = l;
        if (r < h.length && h[r]!.at < h[m]!.at) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i]!, h[m]!]; i = m;
      }
    }
    return top;
  }
}
