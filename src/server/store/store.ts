import type { BlickEvent, Source, State } from '../../core/event.js';
import type { ReadBudgetLimits } from './page.js';
import type { ProducerMark } from '../producers.js';
import type { ClassificationSource, DesiredState } from '../classification/types.js';

/** The current state of one host+service (a row of GET /api/v1/checks). */
export interface CheckState {
  host: string;
  service: string;
  state: State | null;
  metric: number | null;
  description: string;
  /** time of the latest event, unix ms */
  time: number;
  /** when the state last changed, unix ms */
  last_change: number;
  source: Source;
  /** seconds, when the latest event had one */
  ttl: number | null;
  tags: string[];
  attributes: Record<string, string>;
  /** id of the latest event */
  event_id: string;
  /** time of the latest event the host itself sent (an expiry by the server does not count), unix ms */
  last_seen: number;
}

/** A check as a store returns it at start (stores need not keep last_seen; it is derived then). */
export type StoredCheck = Omit<CheckState, 'last_seen'> & { last_seen?: number };

/** What the server knows about a host besides its checks. */
export interface HostRecord {
  host: string;
  facts: Record<string, string>;
  facts_time: number | null;
  classification: unknown;
}

export interface EventQuery {
  /** a host name, or a glob (`*` any run, `?` one character; see core/glob.ts) */
  host?: string | undefined;
  /** a service name, or a glob */
  service?: string | undefined;
  state?: State | undefined;
  /** only events with time >= since (unix ms) */
  since?: number | undefined;
  /** paging cursor from the previous page's Link header */
  cursor?: string | undefined;
  limit: number;
  /**
   * End the page before its JSON array (what the API sends) exceeds this many
   * bytes; the first event is always included. The store then also returns `json`.
   */
  maxBytes?: number | undefined;
  /**
   * The work this read may do. When it is spent the page ends early, possibly
   * empty, with a `next` cursor that continues where the read stopped.
   */
  budget?: ReadBudgetLimits | undefined;
}

export interface EventPage {
  events: BlickEvent[];
  /** cursor of the next page; a page may be shorter than `limit`, even empty, and still have one */
  next?: string;
  /** the events as one JSON array, when the query gave `maxBytes` */
  json?: string;
  /** why the page ended before `limit` events with more to read */
  stopped?: 'bytes' | 'rows' | 'time';
  /** rows the read examined */
  examined?: number;
}

/** One series' metric history in fixed steps (GET /api/v1/series). */
export interface SeriesQuery {
  host: string;
  service: string;
  /** first bucket starts here, unix ms (inclusive) */
  from: number;
  /** end of the range, unix ms (exclusive) */
  to: number;
  /** bucket width, ms */
  step: number;
  /** the work this read may do; when spent the answer is partial (`stopped`) */
  budget?: ReadBudgetLimits | undefined;
}

/** The events with a metric whose time falls in [time, time + step). */
export interface SeriesBucket {
  time: number;
  count: number;
  min: number;
  max: number;
  avg: number;
  /** the metric of the bucket's latest event (by time, then arrival) */
  last: number;
}

export interface SeriesResult {
  /** buckets with at least one value, oldest first */
  buckets: SeriesBucket[];
  /** rows the read examined */
  examined: number;
  /** set when the budget ended the read: older buckets may be missing or short */
  stopped?: 'rows' | 'time';
}

/** What one source says of one host, as a store keeps it (server/classification). */
export interface StoredClassification {
  host: string;
  source: ClassificationSource;
  state: DesiredState;
  /** when this source first said anything of the host, unix ms (kept across updates) */
  known_since: number;
  /** when it last said it, unix ms */
  updated: number;
}

/** Everything one ingest commit writes, atomically. */
export interface Commit {
  /** the transport batch id, remembered for dedupe of resent batches */
  batchId?: string | undefined;
  /** new events for the history (repeats already removed) */
  events: BlickEvent[];
  /**
   * the resulting state of every host+service the events touched; a store may
   * save these behind the history (they can be rebuilt from it, see loadChecks and replayEvents)
   */
  checks: CheckState[];
  /** facts reported by agents */
  facts: { host: string; facts: Record<string, string>; time: number }[];
  /** what is committed of the batch's producer after this commit (exact dedupe, see server/producers.ts) */
  producer?: ProducerMark | undefined;
  /** producers whose marks are forgotten (over the bound) */
  forgetProducers?: string[] | undefined;
}

/**
 * The storage extension point: SQLite (embedded, default) and PostgreSQL
 * (scale-out) implement it. All methods are async so that a networked store
 * fits; the SQLite one answers synchronously inside.
 */
export interface Store {
  readonly kind: string;
  open(): Promise<void>;
  close(): Promise<void>;
  /** Write one ingest commit in a single transaction. Throws if nothing was written. */
  commit(c: Commit): Promise<void>;
  /** Was a batch with this id committed (within the retention)? */
  hasBatch(id: string): Promise<boolean>;
  /** Every saved producer mark (exact dedupe state, loaded at start). */
  loadProducers(): Promise<ProducerMark[]>;
  /** The ids of the newest events, newest first (to warm the dedupe cache after a restart). */
  recentEventIds(limit: number): Promise<string[]>;
  /**
   * What the in-memory state index is rebuilt from at start, read a page at a
   * time so that a database larger than memory can be loaded: the saved checks,
   * and the events committed after they were last saved (a store may save
   * checks behind the history, e.g. once a second), to be replayed in order in
   * chunks of at most `chunk.events` events and about `chunk.bytes` bytes.
   */
  loadChecks(): AsyncIterable<StoredCheck>;
  replayEvents(chunk: { events: number; bytes: number }): AsyncIterable<BlickEvent[]>;
  queryEvents(q: EventQuery): Promise<EventPage>;
  /** Min/max/avg/count/last per step of one series' metric, read newest first within `q.budget`. */
  querySeries(q: SeriesQuery): Promise<SeriesResult>;
  listHosts(): Promise<HostRecord[]>;
  getHost(host: string): Promise<HostRecord | undefined>;
  /**
   * Forget the current state of a host's checks (all, or one service) so that a
   * restart does not bring them back; their history stays until pruned. Returns checks deleted.
   */
  deleteChecks(host: string, service?: string): Promise<number>;
  /** Forget a host: its checks as deleteChecks does, and its facts record. Returns whether anything was known. */
  deleteHost(host: string): Promise<boolean>;
  /**
   * Save what `source` says of `host` (replacing what it said; `known_since` is
   * kept from the first save), or forget it with `state` null.
   */
  saveClassification(host: string, source: ClassificationSource, state: DesiredState | null, time: number): Promise<void>;
  /** Every saved classification (loaded at start). */
  loadClassifications(): Promise<StoredClassification[]>;
  /** Delete history (and remembered batch ids) older than `before` (unix ms); returns events deleted. */
  prune(before: number): Promise<number>;
}
