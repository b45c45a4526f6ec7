import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { BlickError } from '../../../core/errors.js';
import type { BlickEvent, Source, State } from '../../../core/event.js';
import type { CheckState, Commit, EventPage, EventQuery, HostRecord, Store } from '../store.js';

export interface SqliteStoreOptions {
  /** database file, or ':memory:' */
  path: string;
  /** PRAGMA synchronous: 'normal' (default; WAL, survives process crashes) or 'full' (survives power loss) */
  synchronous?: 'normal' | 'full';
}

const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL,
  host TEXT NOT NULL,
  service TEXT NOT NULL,
  state TEXT,
  metric REAL,
  description TEXT NOT NULL,
  tags TEXT,
  attributes TEXT,
  time INTEGER NOT NULL,
  ttl REAL,
  source TEXT NOT NULL,
  received INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS events_host_service ON events (host, service, seq);
CREATE TABLE IF NOT EXISTS event_marks (minute INTEGER PRIMARY KEY, seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS batches (id TEXT PRIMARY KEY, received INTEGER NOT NULL) WITHOUT ROWID;
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
`;

const EMPTY_JSON_ARRAY = '[]';
const EMPTY_JSON_OBJECT = '{}';

function tagsJson(tags: string[]): string | null { return tags.length === 0 ? null : JSON.stringify(tags); }
function attrsJson(a: Record<string, string>): string | null {
  for (const _ in a) return JSON.stringify(a);
  return null;
}

interface EventRow { seq: number; id: string; host: string; service: string; state: string | null; metric: number | null; description: string; tags: string | null; attributes: string | null; time: number; ttl: number | null; source: string }

function rowToEvent(r: EventRow): BlickEvent {
  const e: BlickEvent = {
    id: r.id, host: r.host, service: r.service, description: r.description,
    tags: JSON.parse(r.tags ?? EMPTY_JSON_ARRAY), attributes: JSON.parse(r.attributes ?? EMPTY_JSON_OBJECT),
    time: r.time, source: r.source as Source,
  };
  if (r.state !== null) e.state = r.state as State;
  if (r.metric !== null) e.metric = r.metric;
  if (r.ttl !== null) e.ttl = r.ttl;
  return e;
}

/**
 * The embedded store: one SQLite file in WAL mode, one transaction per ingest
 * commit, prepared statements throughout.
 */
export class SqliteStore implements Store {
  readonly kind = 'sqlite';
  private db!: Database.Database;
  private stmts!: ReturnType<SqliteStore['prepare']>;
  private commitTx!: (c: Commit, received: number) => void;
  private lastMarkMinute = -1;

  constructor(private readonly opts: SqliteStoreOptions) {}

  async open(): Promise<void> {
    if (this.opts.path !== ':memory:') mkdirSync(dirname(this.opts.path), { recursive: true });
    try {
      this.db = new Database(this.opts.path);
      this.db.pragma('journal_mode = WAL');
      this.db.pragma(`synchronous = ${this.opts.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
      this.db.pragma('busy_timeout = 5000');
      this.db.pragma('cache_size = -65536');
      this.db.pragma('temp_store = MEMORY');
      this.db.exec(SCHEMA);
    } catch (err) {
      throw new BlickError('STORE_FAILED', `cannot open the SQLite database ${this.opts.path}: ${(err as Error).message}`, { cause: err });
    }
    const v = this.db.prepare('SELECT value FROM meta WHERE key = ?').get('schema_version') as { value: string } | undefined;
    if (!v) this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run('schema_version', String(SCHEMA_VERSION));
    else if (Number(v.value) > SCHEMA_VERSION) {
      throw new BlickError('STORE_FAILED', `${this.opts.path} was written by a newer Blick (schema ${v.value} > ${SCHEMA_VERSION}); upgrade Blick`);
    }
    this.stmts = this.prepare();
    const s = this.stmts;
    this.commitTx = this.db.transaction((c: Commit, received: number) => {
      if (c.batchId) s.insertBatch.run(c.batchId, received);
      let first = true;
      for (const e of c.events) {
        const info = s.insertEvent.run(e.id, e.host, e.service, e.state ?? null, e.metric ?? null, e.description,
          tagsJson(e.tags), attrsJson(e.attributes), e.time, e.ttl ?? null, e.source, received);
        if (first) {
          first = false;
          const minute = Math.floor(received / 60_000);
          if (minute !== this.lastMarkMinute) { s.insertMark.run(minute, info.lastInsertRowid); this.lastMarkMinute = minute; }
        }
      }
      for (const k of c.checks) {
        s.upsertCheck.run(k.host, k.service, k.state, k.metric, k.description, k.time, k.last_change, k.source, k.ttl,
          tagsJson(k.tags), attrsJson(k.attributes), k.event_id);
      }
      for (const f of c.facts) s.upsertFacts.run(f.host, JSON.stringify(f.facts), f.time);
    });
  }

  private prepare() {
    const db = this.db;
    return {
      insertBatch: db.prepare('INSERT OR IGNORE INTO batches (id, received) VALUES (?, ?)'),
      hasBatch: db.prepare('SELECT 1 FROM batches WHERE id = ?').pluck(),
      insertEvent: db.prepare('INSERT INTO events (id, host, service, state, metric, description, tags, attributes, time, ttl, source, received) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)'),
      insertMark: db.prepare('INSERT OR IGNORE INTO event_marks (minute, seq) VALUES (?, ?)'),
      upsertCheck: db.prepare(`INSERT INTO checks (host, service, state, metric, description, time, last_change, source, ttl, tags, attributes, event_id)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (host, service) DO UPDATE SET state = excluded.state, metric = excluded.metric, description = excluded.description,
          time = excluded.time, last_change = excluded.last_change, source = excluded.source, ttl = excluded.ttl,
          tags = excluded.tags, attributes = excluded.attributes, event_id = excluded.event_id`),
      upsertFacts: db.prepare(`INSERT INTO hosts (host, facts, facts_time) VALUES (?, ?, ?)
        ON CONFLICT (host) DO UPDATE SET facts = excluded.facts, facts_time = excluded.facts_time`),
      recentIds: db.prepare('SELECT id FROM events ORDER BY seq DESC LIMIT ?').pluck(),
      allChecks: db.prepare('SELECT * FROM checks'),
      allHosts: db.prepare('SELECT * FROM hosts ORDER BY host'),
      oneHost: db.prepare('SELECT * FROM hosts WHERE host = ?'),
      markBefore: db.prepare('SELECT max(seq) FROM event_marks WHERE minute <= ?').pluck(),
      deleteEventsBefore: db.prepare('DELETE FROM events WHERE seq < ?'),
      deleteMarksBefore: db.prepare('DELETE FROM event_marks WHERE minute < ?'),
      deleteBatchesBefore: db.prepare('DELETE FROM batches WHERE received < ?'),
    };
  }

  async close(): Promise<void> {
    if (this.db?.open) {
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
  }

  async hasBatch(id: string): Promise<boolean> { return this.stmts.hasBatch.get(id) !== undefined; }

  async recentEventIds(limit: number): Promise<string[]> { return this.stmts.recentIds.all(limit) as string[]; }

  async loadChecks(): Promise<CheckState[]> {
    return (this.stmts.allChecks.all() as any[]).map((r) => ({
      host: r.host, service: r.service, state: r.state, metric: r.metric, description: r.description, time: r.time,
      last_change: r.last_change, source: r.source, ttl: r.ttl, tags: JSON.parse(r.tags ?? EMPTY_JSON_ARRAY),
      attributes: JSON.parse(r.attributes ?? EMPTY_JSON_OBJECT), event_id: r.event_id,
    }));
  }

  async queryEvents(q: EventQuery): Promise<EventPage> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.host !== undefined) { where.push('host = ?'); args.push(q.host); }
    if (q.service !== undefined) { where.push('service = ?'); args.push(q.service); }
    if (q.state !== undefined) { where.push('state = ?'); args.push(q.state); }
    if (q.since !== undefined) { where.push('time >= ?'); args.push(q.since); }
    if (q.cursor !== undefined) {
      const c = Number(q.cursor);
      if (!Number.isSafeInteger(c) || c < 0) throw new BlickError('BAD_REQUEST', `cursor ${JSON.stringify(q.cursor)} is not valid; use the Link header of the previous page`);
      where.push('seq < ?'); args.push(c);
    }
    const sql = `SELECT * FROM events ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY seq DESC LIMIT ?`;
    args.push(q.limit + 1);
    const rows = this.db.prepare(sql).all(...args) as EventRow[];
    const page: EventPage = { events: rows.slice(0, q.limit).map(rowToEvent) };
    if (rows.length > q.limit) page.next = String(rows[q.limit - 1]!.seq);
    return page;
  }

  private hostRow(r: any): HostRecord {
    return { host: r.host, facts: JSON.parse(r.facts), facts_time: r.facts_time, classification: r.classification ? JSON.parse(r.classification) : null };
  }

  async listHosts(): Promise<HostRecord[]> { return (this.stmts.allHosts.all() as any[]).map((r) => this.hostRow(r)); }

  async getHost(host: string): Promise<HostRecord | undefined> {
    const r = this.stmts.oneHost.get(host);
    return r ? this.hostRow(r) : undefined;
  }

  async prune(before: number): Promise<number> {
    const minute = Math.floor(before / 60_000);
    const seq = this.stmts.markBefore.get(minute) as number | null;
    let deleted = 0;
    this.db.transaction(() => {
      if (seq !== null && seq !== undefined) deleted = this.stmts.deleteEventsBefore.run(seq).changes;
      this.stmts.deleteMarksBefore.run(minute);
      this.stmts.deleteBatchesBefore.run(before);
    })();
    return deleted;
  }
}
