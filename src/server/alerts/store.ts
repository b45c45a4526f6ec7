import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Alert, AlertStatus, OutboxItem, Silence } from './types.js';

/** What was last notified for an alert in a notification group (restarts do not re-send). */
export interface NotificationLogEntry {
  group: string;
  alertId: string;
  status: 'firing' | 'resolved';
  sentAt: number;
}

/** One change of an alert, for its history. */
export interface AlertTransition { alertId: string; time: number; from: AlertStatus | null; to: AlertStatus | 'cancelled' }

/**
 * The alerting storage extension point: alerts with their history, silences,
 * the notification outbox and log. SQLite below; a PostgreSQL one can follow,
 * hence async methods.
 */
export interface AlertStore {
  readonly kind: string;
  open(): Promise<void>;
  close(): Promise<void>;
  /** alerts that are pending or firing */
  activeAlerts(): Promise<Alert[]>;
  listAlerts(q: { status?: AlertStatus | undefined; limit: number }): Promise<Alert[]>;
  /** upsert alerts and append their transitions; a cancelled pending alert is deleted */
  saveAlerts(alerts: Alert[], transitions: AlertTransition[], deleted: string[]): Promise<void>;
  history(alertId: string): Promise<AlertTransition[]>;
  silences(): Promise<Silence[]>;
  saveSilence(s: Silence): Promise<void>;
  /** new outbox items and their log entries, in one transaction */
  enqueue(items: OutboxItem[], log: NotificationLogEntry[]): Promise<void>;
  outbox(): Promise<OutboxItem[]>;
  retryLater(id: string, attempts: number, nextAttemptAt: number, error: string): Promise<void>;
  delivered(id: string): Promise<void>;
  notificationLog(): Promise<NotificationLogEntry[]>;
  forgetLog(group: string, alertId: string): Promise<void>;
  /** delete resolved alerts (and their history) older than `before` */
  prune(before: number): Promise<number>;
}

/** The SQLite alert store: its own file (`<data_dir>/alerts.db`, WAL). */
export class SqliteAlertStore implements AlertStore {
  readonly kind = 'sqlite';
  private db?: Database.Database;
  private st!: Record<string, Database.Statement>;

  constructor(private readonly path: string) {}

