import type { Logger } from '../../core/log.js';
import { ulid } from '../../core/ids.js';
import type { RuleEngine, Signal } from '../rules/index.js';
import type { Clock } from './clock.js';
import type { AlertStore, AlertTransition } from './store.js';
import { BlickError } from '../../core/errors.js';
import { alertKey, type Acknowledgement, type Alert, type AlertStatus } from './types.js';

/** A change the router must hear about. */
export interface AlertChange {
  alert: Alert;
  from: AlertStatus | null;
  /** firing (new or renotify) or resolved */
  to: 'firing' | 'resolved';
  renotify: boolean;
}

export interface AlertBookOptions {
  rules: RuleEngine;
  store: AlertStore;
  clock: Clock;
  log: Logger;
  /** called with the changes of one batch, after they are persisted in memory order */
  onChange(changes: AlertChange[]): void;
}

/**
 * The alert lifecycle, keyed by rule + host + service:
 * (none) → pending → firing → resolved; a pending alert whose condition stops
 * holding before `for` is dropped. `for` runs on a timer per pending alert,
 * so an alert fires even if no further event arrives. Memory is authoritative;
 * every status change is written to the store (in order) before it is routed.
 */
export class AlertBook {
  private readonly active = new Map<string, Alert>();
  private readonly timers = new Map<string, unknown>();
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly o: AlertBookOptions) {}

  /** Load pending and firing alerts from the store; re-arm `for` timers. */
  async load(): Promise<void> {
    const now = this.o.clock.now();
    const gone: Alert[] = [];
    for (const a of await this.o.store.activeAlerts()) {
      const rule = this.o.rules.get(a.rule);
      if (!rule) { gone.push(a); continue; }
      this.active.set(a.key, a);
      if (a.status === 'pending') this.arm(a, Math.max(0, a.startsAt + rule.forMs - now));
    }
    // a rule removed from the configuration ends its alerts
    if (gone.length > 0) {
      const transitions: AlertTransition[] = [];
      for (const a of gone) { transitions.push({ alertId: a.id, time: now, from: a.status, to: a.status === 'pending' ? 'cancelled' : 'resolved' }); a.status = 'resolved'; a.endsAt = now; a.updatedAt = now; }
      await this.o.store.saveAlerts(gone.filter((a) => a.firedAt !== null), transitions, gone.filter((a) => a.firedAt === null).map((a) => a.id));
    }
  }

  /** Current pending and firing alerts. */
  list(): Alert[] { return [...this.active.values()]; }
  get(rule: string, host: string, service: string): Alert | undefined { return this.active.get(alertKey(rule, host, service)); }

  /** Apply the signals of one ingest; synchronous, never throws. */
  apply(signals: readonly Signal[]): void {
    if (signals.length === 0) return;
    const now = this.o.clock.now();
    const saved: Alert[] = [], transitions: AlertTransition[] = [], deleted: string[] = [], changes: AlertChange[] = [];
    for (const s of signals) {
      const key = alertKey(s.rule.name, s.host, s.service);
      let a = this.active.get(key);
      if (s.active) {
        if (!a) {
          const fires = s.rule.forMs === 0;
          a = {
            id: ulid(), key, rule: s.rule.name, host: s.host, service: s.service, severity: s.severity,
            status: fires ? 'firing' : 'pending', startsAt: now, firedAt: fires ? now : null, endsAt: null, updatedAt: now,
            state: null, metric: null, description: '', tags: [], event: s.event,
          };
          this.refresh(a, s);
          this.active.set(key, a);
          saved.push(a);
          transitions.push({ alertId: a.id, time: now, from: null, to: a.status });
          if (fires) changes.push({ alert: a, from: null, to: 'firing', renotify: false });
          else this.arm(a, s.rule.forMs);
        } else {
          const said = a.description, was = a.state;
          this.refresh(a, s);
          // an acknowledgement holds until the alert changes
          if (a.acknowledged && (a.state !== was || s.severity !== a.severity)) {
            a.acknowledged = null;
            saved.push(a);
            changes.push({ alert: a, from: a.status, to: 'firing', renotify: false });
          }
          const renotify = s.renotify || (s.rule.config.renotify_on === 'description' && a.description !== said);
          if (a.status === 'pending' && now - a.startsAt >= s.rule.forMs) {
            this.fire(a, now, saved, transitions, changes);
          } else if (a.status === 'firing' && renotify) {
            a.severity = s.severity;
            saved.push(a);
            changes.push({ alert: a, from: 'firing', to: 'firing', renotify: true });
          }
        }
      } else if (a) {
        a.event = s.event;
        a.state = s.group?.state ?? s.event.state ?? null; a.metric = s.group ? s.group.metric : s.event.metric ?? null;
        if (s.group) a.description = s.group.description;
        this.end(a, now, saved, transitions, deleted, changes);
      }
    }
    this.commit(saved, transitions, deleted, changes);
  }

  /** Acknowledge a firing alert: its repeats stop until it changes (state or severity) or resolves, or `expiresAt`. */
  acknowledge(id: string, ack: Acknowledgement): Alert {
    const a = [...this.active.values()].find((x) => x.id === id);
    if (!a) throw new BlickError('NOT_FOUND', `no pending or firing alert with id ${JSON.stringify(id)} (a resolved alert needs no acknowledgement)`);
    if (a.status !== 'firing') throw new BlickError('BAD_REQUEST', `alert ${id} is pending, not firing; only a firing alert can be acknowledged`);
    a.acknowledged = ack;
    a.updatedAt = this.o.clock.now();
    this.commit([a], [], [], [{ alert: a, from: 'firing', to: 'firing', renotify: false }]);
    return a;
  }

  /** Resolve (or cancel, while pending) the alerts of a removed host (service undefined) or check; only `rule`'s when given. */
  endFor(host: string, service: string | undefined, rule?: string): number {
    const now = this.o.clock.now();
    const saved: Alert[] = [], transitions: AlertTransition[] = [], deleted: string[] = [], changes: AlertChange[] = [];
    for (const a of [...this.active.values()]) {
      if (a.host === host && (service === undefined || a.service === service) && (rule === undefined || a.rule === rule)) this.end(a, now, saved, transitions, deleted, changes);
    }
    this.commit(saved, transitions, deleted, changes);
    return transitions.length;
  }

  private end(a: Alert, now: number, saved: Alert[], transitions: AlertTransition[], deleted: string[], changes: AlertChange[]): void {
    this.active.delete(a.key);
    this.disarm(a.key);
    if (a.status === 'pending') {
      deleted.push(a.id);
      transitions.push({ alertId: a.id, time: now, from: 'pending', to: 'cancelled' });
    } else {
      a.status = 'resolved'; a.endsAt = now; a.updatedAt = now;
      saved.push(a);
      transitions.push({ alertId: a.id, time: now, from: 'firing', to: 'resolved' });
      changes.push({ alert: a, from: 'firing', to: 'resolved', renotify: false });
    }
  }

  private refresh(a: Alert, s: Signal): void {
    const e = s.event;
    a.event = e;
    a.state = e.state ?? null;
    a.metric = e.metric ?? null;
    a.tags = e.tags;
    a.updatedAt = this.o.clock.now();
    if (s.group) {
      a.state = s.group.state; a.metric = s.group.metric; a.description = s.group.description;
    } else if (s.rule.kind === 'flapping') {
      const pct = s.rule.flapPercent(s.host, s.service) ?? 0;
      a.description = `${s.host} ${s.service} is flapping: ${pct.toFixed(1)}% state change over the last 21 states`;
    } else a.description = s.rule.describe(e);
  }

  private fire(a: Alert, now: number, saved: Alert[], transitions: AlertTransition[], changes: AlertChange[]): void {
    this.disarm(a.key);
    a.status = 'firing'; a.firedAt = now; a.updatedAt = now;
    saved.push(a);
    transitions.push({ alertId: a.id, time: now, from: 'pending', to: 'firing' });
    changes.push({ alert: a, from: 'pending', to: 'firing', renotify: false });
  }

  private arm(a: Alert, ms: number): void {
    this.disarm(a.key);
    this.timers.set(a.key, this.o.clock.setTimeout(() => {
      this.timers.delete(a.key);
      const cur = this.active.get(a.key);
      if (cur !== a || a.status !== 'pending') return;
      const saved: Alert[] = [], transitions: AlertTransition[] = [], changes: AlertChange[] = [];
      this.fire(a, this.o.clock.now(), saved, transitions, changes);
      this.commit(saved, transitions, [], changes);
    }, ms));
  }

  private disarm(key: string): void {
    const t = this.timers.get(key);
    if (t !== undefined) { this.o.clock.clearTimeout(t); this.timers.delete(key); }
  }

  private commit(saved: Alert[], transitions: AlertTransition[], deleted: string[], changes: AlertChange[]): void {
    if (saved.length === 0 && transitions.length === 0 && deleted.length === 0) return;
    // snapshot now: later events mutate the in-memory alerts
    const rows = [...new Set(saved)].map((a) => ({ ...a }));
    this.chain = this.chain
      .then(() => this.o.store.saveAlerts(rows, transitions, deleted))
      .catch((err) => this.o.log.error({ err }, 'saving alerts failed'));
    if (changes.length > 0) {
      try { this.o.onChange(changes); } catch (err) { this.o.log.error({ err }, 'routing alert changes failed'); }
    }
  }

  /** Wait for pending writes; stop timers. */
  async stop(): Promise<void> {
    for (const k of [...this.timers.keys()]) this.disarm(k);
    await this.chain;
  }
}
