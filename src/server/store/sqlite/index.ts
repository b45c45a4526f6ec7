import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { BlickError } from '../../../core/errors.js';
import { glob, isGlob } from '../../../core/glob.js';
import type { BlickEvent, Source, State } from '../../../core/event.js';
import type { ProducerMark } from '../../producers.js';
import type { CheckState, Commit, EventPage, EventQuery, HostRecord, SeriesBucket, SeriesQuery, SeriesResult, Store, StoredCheck, StoredClassification } from '../store.js';
import type { ClassificationSource, DesiredState } from '../../classification/types.js';
import { JsonPage, ReadBudget } from '../page.js';

export interface SqliteStoreOptions {
  /** database file, or ':memory:' */
  path: string;
  /** PRAGMA synchronous: 'normal' (default; WAL, survives process crashes) or 'full' (survives power loss) */
  synchronous?: 'normal' | 'full';
  /** how often changed checks are saved, ms [1000]; history is always written first, so nothing is lost */
  checksFlushMs?: number;
  /** the clock of read budgets, ms [performance.now] */
  clock?: () => number;
  /** how long a write waits for a lock held by another process, ms [100] (the event loop waits with it) */
  busyTimeoutMs?: number;
  /** told when saving the checks fails (they stay dirty and are saved at the next try) */
  onFlushError?: (err: unknown) => void;
}

const SCHEMA_VERSION = 4;

/**
 * Migrations from an older schema, by the version they start from. The tables
 * they add are also in SCHEMA (CREATE … IF NOT EXISTS), so a migration only
 * does what that cannot: changing existing tables. 3 → 4 added `classifications`.
 */
const MIGRATIONS: Record<number, (db: Database.Database) => void> = {
  3: () => undefined,
};

/** checks read per page at start */
const LOAD_PAGE_ROWS = 1000;

/** how far a producer's clock may run ahead for `since` queries to still find its events */
const SINCE_SLACK_MS = 10 * 60_000;
/** A host/service glob matching more series than this is answered by one walk of the history instead of a merge. */
const MERGE_SERIES_MAX = 256;

