import type { BlickEvent } from '../../../../core/event.js';
import type { AlertChange } from '../../../alerts/index.js';
import type { Ingested, Removed } from '../../../ingest.js';
import { glob } from '../../../../core/glob.js';

/** What one stream item is about: an event, a check whose state changed, an alert change. */
export type StreamKind = 'event' | 'check' | 'alert' | 'removed';

/** One item of the live stream: its SSE id, kind, what filters look at, and its JSON (serialised once). */
export interface StreamItem {
  id: number;
  kind: StreamKind;
  host: string;
  service: string;
  state: string | null;
  readonly json: string;
  /** about the size of `json` in bytes, known without serialising */
  readonly size: number;
}

export interface StreamFilter { host?: string | undefined; service?: string | undefined; state?: string | undefined }

export type StreamListener = (items: StreamItem[]) => void;

export interface StreamHubOptions {
  /** how many recent items are kept for `Last-Event-ID` resume [10,000] */
  capacity?: number;
  /** and at most about this many bytes of them [64 MiB]; the oldest go first */
  maxBytes?: number;
  /** told how many items left the buffer early because of maxBytes */
  onTrim?: (items: number) => void;
  /** the first id; default `Date.now() * 1000`, so ids keep increasing across restarts */
  firstId?: number;
  /**
   * how long items are still kept after the last client left, ms [300,000]: long
   * enough for a reconnect to resume; after it, ingest pays nothing for the stream
   */
  keepWithoutClientsMs?: number;
  now?: () => number;
}

/**
 * The live stream's source: turns committed ingests and alert changes into
 * items with increasing ids, keeps the latest `capacity` in a ring buffer
 * (resume after a reconnect) and fans them out to listeners (the SSE clients).
 */
export class StreamHub {
  private readonly ring: (StreamItem | undefined)[];
  private start = 0;
  private size = 0;
  private held = 0;
  private readonly maxBytes: number;
  private readonly onTrim: ((items: number) => void) | undefined;
  private nextId: number;
  private readonly listeners = new Set<StreamListener>();
  private readonly now: () => number;
  private readonly keepMs: number;
  /** when the last client left (start counts as such) */
  private idleSince: number;
  private dormant = false;

  constructor(opts: StreamHubOptions = {}) {
    this.ring = new Array(Math.max(1, opts.capacity ?? 10_000));
    this.maxBytes = opts.maxBytes ?? 64 * 1024 * 1024;
    this.onTrim = opts.onTrim;
    this.now = opts.now ?? Date.now;
    this.nextId = opts.firstId ?? this.now() * 1000;
    this.keepMs = opts.keepWithoutClientsMs ?? 300_000;
    this.idleSince = this.now();
  }

  /**
   * With no client for keepWithoutClientsMs, stop collecting: empty the buffer and
   * skip an id, so a client that comes back later is told to reload (`complete: false`).
   */
  private collecting(): boolean {
    if (this.listeners.size > 0) return true;
    if (this.dormant) return false;
    if (this.now() - this.idleSince < this.keepMs) return true;
    this.dormant = true;
    this.ring.fill(undefined);
    this.start = 0;
    this.size = 0;
    this.held = 0;
    this.nextId++;
    return false;
  }

  /** The id the next item will get. */
  get next(): number { return this.nextId; }

  /** The oldest id still held, or undefined while empty. */
  get oldest(): number | undefined { return this.size === 0 ? undefined : this.ring[this.start]!.id; }

  subscribe(fn: StreamListener): () => void {
    this.listeners.add(fn);
    this.dormant = false;
    return () => {
      this.listeners.delete(fn);
      if (this.listeners.size === 0) this.idleSince = this.now();
    };
  }

  get clients(): number { return this.listeners.size; }

  /** About how many bytes the buffered items take. */
  get bytes(): number { return this.held; }

  /** The ingest subscriber: one `event` item per event, one `check` item per state change. */
  onIngest(i: Ingested): void {
    if (!this.collecting()) return;
    const items: StreamItem[] = [];
    for (const e of i.events) items.push(this.make('event', e.host, e.service, e.state ?? null, e));
    for (const c of i.changed) items.push(this.make('check', c.after.host, c.after.service, c.after.state ?? null, { before: c.before, ...c.after }));
    this.push(items);
  }

