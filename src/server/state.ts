import type { BlickEvent } from '../core/event.js';
import { FACTS_SERVICE, SEVERITY, STATES, worseState, type State } from '../core/event.js';
import type { CheckState, StoredCheck } from './store/store.js';


function key(host: string, service: string): string { return host + '\u0000' + service; }

/** What the state index holds at most; defaults are those of `server.limits`. */
export interface CheckLimits {
  /** host+service pairs held; an event for a new one beyond this is refused [100,000] */
  maxChecks: number;
  /** UTF-8 bytes of a check's description kept in memory (the history keeps it whole) [4096] */
  descriptionBytes: number;
  /** UTF-8 bytes of a check's attribute keys and values kept in memory [16384] */
  attributesBytes: number;
}

export const DEFAULT_CHECK_LIMITS: CheckLimits = { maxChecks: 100_000, descriptionBytes: 4096, attributesBytes: 16_384 };

/** Attribute set on a check whose description or attributes were cut to the limits. */
export const TRUNCATED_ATTRIBUTE = '_truncated';

/** Bytes a check costs besides its strings (objects, map entries), for the bytes gauge. */
const CHECK_OVERHEAD_BYTES = 256;

/** The longest start of `s` that fits `max` UTF-8 bytes, not splitting a character. */
export function truncateUtf8(s: string, max: number): string {
  if (s.length * 3 <= max) return s;
  let bytes = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let n = c < 0x80 ? 1 : c < 0x800 ? 2 : 3;
    const pair = c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00;
    if (pair) n = 4;
    if (bytes + n > max) return s.slice(0, i);
    bytes += n;
    if (pair) i++;
  }
  return s;
}

/**
 * What of an event's description and attributes a check keeps: the description
 * cut to `descriptionBytes`, attributes in order while they fit `attributesBytes`
 * (one that does not fit is left out, smaller ones after it still go in), and
 * `_truncated: "true"` when anything was cut.
 */
export function boundCheckText(description: string, attributes: Record<string, string>, limits: CheckLimits): { description: string; attributes: Record<string, string> } {
  const d = truncateUtf8(description, limits.descriptionBytes);
  let cut = d.length !== description.length;
  let budget = limits.attributesBytes;
  let total = 0;
  for (const k in attributes) total += k.length + attributes[k]!.length;
  let attrs = attributes;
  if (total * 3 > budget) {
    const kept: Record<string, string> = {};
    for (const k in attributes) {
      const v = attributes[k]!;
      const n = Buffer.byteLength(k) + Buffer.byteLength(v);
      if (n <= budget) { kept[k] = v; budget -= n; } else cut = true;
    }
    if (cut) attrs = kept;
  }
  if (cut) attrs = { ...attrs, [TRUNCATED_ATTRIBUTE]: 'true' };
  return { description: d, attributes: attrs };
}

/** Approximate bytes one check holds (string lengths plus a fixed overhead). */
function checkBytes(c: CheckState): number {
  let n = CHECK_OVERHEAD_BYTES + c.host.length + c.service.length + c.description.length + c.event_id.length;
  for (const t of c.tags) n += t.length;
  for (const k in c.attributes) n += k.length + c.attributes[k]!.length;
  return n;
}

/** Whether an event is the server's own expiry of a check (not something the host sent). */
export function isExpiry(c: Pick<CheckState, 'source' | 'attributes'>): boolean {
  return c.source === 'server' && c.attributes.expired === 'true';
}

/** The state a check had before the server expired it (an expiry's `last_state`), null for a metric-only series. */
function stateBeforeExpiry(c: CheckState): State | null {
  const s = c.attributes.last_state;
  return s !== undefined && (STATES as readonly string[]).includes(s) ? s as State : null;
}

/**
 * The current state of every host+service, in memory (rebuilt from the store
 * at start). `prepare` computes what a batch changes without touching the
 * index, so the store can commit first and `apply` can follow only on success.
 * Bounded: at most `maxChecks` checks, each with its description and attributes
 * cut to the limits.
 */
export class StateIndex {
  private readonly checks = new Map<string, CheckState>();
  private readonly byHost = new Map<string, Map<string, CheckState>>();
  private heldBytes = 0;
  readonly limits: CheckLimits;

  constructor(limits: Partial<CheckLimits> = {}) { this.limits = { ...DEFAULT_CHECK_LIMITS, ...limits }; }

  /**
   * Add stored checks (at start), cut to the limits; those beyond `maxChecks`
   * are not loaded. Returns whether the check was loaded.
   */
  load(c: StoredCheck): boolean {
    if (this.checks.size >= this.limits.maxChecks && !this.checks.has(key(c.host, c.service))) return false;
    const { description, attributes } = boundCheckText(c.description, c.attributes, this.limits);
    // a store need not keep last_seen: an expiry's attributes carry it, other events are the host's own
    const seen = c.last_seen ?? (isExpiry(c) && Number.isFinite(Number(c.attributes.last_seen)) ? Number(c.attributes.last_seen) : c.source === 'server' ? 0 : c.time);
    this.set({ ...c, description, attributes, last_seen: seen });
    return true;
  }