// History is append-only in arrival order (seq). Rather than a secondary index
// on (host, service) — whose random inserts touch a different page per event
// and multiply the WAL writes — each row links to the previous event of its
// series (`prev`), and the series remembers its newest event (`last_seq`).
// Reading a series newest-first is a walk of primary-key lookups; a host is a
// merge of its series' walks. Current state (checks) and `series.last_seq` are
// saved behind the history; `meta.checks_seq` says up to which event they are
// complete, so a crash between saves is repaired at start from the later events.
const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS series (
  sid INTEGER PRIMARY KEY,
  host TEXT NOT NULL,
  service TEXT NOT NULL,
  last_seq INTEGER,
  UNIQUE (host, service)
);
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY,
  sid INTEGER NOT NULL,
  prev INTEGER,
  id TEXT NOT NULL,
  state TEXT,
  metric REAL,
  description TEXT NOT NULL,
  tags TEXT,
  attributes TEXT,
  time INTEGER NOT NULL,
  ttl REAL,
  source TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS event_marks (minute INTEGER PRIMARY KEY, seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS batches (id TEXT PRIMARY KEY, received INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS producers (id TEXT PRIMARY KEY, floor INTEGER NOT NULL, ranges TEXT NOT NULL, seen INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS checks (
  host TEXT NOT NULL,
  service TEXT NOT NULL,
  state TEXT,
  metric REAL,
  description TEXT NOT NULL,
  time INTEGER NOT NULL,
  last_change INTEGER NOT NULL,
  source TEXT NOT NULL,
  ttl REAL,
  tags TEXT,
  attributes TEXT,
  event_id TEXT NOT NULL,
  PRIMARY KEY (host, service)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS hosts (
  host TEXT PRIMARY KEY,
  facts TEXT NOT NULL DEFAULT '{}',
  facts_time INTEGER,
  classification TEXT
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS classifications (
  host TEXT NOT NULL,
  source TEXT NOT NULL,
  state TEXT NOT NULL,
  known_since INTEGER NOT NULL,
  updated INTEGER NOT NULL,
  PRIMARY KEY (host, source)
) WITHOUT ROWID;
`;

const EMPTY_JSON_ARRAY = '[]';
const EMPTY_JSON_OBJECT = '{}';

function tagsJson(tags: string[]): string | null { return tags.length === 0 ? null : JSON.stringify(tags); }
function attrsJson(a: Record<string, string>): string | null {
  for (const _ in a) return JSON.stringify(a);
  return null;
}

interface EventRow { seq: number; sid: number; prev: number | null; id: string; host?: string; service?: string; state: string | null; metric: number | null; description: string; tags: string | null; attributes: string | null; time: number; ttl: number | null; source: string }

function rowToEvent(r: EventRow): BlickEvent {
  const e: BlickEvent = {
    id: r.id, host: r.host!, service: r.service!, description: r.description,
    tags: JSON.parse(r.tags ?? EMPTY_JSON_ARRAY), attributes: JSON.parse(r.attributes ?? EMPTY_JSON_OBJECT),
    time: r.time, source: r.source as Source,
  };
  if (r.state !== null) e.state = r.state as State;
  if (r.metric !== null) e.metric = r.metric;
  if (r.ttl !== null) e.ttl = r.ttl;
  return e;
}

const key = (host: string, service: string) => host + '\u0000' + service;

/** One host+service's history chain. */
interface Series { sid: number; host: string; service: string; last: number | null }

/**
 * The embedded store: one SQLite file in WAL mode, one transaction per ingest
 * commit, prepared statements throughout, checks saved behind the history.
 */
export class SqliteStore implements Store {
  readonly kind = 'sqlite';
  private db!: Database.Database;
  private stmts!: ReturnType<SqliteStore['prepare']>;
  private commitTx!: (c: Commit, received: number) => void;
  private flushTx!: () => void;
  private lastMarkMinute = -1;
  /** series by host+service key, and by sid */
  private readonly sids = new Map<string, Series>();
  private readonly bySid = new Map<number, Series>();
  private readonly hostSeries = new Map<string, Series[]>();
  private readonly serviceSeries = new Map<string, Series[]>();
  private readonly dirtySeries = new Set<Series>();
  private readonly dirty = new Map<string, CheckState>();
  private lastSeq = 0;
  private flushTimer?: NodeJS.Timeout;

  private readonly clock: () => number;

  constructor(private readonly opts: SqliteStoreOptions) {
    this.clock = opts.clock ?? (() => performance.now());
  }

  async open(): Promise<void> {
    if (this.opts.path !== ':memory:') mkdirSync(dirname(this.opts.path), { recursive: true });
    try {
      this.db = new Database(this.opts.path);
      this.db.pragma('journal_mode = WAL');
      this.db.pragma(`synchronous = ${this.opts.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
      // better-sqlite3 waits for a lock on the event loop: a long wait would freeze the
      // API and ingest while another process holds the database. A failed commit is not
      // acknowledged and the producer resends it, so waiting briefly is enough.
      this.db.pragma(`busy_timeout = ${this.opts.busyTimeoutMs ?? 100}`);
      this.db.pragma('cache_size = -65536');
      this.db.pragma('temp_store = MEMORY');
      const v = this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").get()
        ? (this.db.prepare('SELECT value FROM meta WHERE key = ?').get('schema_version') as { value: string } | undefined)
        : undefined;
      let from = v ? Number(v.value) : SCHEMA_VERSION;
      if (from !== SCHEMA_VERSION && (from > SCHEMA_VERSION || MIGRATIONS[from] === undefined)) {
        throw new Error(`the database has schema ${v!.value}, this Blick expects ${SCHEMA_VERSION}; ${from > SCHEMA_VERSION ? 'upgrade Blick' : 'move the old file away (pre-release schema, no migration)'}`);
      }
      this.db.transaction(() => {
        this.db.exec(SCHEMA);
        for (; from < SCHEMA_VERSION; from++) MIGRATIONS[from]!(this.db);
        this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run('schema_version', String(SCHEMA_VERSION));
      })();
    } catch (err) {
      throw new BlickError('STORE_FAILED', `cannot open the SQLite database ${this.opts.path}: ${(err as Error).message}`, { cause: err });
    }
    this.stmts = this.prepare();
    const s = this.stmts;
    for (const r of s.allSeries.iterate() as IterableIterator<{ sid: number; host: string; service: string; last_seq: number | null }>) this.addSeries({ sid: r.sid, host: r.host, service: r.service, last: r.last_seq });
    this.lastSeq = (s.maxSeq.get() as number | null) ?? 0;
    // series heads saved behind the history: bring them up to date
    const saved = Number((s.getMeta.get('checks_seq') as string | undefined) ?? 0);
    for (const r of s.sidsAfter.iterate(saved) as IterableIterator<{ seq: number; sid: number }>) {
      const ser = this.bySid.get(r.sid);
      if (ser && (ser.last === null || r.seq > ser.last)) { ser.last = r.seq; this.dirtySeries.add(ser); }
    }
    // in-memory series heads move inside the transaction; undone if it fails
    let touched: (Series | number | null)[] = [];
    let created: Series[] = [];
    const commitTx = this.db.transaction((c: Commit, received: number) => {
      if (c.batchId) s.insertBatch.run(c.batchId, received);
      let first = true;
      for (const e of c.events) {
        const k = key(e.host, e.service);
        let ser = this.sids.get(k);
        if (ser === undefined) {
          ser = { sid: Number(s.insertSeries.run(e.host, e.service).lastInsertRowid), host: e.host, service: e.service, last: null };
          created.push(ser);
          this.addSeries(ser);
        }
        const seq = Number(s.insertEvent.run(ser.sid, ser.last, e.id, e.state ?? null, e.metric ?? null, e.description,
          tagsJson(e.tags), attrsJson(e.attributes), e.time, e.ttl ?? null, e.source).lastInsertRowid);
        touched.push(ser, ser.last);
        ser.last = seq;
        this.dirtySeries.add(ser);
        if (first) {
          first = false;
          const minute = Math.floor(received / 60_000);
          if (minute !== this.lastMarkMinute) { s.insertMark.run(minute, seq); this.lastMarkMinute = minute; }
        }
        this.lastSeq = seq;
      }
      for (const f of c.facts) s.upsertFacts.run(f.host, JSON.stringify(f.facts), f.time);
      if (c.producer) s.upsertProducer.run(c.producer.id, c.producer.floor, JSON.stringify(c.producer.ranges), c.producer.seen);
      for (const id of c.forgetProducers ?? []) s.deleteProducer.run(id);
    });
    this.commitTx = (c, received) => {
      touched = []; created = [];
      const lastSeq = this.lastSeq;
      try {
        commitTx(c, received);
      } catch (err) {
        for (let i = touched.length - 2; i >= 0; i -= 2) (touched[i] as Series).last = touched[i + 1] as number | null;
        for (const ser of created) this.removeSeries(ser);
        this.lastSeq = lastSeq;
        throw err;
      }
    };
    this.flushTx = this.db.transaction(() => {
      for (const k of this.dirty.values()) {
        s.upsertCheck.run(k.host, k.service, k.state, k.metric, k.description, k.time, k.last_change, k.source, k.ttl,
          tagsJson(k.tags), attrsJson(k.attributes), k.event_id);
      }
      for (const ser of this.dirtySeries) s.setSeriesLast.run(ser.last, ser.sid);
      s.setMeta.run('checks_seq', String(this.lastSeq));
    });
    this.flushTimer = setInterval(() => {
      // a locked or full database must not crash the server from a timer: the checks stay
      // dirty (and can be rebuilt from the history) until a later save succeeds
      try { this.flushChecks(); } catch (err) { this.opts.onFlushError?.(err); }
    }, this.opts.checksFlushMs ?? 1000);
    this.flushTimer.unref();
  }

  private prepare() {
    const db = this.db;
    return {
      setMeta: db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value'),
      getMeta: db.prepare('SELECT value FROM meta WHERE key = ?').pluck(),
      allSeries: db.prepare('SELECT sid, host, service, last_seq FROM series'),
      insertSeries: db.prepare('INSERT INTO series (host, service) VALUES (?, ?)'),
      setSeriesLast: db.prepare('UPDATE series SET last_seq = ? WHERE sid = ?'),
      sidsAfter: db.prepare('SELECT seq, sid FROM events WHERE seq > ? ORDER BY seq'),
      eventBySeq: db.prepare('SELECT * FROM events WHERE seq = ?'),
      maxSeq: db.prepare('SELECT max(seq) FROM events').pluck(),
      insertBatch: db.prepare('INSERT OR IGNORE INTO batches (id, received) VALUES (?, ?)'),
      hasBatch: db.prepare('SELECT 1 FROM batches WHERE id = ?').pluck(),
      upsertProducer: db.prepare(`INSERT INTO producers (id, floor, ranges, seen) VALUES (?, ?, ?, ?)
        ON CONFLICT (id) DO UPDATE SET floor = excluded.floor, ranges = excluded.ranges, seen = excluded.seen`),
      deleteProducer: db.prepare('DELETE FROM producers WHERE id = ?'),
      allProducers: db.prepare('SELECT id, floor, ranges, seen FROM producers'),
      insertEvent: db.prepare('INSERT INTO events (sid, prev, id, state, metric, description, tags, attributes, time, ttl, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)'),
      insertMark: db.prepare('INSERT OR IGNORE INTO event_marks (minute, seq) VALUES (?, ?)'),
      upsertCheck: db.prepare(`INSERT INTO checks (host, service, state, metric, description, time, last_change, source, ttl, tags, attributes, event_id)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (host, service) DO UPDATE SET state = excluded.state, metric = excluded.metric, description = excluded.description,
          time = excluded.time, last_change = excluded.last_change, source = excluded.source, ttl = excluded.ttl,
          tags = excluded.tags, attributes = excluded.attributes, event_id = excluded.event_id`),
      upsertFacts: db.prepare(`INSERT INTO hosts (host, facts, facts_time) VALUES (?, ?, ?)
        ON CONFLICT (host) DO UPDATE SET facts = excluded.facts, facts_time = excluded.facts_time`),
      recentIds: db.prepare('SELECT id FROM events ORDER BY seq DESC LIMIT ?').pluck(),
      checksPage: db.prepare('SELECT * FROM checks WHERE (host, service) > (?, ?) ORDER BY host, service LIMIT ?'),
      eventsAfter: db.prepare('SELECT e.*, s.host, s.service FROM events e JOIN series s ON s.sid = e.sid WHERE e.seq > ? ORDER BY e.seq LIMIT ?'),
      scanEvents: db.prepare('SELECT * FROM events WHERE seq < ? ORDER BY seq DESC'),
      allHosts: db.prepare('SELECT * FROM hosts ORDER BY host'),
      oneHost: db.prepare('SELECT * FROM hosts WHERE host = ?'),
      firstMarkFrom: db.prepare('SELECT min(seq) FROM event_marks WHERE minute >= ?').pluck(),
      deleteAllEvents: db.prepare('DELETE FROM events'),
      deleteEventsBefore: db.prepare('DELETE FROM events WHERE seq < ?'),
      deleteMarksBefore: db.prepare('DELETE FROM event_marks WHERE minute < ?'),
      deleteBatchesBefore: db.prepare('DELETE FROM batches WHERE received < ?'),
      deleteCheck: db.prepare('DELETE FROM checks WHERE host = ? AND service = ?'),
      deleteHostChecks: db.prepare('DELETE FROM checks WHERE host = ?'),
      deleteHostRecord: db.prepare('DELETE FROM hosts WHERE host = ?'),
      upsertClassification: db.prepare(`INSERT INTO classifications (host, source, state, known_since, updated) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (host, source) DO UPDATE SET state = excluded.state, updated = excluded.updated`),
      deleteClassification: db.prepare('DELETE FROM classifications WHERE host = ? AND source = ?'),
      allClassifications: db.prepare('SELECT * FROM classifications ORDER BY host, source'),
    };
  }

  private addSeries(ser: Series): void {
    this.sids.set(key(ser.host, ser.service), ser);
    this.bySid.set(ser.sid, ser);
    const h = this.hostSeries.get(ser.host);
    if (h) h.push(ser); else this.hostSeries.set(ser.host, [ser]);
    const v = this.serviceSeries.get(ser.service);
    if (v) v.push(ser); else this.serviceSeries.set(ser.service, [ser]);
  }

  private removeSeries(ser: Series): void {
    this.sids.delete(key(ser.host, ser.service));
    this.bySid.delete(ser.sid);
    const drop = (m: Map<string, Series[]>, k: string) => { const l = m.get(k); if (l) { const i = l.indexOf(ser); if (i >= 0) l.splice(i, 1); } };
    drop(this.hostSeries, ser.host);
    drop(this.serviceSeries, ser.service);
    this.dirtySeries.delete(ser);
  }

  /** Save the checks and series heads changed since the last save (also on a timer and at close). */
  flushChecks(): void {
    if ((this.dirty.size === 0 && this.dirtySeries.size === 0) || !this.db?.open) return;
    this.flushTx();
    this.dirty.clear();
    this.dirtySeries.clear();
  }

  async close(): Promise<void> {
    if (this.flushTimer) clearInterval(this.flushTimer);
    if (this.db?.open) {
      try { this.flushChecks(); } catch (err) { this.opts.onFlushError?.(err); }
      try { this.db.pragma('wal_checkpoint(TRUNCATE)'); } catch { /* best effort */ }
      this.db.close();
    }
  }

  async commit(c: Commit): Promise<void> {
    try {
      this.commitTx(c, Date.now());
    } catch (err) {
      throw new BlickError('STORE_FAILED', `SQLite commit failed: ${(err as Error).message}`, { cause: err });
    }
    for (const k of c.checks) this.dirty.set(key(k.host, k.service), k);
    if (this.dirty.size > 50_000) { try { this.flushChecks(); } catch (err) { this.opts.onFlushError?.(err); } }
  }

  async hasBatch(id: string): Promise<boolean> { return this.stmts.hasBatch.get(id) !== undefined; }

  async loadProducers(): Promise<ProducerMark[]> {
    return (this.stmts.allProducers.all() as { id: string; floor: number; ranges: string; seen: number }[])
      .map((r) => ({ id: r.id, floor: r.floor, ranges: JSON.parse(r.ranges), seen: r.seen }));
  }

  async recentEventIds(limit: number): Promise<string[]> { return this.stmts.recentIds.all(limit) as string[]; }

  // Pages by key (no statement stays open across an await: commits may run in between).
  async *loadChecks(): AsyncIterable<StoredCheck> {
    let after: [string, string] = ['', ''];
    for (;;) {
      const rows = this.stmts.checksPage.all(after[0], after[1], LOAD_PAGE_ROWS) as any[];
      for (const r of rows) {
        yield {
          host: r.host, service: r.service, state: r.state, metric: r.metric, description: r.description, time: r.time,
          last_change: r.last_change, source: r.source, ttl: r.ttl, tags: JSON.parse(r.tags ?? EMPTY_JSON_ARRAY),
          attributes: JSON.parse(r.attributes ?? EMPTY_JSON_OBJECT), event_id: r.event_id,
        };
      }
      if (rows.length < LOAD_PAGE_ROWS) return;
      const last = rows[rows.length - 1];
      after = [last.host, last.service];
    }
  }

  async *replayEvents(chunk: { events: number; bytes: number }): AsyncIterable<BlickEvent[]> {
    let after = Number((this.stmts.getMeta.get('checks_seq') as string | undefined) ?? 0);
    for (;;) {
      const events: BlickEvent[] = [];
      let bytes = 0;
      let more = false;
      for (const r of this.stmts.eventsAfter.iterate(after, chunk.events) as IterableIterator<EventRow>) {
        events.push(rowToEvent(r));
        after = r.seq;
        bytes += r.description.length + (r.attributes?.length ?? 0) + (r.tags?.length ?? 0);
        if (events.length === chunk.events || bytes >= chunk.bytes) { more = true; break; }
      }
      if (events.length > 0) yield events;
      if (!more) return;
    }
  }

  async queryEvents(q: EventQuery): Promise<EventPage> {
    let cursor = Number.MAX_SAFE_INTEGER;
    if (q.cursor !== undefined) {
      cursor = Number(q.cursor);
      if (!Number.isSafeInteger(cursor) || cursor < 0) throw new BlickError('BAD_REQUEST', `cursor ${JSON.stringify(q.cursor)} is not valid; use the Link header of the previous page`);
    }
    const keep = (r: EventRow) => (q.state === undefined || r.state === q.state) && (q.since === undefined || r.time >= q.since);
    // `since` is about event time; history is in arrival order. Events received more
    // than SINCE_SLACK before `since` cannot match (unless a producer's clock runs that
    // far ahead), so walks stop there instead of reading all history.
    let floor = 0;
    if (q.since !== undefined) {
      const f = this.stmts.firstMarkFrom.get(Math.floor((q.since - SINCE_SLACK_MS) / 60_000)) as number | null;
      if (f === null || f === undefined) return { events: [], examined: 0 };
      floor = f;
    }
    // Rows are decided newest first (by seq) whichever plan reads them, so when the
    // budget runs out every row at or above `decidedTo` is decided and the next page
    // continues below it: the cursor stays a seq, as it always was.
    const budget = new ReadBudget(q.budget, this.clock);
    const json = q.maxBytes === undefined ? undefined : new JsonPage(q.maxBytes);
    const events: BlickEvent[] = [];
    let lastTaken = 0;
    let decidedTo = cursor;
    let full: 'limit' | 'bytes' | undefined;
    let end = false;
    /** Decide one row; false once a match does not fit the page. */
    const take = (r: EventRow): boolean => {
      decidedTo = r.seq;
      if (!keep(r)) return true;
      if (events.length === q.limit) { full = 'limit'; return false; }
      const ser = this.bySid.get(r.sid)!;
      const e = rowToEvent({ ...r, host: ser.host, service: ser.service });
      if (json && !json.add(e)) { full = 'bytes'; return false; }
      events.push(e);
      lastTaken = r.seq;
      return true;
    };
    /** Walk the history along the primary key: every row read moves the cursor, so a page always progresses. */
    const scan = (wanted?: (sid: number) => boolean) => {
      for (const r of this.stmts.scanEvents.iterate(cursor) as IterableIterator<EventRow>) {
        if (r.seq < floor) { end = true; return; }
        if (wanted === undefined || wanted(r.sid)) { if (!take(r)) return; } else decidedTo = r.seq;
        if (!budget.spend()) return;
      }
      end = true;
    };
    if (q.host === undefined && q.service === undefined) scan();
    else {
      let series: Series[] | undefined;
      let wanted: ((sid: number) => boolean) | undefined;
      if (isGlob(q.host) || isGlob(q.service)) {
        const hostOk = q.host === undefined ? undefined : glob(q.host);
        const serviceOk = q.service === undefined ? undefined : glob(q.service);
        const match = (ser: Series) => (!hostOk || hostOk(ser.host)) && (!serviceOk || serviceOk(ser.service));
        series = [];
        for (const ser of this.bySid.values()) {
          if (match(ser)) series.push(ser);
          // many series, or too many to compare within the budget: decide each row's series as the walk meets it
          if (series.length > MERGE_SERIES_MAX || (!budget.spend(0) || budget.halfSpent())) {
            const memo = new Map<number, boolean>();
            wanted = (sid) => {
              let ok = memo.get(sid);
              if (ok === undefined) { const ser = this.bySid.get(sid); ok = ser !== undefined && match(ser); memo.set(sid, ok); }
              return ok;
            };
            series = undefined;
            break;
          }
        }
      } else if (q.host !== undefined && q.service !== undefined) { const one = this.sids.get(key(q.host, q.service)); series = one ? [one] : []; }
      else if (q.host !== undefined) series = this.hostSeries.get(q.host) ?? [];
      else series = this.serviceSeries.get(q.service!) ?? [];
      // a wide filter (walking the history once beats merging thousands of chains), or a
      // merge whose skip to the cursor along the chains took half the budget: walk instead
      if (series && (series.length > MERGE_SERIES_MAX || !this.mergeSeries(series, cursor, floor, budget, take))) {
        const sids = new Set(series.map((ser) => ser.sid));
        wanted = (sid) => sids.has(sid);
        series = undefined;
      }
      if (series) end = budget.exhausted === undefined && full === undefined;
      else scan(wanted);
    }
    const page: EventPage = { events, examined: budget.spent };
    if (json) page.json = json.text();
    if (full !== undefined) {
      page.next = String(lastTaken);
      if (full === 'bytes') page.stopped = 'bytes';
    } else if (!end && budget.exhausted !== undefined) {
      page.next = String(decidedTo);
      page.stopped = budget.exhausted;
    }
    return page;
  }

  /**
   * Merge the series' chains newest first (a max-heap on seq), handing each row
   * to `take`. Returns false, having taken nothing, when reaching the cursor
   * along the chains costs half the budget (the caller walks the history instead).
   */
  private mergeSeries(series: Series[], cursor: number, floor: number, budget: ReadBudget, take: (r: EventRow) => boolean): boolean {
    const heap: EventRow[] = [];
    const push = (r: EventRow) => {
      heap.push(r);
      for (let i = heap.length - 1; i > 0;) { const p = (i - 1) >> 1; if (heap[p]!.seq >= heap[i]!.seq) break; [heap[p], heap[i]] = [heap[i]!, heap[p]!]; i = p; }
    };
    const pop = (): EventRow => {
      const top = heap[0]!; const last = heap.pop()!;
      if (heap.length > 0) {
        heap[0] = last;
        for (let i = 0; ;) {
          const l = 2 * i + 1, r = l + 1; let m = i;
          if (l < heap.length && heap[l]!.seq > heap[m]!.seq) m = l;
          if (r < heap.length && heap[r]!.seq > heap[m]!.seq) m = r;
          if (m === i) break;
          [heap[m], heap[i]] = [heap[i]!, heap[m]!]; i = m;
        }
      }
      return top;
    };
    const get = (seq: number | null) => {
      if (seq === null) return undefined;
      budget.spend();
      return this.stmts.eventBySeq.get(seq) as EventRow | undefined;
    };
    for (const ser of series) {
      let r = get(ser.last);
      while (r && r.seq >= cursor) { // paging: skip what earlier pages returned
        if (budget.halfSpent()) return false;
        r = get(r.prev);
      }
      if (budget.halfSpent()) return false;
      if (r) push(r);
    }
    while (heap.length > 0) {
      const r = pop();
      if (r.seq < floor) continue; // this series has nothing newer than `since` left
      if (!take(r)) return true;
      const prev = get(r.prev);
      if (prev) push(prev);
      if (budget.exhausted) return true;
    }
    return true;
  }

  private hostRow(r: any): HostRecord {
    return { host: r.host, facts: JSON.parse(r.facts), facts_time: r.facts_time, classification: r.classification ? JSON.parse(r.classification) : null };
  }

  async querySeries(q: SeriesQuery): Promise<SeriesResult> {
    const ser = this.sids.get(key(q.host, q.service));
    if (!ser || q.to <= q.from) return { buckets: [], examined: 0 };
    // as for `since`: rows received well before `from` cannot fall in the range
    const floor = this.stmts.firstMarkFrom.get(Math.floor((q.from - SINCE_SLACK_MS) / 60_000)) as number | null;
    if (floor === null || floor === undefined) return { buckets: [], examined: 0 };
    const budget = new ReadBudget(q.budget, this.clock);
    const buckets = new Map<number, SeriesBucket & { lastTime: number; sum: number }>();
    let seq = ser.last;
    while (seq !== null && seq >= floor) {
      if (!budget.spend()) break;
      const r = this.stmts.eventBySeq.get(seq) as EventRow | undefined;
      if (!r) break;
      seq = r.prev;
      if (r.metric === null || r.time < q.from || r.time >= q.to) continue;
      const i = Math.floor((r.time - q.from) / q.step);
      const b = buckets.get(i);
      // newest arrival first: a later row only replaces `last` with a strictly later time
      if (!b) buckets.set(i, { time: q.from + i * q.step, count: 1, min: r.metric, max: r.metric, avg: 0, last: r.metric, lastTime: r.time, sum: r.metric });
      else {
        b.count++; b.sum += r.metric;
        if (r.metric < b.min) b.min = r.metric;
        if (r.metric > b.max) b.max = r.metric;
        if (r.time > b.lastTime) { b.last = r.metric; b.lastTime = r.time; }
      }
    }
    const out = [...buckets.values()].sort((a, b) => a.time - b.time)
      .map(({ time, count, min, max, sum, last }) => ({ time, count, min, max, avg: sum / count, last }));
    return { buckets: out, examined: budget.spent, ...(budget.exhausted ? { stopped: budget.exhausted } : {}) };
  }

  async listHosts(): Promise<HostRecord[]> { return (this.stmts.allHosts.all() as any[]).map((r) => this.hostRow(r)); }

  async getHost(host: string): Promise<HostRecord | undefined> {
    const r = this.stmts.oneHost.get(host);
    return r ? this.hostRow(r) : undefined;
  }

  // The checks are saved first, so checks_seq passes the deleted checks' events
  // and a restart does not replay them back; their history stays until pruned.
  async deleteChecks(host: string, service?: string): Promise<number> {
    for (const [k, c] of this.dirty) if (c.host === host && (service === undefined || c.service === service)) this.dirty.delete(k);
    let deleted = 0;
    this.db.transaction(() => {
      this.flushChecks();
      deleted = (service === undefined ? this.stmts.deleteHostChecks.run(host) : this.stmts.deleteCheck.run(host, service)).changes;
    })();
    return deleted;
  }

  async deleteHost(host: string): Promise<boolean> {
    const n = await this.deleteChecks(host);
    return this.stmts.deleteHostRecord.run(host).changes > 0 || n > 0;
  }

  async saveClassification(host: string, source: ClassificationSource, state: DesiredState | null, time: number): Promise<void> {
    try {
      if (state === null) this.stmts.deleteClassification.run(host, source);
      else this.stmts.upsertClassification.run(host, source, JSON.stringify(state), time, time);
    } catch (err) {
      throw new BlickError('STORE_FAILED', `SQLite: cannot save the classification of ${host} from ${source}: ${(err as Error).message}`, { cause: err });
    }
  }

  async loadClassifications(): Promise<StoredClassification[]> {
    return (this.stmts.allClassifications.all() as { host: string; source: ClassificationSource; state: string; known_since: number; updated: number }[])
      .map((r) => ({ host: r.host, source: r.source, state: JSON.parse(r.state) as DesiredState, known_since: r.known_since, updated: r.updated }));
  }

  async prune(before: number): Promise<number> {
    const minute = Math.floor(before / 60_000);
    // the first event received in or after the cutoff minute; everything before it goes
    const seq = this.stmts.firstMarkFrom.get(minute) as number | null;
    let deleted = 0;
    this.db.transaction(() => {
      deleted = (seq !== null && seq !== undefined ? this.stmts.deleteEventsBefore.run(seq) : this.stmts.deleteAllEvents.run()).changes;
      this.stmts.deleteMarksBefore.run(minute);
      this.stmts.deleteBatchesBefore.run(before);
    })();
    return deleted;
  }
}