  async open(): Promise<void> {
    mkdirSync(dirname(this.path), { recursive: true });
    const db = new Database(this.path);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec(`
      CREATE TABLE IF NOT EXISTS alerts (
        id TEXT PRIMARY KEY, key TEXT NOT NULL, rule TEXT NOT NULL, host TEXT NOT NULL, service TEXT NOT NULL,
        severity TEXT NOT NULL, status TEXT NOT NULL, starts_at INTEGER NOT NULL, fired_at INTEGER, ends_at INTEGER,
        updated_at INTEGER NOT NULL, state TEXT, metric REAL, description TEXT NOT NULL, tags TEXT NOT NULL, event TEXT NOT NULL);
      CREATE INDEX IF NOT EXISTS alerts_status ON alerts (status, updated_at);
      CREATE TABLE IF NOT EXISTS alert_history (seq INTEGER PRIMARY KEY, alert_id TEXT NOT NULL, time INTEGER NOT NULL, from_status TEXT, to_status TEXT NOT NULL);
      CREATE INDEX IF NOT EXISTS alert_history_alert ON alert_history (alert_id);
      CREATE TABLE IF NOT EXISTS silences (id TEXT PRIMARY KEY, matchers TEXT NOT NULL, starts_at INTEGER NOT NULL, ends_at INTEGER NOT NULL,
        author TEXT NOT NULL, reason TEXT NOT NULL, created_at INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS outbox (id TEXT PRIMARY KEY, notifier TEXT NOT NULL, alert_id TEXT NOT NULL, payload TEXT NOT NULL,
        created_at INTEGER NOT NULL, attempts INTEGER NOT NULL, next_attempt_at INTEGER NOT NULL, last_error TEXT);
      CREATE TABLE IF NOT EXISTS notification_log (grp TEXT NOT NULL, alert_id TEXT NOT NULL, status TEXT NOT NULL, sent_at INTEGER NOT NULL,
        PRIMARY KEY (grp, alert_id));
    `);
    // added with acknowledgements; older files get the column
    if (!(db.prepare('PRAGMA table_info(alerts)').all() as { name: string }[]).some((c) => c.name === 'ack')) db.exec('ALTER TABLE alerts ADD COLUMN ack TEXT');
    this.db = db;
    this.st = {
      upsert: db.prepare(`INSERT INTO alerts (id, key, rule, host, service, severity, status, starts_at, fired_at, ends_at, updated_at, state, metric, description, tags, event, ack)
        VALUES (@id, @key, @rule, @host, @service, @severity, @status, @startsAt, @firedAt, @endsAt, @updatedAt, @state, @metric, @description, @tags, @event, @ack)
        ON CONFLICT (id) DO UPDATE SET severity = excluded.severity, status = excluded.status, fired_at = excluded.fired_at, ends_at = excluded.ends_at,
          updated_at = excluded.updated_at, state = excluded.state, metric = excluded.metric, description = excluded.description, tags = excluded.tags, event = excluded.event, ack = excluded.ack`),
      transition: db.prepare('INSERT INTO alert_history (alert_id, time, from_status, to_status) VALUES (?, ?, ?, ?)'),
      del: db.prepare('DELETE FROM alerts WHERE id = ?'),
      active: db.prepare(`SELECT * FROM alerts WHERE status IN ('pending', 'firing')`),
      listAll: db.prepare('SELECT * FROM alerts ORDER BY updated_at DESC LIMIT ?'),
      listStatus: db.prepare('SELECT * FROM alerts WHERE status = ? ORDER BY updated_at DESC LIMIT ?'),
      history: db.prepare('SELECT * FROM alert_history WHERE alert_id = ? ORDER BY seq'),
      silences: db.prepare('SELECT * FROM silences ORDER BY created_at'),
      saveSilence: db.prepare(`INSERT INTO silences (id, matchers, starts_at, ends_at, author, reason, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (id) DO UPDATE SET matchers = excluded.matchers, starts_at = excluded.starts_at, ends_at = excluded.ends_at, author = excluded.author, reason = excluded.reason`),
      enqueue: db.prepare('INSERT INTO outbox (id, notifier, alert_id, payload, created_at, attempts, next_attempt_at, last_error) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
      log: db.prepare('INSERT INTO notification_log (grp, alert_id, status, sent_at) VALUES (?, ?, ?, ?) ON CONFLICT (grp, alert_id) DO UPDATE SET status = excluded.status, sent_at = excluded.sent_at'),
      outbox: db.prepare('SELECT * FROM outbox ORDER BY created_at'),
      retry: db.prepare('UPDATE outbox SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE id = ?'),
      delivered: db.prepare('DELETE FROM outbox WHERE id = ?'),
      logAll: db.prepare('SELECT * FROM notification_log'),
      forget: db.prepare('DELETE FROM notification_log WHERE grp = ? AND alert_id = ?'),
      pruneHistory: db.prepare(`DELETE FROM alert_history WHERE alert_id IN (SELECT id FROM alerts WHERE status = 'resolved' AND ends_at < ?)`),
      prune: db.prepare(`DELETE FROM alerts WHERE status = 'resolved' AND ends_at < ?`),
    };
  }

  async close(): Promise<void> {
    this.db?.close();
    this.db = undefined;
  }

  private get d(): Database.Database {
    if (!this.db) throw new Error('alert store is not open');
    return this.db;
  }

  async activeAlerts(): Promise<Alert[]> { return (this.st.active!.all() as Row[]).map(fromRow); }

  async listAlerts(q: { status?: AlertStatus | undefined; limit: number }): Promise<Alert[]> {
    const rows = q.status ? this.st.listStatus!.all(q.status, q.limit) : this.st.listAll!.all(q.limit);
    return (rows as Row[]).map(fromRow);
  }

  async saveAlerts(alerts: Alert[], transitions: AlertTransition[], deleted: string[]): Promise<void> {
    this.d.transaction(() => {
      for (const a of alerts) this.st.upsert!.run({ ...a, tags: JSON.stringify(a.tags), event: JSON.stringify(a.event), ack: a.acknowledged ? JSON.stringify(a.acknowledged) : null });
      for (const t of transitions) this.st.transition!.run(t.alertId, t.time, t.from, t.to);
      for (const id of deleted) this.st.del!.run(id);
    })();
  }

  async history(alertId: string): Promise<AlertTransition[]> {
    return (this.st.history!.all(alertId) as { alert_id: string; time: number; from_status: AlertStatus | null; to_status: AlertStatus }[])
      .map((r) => ({ alertId: r.alert_id, time: r.time, from: r.from_status, to: r.to_status }));
  }

  async silences(): Promise<Silence[]> {
    return (this.st.silences!.all() as { id: string; matchers: string; starts_at: number; ends_at: number; author: string; reason: string; created_at: number }[])
      .map((r) => ({ id: r.id, matchers: JSON.parse(r.matchers), startsAt: r.starts_at, endsAt: r.ends_at, author: r.author, reason: r.reason, createdAt: r.created_at }));
  }

  async saveSilence(s: Silence): Promise<void> {
    this.st.saveSilence!.run(s.id, JSON.stringify(s.matchers), s.startsAt, s.endsAt, s.author, s.reason, s.createdAt);
  }

  async enqueue(items: OutboxItem[], log: NotificationLogEntry[]): Promise<void> {
    this.d.transaction(() => {
      for (const i of items) this.st.enqueue!.run(i.id, i.notifier, i.alertId, JSON.stringify(i.payload), i.createdAt, i.attempts, i.nextAttemptAt, i.lastError);
      for (const l of log) this.st.log!.run(l.group, l.alertId, l.status, l.sentAt);
    })();
  }

  async outbox(): Promise<OutboxItem[]> {
    return (this.st.outbox!.all() as { id: string; notifier: string; alert_id: string; payload: string; created_at: number; attempts: number; next_attempt_at: number; last_error: string | null }[])
      .map((r) => ({ id: r.id, notifier: r.notifier, alertId: r.alert_id, payload: JSON.parse(r.payload), createdAt: r.created_at, attempts: r.attempts, nextAttemptAt: r.next_attempt_at, lastError: r.last_error }));
  }

  async retryLater(id: string, attempts: number, nextAttemptAt: number, error: string): Promise<void> { this.st.retry!.run(attempts, nextAttemptAt, error.slice(0, 1000), id); }
  async delivered(id: string): Promise<void> { this.st.delivered!.run(id); }

  async notificationLog(): Promise<NotificationLogEntry[]> {
    return (this.st.logAll!.all() as { grp: string; alert_id: string; status: 'firing' | 'resolved'; sent_at: number }[])
      .map((r) => ({ group: r.grp, alertId: r.alert_id, status: r.status, sentAt: r.sent_at }));
  }

  async forgetLog(group: string, alertId: string): Promise<void> { this.st.forget!.run(group, alertId); }

  async prune(before: number): Promise<number> {
    return this.d.transaction(() => { this.st.pruneHistory!.run(before); return this.st.prune!.run(before).changes; })();
  }
}

interface Row {
  id: string; key: string; rule: string; host: string; service: string; severity: string; status: AlertStatus;
  starts_at: number; fired_at: number | null; ends_at: number | null; updated_at: number; state: string | null; metric: number | null;
  description: string; tags: string; event: string; ack: string | null;
}

function fromRow(r: Row): Alert {
  return {
    id: r.id, key: r.key, rule: r.rule, host: r.host, service: r.service, severity: r.severity, status: r.status,
    startsAt: r.starts_at, firedAt: r.fired_at, endsAt: r.ends_at, updatedAt: r.updated_at, state: r.state, metric: r.metric,
    description: r.description, tags: JSON.parse(r.tags), event: JSON.parse(r.event), acknowledged: r.ack ? JSON.parse(r.ack) : null,
  };
}