  private set(c: CheckState): void {
    const k = key(c.host, c.service);
    const old = this.checks.get(k);
    if (old) this.heldBytes -= checkBytes(old);
    this.heldBytes += checkBytes(c);
    this.checks.set(k, c);
    let h = this.byHost.get(c.host);
    if (!h) { h = new Map(); this.byHost.set(c.host, h); }
    h.set(c.service, c);
  }

  get(host: string, service: string): CheckState | undefined { return this.checks.get(key(host, service)); }

  /** Remove a host's checks (all, or one service); returns those removed. */
  delete(host: string, service?: string): CheckState[] {
    const h = this.byHost.get(host);
    if (!h) return [];
    const gone = service === undefined ? [...h.values()] : h.has(service) ? [h.get(service)!] : [];
    for (const c of gone) {
      this.checks.delete(key(c.host, c.service));
      h.delete(c.service);
      this.heldBytes -= checkBytes(c);
    }
    if (h.size === 0) this.byHost.delete(host);
    return gone;
  }

  /**
   * The new state rows for a batch: one per host+service, the newest event
   * wins (an older event that arrives late — a resend — does not roll state back).
   * Also reports which checks changed state, for the event stream and rules, and
   * the indexes of events refused because they would add a check beyond `maxChecks`.
   */
  prepare(events: BlickEvent[]): { rows: CheckState[]; changed: { before: State | null; after: CheckState }[]; refused: number[] } {
    const next = new Map<string, CheckState>();
    const changed: { before: State | null; after: CheckState }[] = [];
    const refused: number[] = [];
    let added = 0;
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!;
      if (e.service === FACTS_SERVICE) continue;
      const k = key(e.host, e.service);
      const prev = next.get(k) ?? this.checks.get(k);
      if (!prev) {
        if (this.checks.size + added >= this.limits.maxChecks) { refused.push(i); continue; }
        added++;
      }
      // an expiry is stamped with the server's clock: the host's own next event
      // (newer than the last one it sent) still counts, whatever its clock says
      if (prev && prev.time > e.time && !(isExpiry(prev) && e.source !== 'server' && e.time > prev.last_seen)) continue;
      const state = e.state ?? null;
      // a pure metric event keeps the check's state, except that one from the host ends
      // an expiry: the series is heard from again, back in the state it had before
      const ends = state === null && prev !== undefined && e.source !== 'server' && isExpiry(prev);
      const newState = state ?? (ends ? stateBeforeExpiry(prev) : prev?.state ?? null);
      const stateChanged = !prev || newState !== prev.state;
      const { description, attributes } = boundCheckText(e.description, e.attributes, this.limits);
      const row: CheckState = {
        host: e.host, service: e.service, state: newState, metric: e.metric ?? null, description,
        time: e.time, last_change: stateChanged ? e.time : prev!.last_change, source: e.source, ttl: e.ttl ?? null,
        tags: e.tags, attributes, event_id: e.id,
        // the server's own events (expiry, never seen) say nothing about when the host was last
        // heard from; 0: a check the server made never was (lastSeen skips it)
        last_seen: e.source === 'server' ? (prev ? prev.last_seen : 0) : e.time,
      };
      if (stateChanged && (prev?.state ?? null) !== newState) changed.push({ before: prev?.state ?? null, after: row });
      next.set(k, row);
    }
    return { rows: [...next.values()], changed, refused };
  }

  apply(rows: CheckState[]): void { for (const r of rows) this.set(r); }

  all(): IterableIterator<CheckState> { return this.checks.values(); }
  get size(): number { return this.checks.size; }
  /** approximate bytes held by the checks (strings and a fixed overhead each) */
  get bytes(): number { return this.heldBytes; }
  hosts(): IterableIterator<string> { return this.byHost.keys(); }
  hostChecks(host: string): CheckState[] { return [...(this.byHost.get(host)?.values() ?? [])]; }

  /** The worst state of a host's checks (null when none has a state). */
  worst(host: string): State | null {
    let w: State | undefined;
    for (const c of this.byHost.get(host)?.values() ?? []) if (c.state) w = worseState(w, c.state);
    return w ?? null;
  }

  /** Time of the newest event the host itself sent (the server's expiries do not count). */
  lastSeen(host: string): number | null {
    let t: number | null = null;
    for (const c of this.byHost.get(host)?.values() ?? []) if (c.last_seen > 0 && (t === null || c.last_seen > t)) t = c.last_seen;
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

  /** Stop tracking a check (it was deleted). */
  untrack(host: string, service: string): void { this.track(host, service, 0, null); }

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