  /** A removed host or check: one `removed` item (service null for a whole host). */
  onRemoved(r: Removed): void {
    if (!this.collecting()) return;
    this.push([this.make('removed', r.host, r.service ?? '', null, { host: r.host, service: r.service ?? null, reason: r.reason, checks: r.checks.map((c) => c.service) })]);
  }

  /** The alerting listener: one `alert` item per change (the alert as GET /api/v1/alerts shows it). */
  onAlerts(changes: AlertChange[], mutedBy?: (a: AlertChange['alert']) => string | undefined): void {
    if (!this.collecting()) return;
    const items: StreamItem[] = [];
    for (const c of changes) {
      const { key: _key, ...alert } = c.alert;
      const muted = c.to === 'resolved' ? null : mutedBy?.(c.alert) ?? null;
      items.push(this.make('alert', alert.host, alert.service, alert.state, { ...alert, from: c.from, to: c.to, renotify: c.renotify, muted }));
    }
    this.push(items);
  }

  private make(kind: StreamKind, host: string, service: string, state: string | null, data: BlickEvent | Record<string, unknown>): StreamItem {
    const id = this.nextId++;
    return new LazyItem(id, kind, host, service, state, data);
  }

  push(items: StreamItem[]): void {
    if (items.length === 0) return;
    const cap = this.ring.length;
    for (const it of items) {
      if (this.size === cap) this.dropOldest();
      this.ring[(this.start + this.size) % cap] = it;
      this.size++;
      this.held += it.size;
    }
    let trimmed = 0;
    // the newest item stays even when it alone is over: a resume then still works from just before it
    while (this.held > this.maxBytes && this.size > 1) { this.dropOldest(); trimmed++; }
    if (trimmed > 0) this.onTrim?.(trimmed);
    for (const l of this.listeners) l(items);
  }

  private dropOldest(): void {
    const cap = this.ring.length;
    this.held -= this.ring[this.start]!.size;
    this.ring[this.start] = undefined;
    this.start = (this.start + 1) % cap;
    this.size--;
  }

  /**
   * Items after `lastId` for a client that reconnects. `complete` is false
   * when items it missed have already left the buffer (or the id is from the
   * future, i.e. another server run): it must then reload the state.
   */
  since(lastId: number): { items: StreamItem[]; complete: boolean } {
    const out: StreamItem[] = [];
    const cap = this.ring.length;
    for (let i = 0; i < this.size; i++) {
      const it = this.ring[(this.start + i) % cap]!;
      if (it.id > lastId) out.push(it);
    }
    const oldest = this.oldest;
    const complete = lastId < this.nextId && (oldest === undefined ? lastId >= this.nextId - 1 : lastId >= oldest - 1);
    return { items: out, complete };
  }
}

/**
 * A stream item whose JSON is made when a client first needs it, then kept:
 * with no client connected, ingest pays nothing for serialisation.
 */
class LazyItem implements StreamItem {
  private text: string | undefined;
  readonly size: number;
  constructor(readonly id: number, readonly kind: StreamKind, readonly host: string, readonly service: string,
    readonly state: string | null, private data: BlickEvent | Record<string, unknown> | undefined) {
    this.size = jsonSize(data);
  }
  get json(): string {
    if (this.text === undefined) { this.text = JSON.stringify(this.data); this.data = undefined; }
    return this.text;
  }
}

/**
 * About the JSON size of a value (strings counted in UTF-16 units), walked
 * instead of serialised: ingest pays it even while no client reads.
 */
export function jsonSize(v: unknown): number {
  if (typeof v === 'string') return v.length + 2;
  if (v === null || typeof v !== 'object') return 8;
  let n = 2;
  if (Array.isArray(v)) for (const x of v) n += jsonSize(x) + 1;
  else for (const k in v) n += k.length + 4 + jsonSize((v as Record<string, unknown>)[k]);
  return n;
}

/** Whether a stream item passes a client's filters (host and service as globs, state). */
export function matches(it: StreamItem, f: StreamFilter): boolean {
  if (f.host !== undefined && !glob(f.host)(it.host)) return false;
  if (f.service !== undefined && !glob(f.service)(it.service)) return false;
  if (f.state !== undefined && it.state !== f.state) return false;
  return true;
}
