import { join } from 'node:path';
import { z } from 'zod';
import { part, Supervisor, type Component } from '../../core/component.js';
import type { BlickEvent } from '../../core/event.js';
import { BlickError } from '../../core/errors.js';
import { RateLimitedLog, type Logger } from '../../core/log.js';
import type { Registry } from '../../core/metrics.js';
import type { Ingest, Ingested } from '../ingest.js';
import type { EventPage, EventQuery } from '../store/store.js';
import { createNotifier, type Notifier, type RetryPolicy } from '../notifiers/index.js';
import { RuleEngine, type RuleHooks } from '../rules/index.js';
import { systemClock, type Clock } from './clock.js';
import { alertingConfigKeys } from './config.js';
import { AlertBook, type AlertChange } from './lifecycle.js';
import { Outbox } from './outbox.js';
import { Router } from './router.js';
import { Silences } from './silences.js';
import { SqliteAlertStore, type AlertStore } from './store.js';
import type { Alert, AlertStatus } from './types.js';

export type { Alert, AlertStatus, Silence, NotificationPayload } from './types.js';
export type { AlertChange } from './lifecycle.js';
export { ManualClock, systemClock, type Clock } from './clock.js';

/** The alerting keys of `server:` (schemas live beside their code). */
export { alertingConfigKeys } from './config.js';
const alertingConfigSchema = z.object(alertingConfigKeys);
export type AlertingConfig = z.output<typeof alertingConfigSchema>;

export interface AlertingDeps {
  dataDir: string;
  ingest: Ingest;
  metrics: Registry;
  log: Logger;
  clock?: Clock;
  /** a store instead of `<dataDir>/alerts.db` */
  store?: AlertStore;
  /** notifiers instead of the configured ones (tests) */
  notifiers?: Map<string, { notifier: Notifier; policy: RetryPolicy }>;
  /** how long resolved alerts are kept [7d] */
  retention?: number;
  /** the event history, to rebuild rate windows, flap histories and last states at start */
  history?: (q: EventQuery) => Promise<EventPage>;
  /** bytes of stored events (as JSON) replayed into the rules at start, the newest first [256 MiB] */
  warmMaxBytes?: number;
  /** what code adds to rules of these names (the built-in `classified` rule) */
  ruleHooks?: Readonly<Record<string, RuleHooks>>;
}

/** At most this many stored events are replayed into the rules at start (the newest). */
const WARM_MAX_EVENTS = 200_000;
/** Pages of the replay are read this big, so a history of large events is held a page at a time. */
const WARM_PAGE_BYTES = 4 * 1024 * 1024;

/**
 * Alerting: rules evaluated on every committed event (ingest subscriber),
 * the alert lifecycle, routing with silences and inhibition, and the outbox
 * that delivers to notifiers. A component: started after the store, stopped
 * before it.
 */
export class Alerting implements Component {
  readonly name = 'alerting';
  readonly store: AlertStore;
  readonly rules: RuleEngine;
  readonly book: AlertBook;
  readonly router: Router;
  readonly silences: Silences;
  readonly outbox: Outbox;
  private readonly notifiers: Map<string, { notifier: Notifier; policy: RetryPolicy }>;
  private readonly clock: Clock;
  private unsubscribeIngest: (() => void) | undefined;
  private unsubscribeRemovals: (() => void) | undefined;
  private readonly alertListeners = new Set<(changes: AlertChange[]) => void>();
  private pruneTimer?: NodeJS.Timeout;
  private windowTimer: unknown;
  private windowTimerAt = 0;
  private readonly m;
  /** alert store → alert state (loaded from it) → the ingest subscription that changes it */
  private readonly parts: Supervisor;

  constructor(readonly config: AlertingConfig, private readonly deps: AlertingDeps) {
    const log = deps.log.child({ part: 'alerting' });
    this.clock = deps.clock ?? systemClock;
    this.store = deps.store ?? new SqliteAlertStore(join(deps.dataDir, 'alerts.db'));
    const limited = deps.metrics.counter('blick_rule_aggregate_limited_total', 'aggregate rule members refused or window events dropped at max_members, max_window_events or max_bytes');
    const limitLog = new RateLimitedLog(log, 60_000, this.clock.now);
    this.rules = new RuleEngine(config.rules, (rule, hit) => {
      limited.inc(1, { rule: rule.name, limit: hit });
      limitLog.warn(`aggregate:${rule.name}:${hit}`, { rule: rule.name, limit: hit }, 'an aggregate rule is at its bound (raise max_members, max_window_events or max_bytes, or narrow its match)');
    }, deps.ruleHooks);
    this.notifiers = deps.notifiers ?? new Map(Object.entries(config.notifiers).map(([name, c]) => [name, createNotifier(name, c, { log, metrics: deps.metrics })]));
    config.routes.forEach((r, i) => {
      for (const n of r.notify) if (!this.notifiers.has(n)) throw new BlickError('CONFIG_INVALID', `server.routes[${i}].notify names "${n}", which is not in server.notifiers (${[...this.notifiers.keys()].join(', ') || 'none configured'})`);
    });
    this.outbox = new Outbox({ store: this.store, notifiers: this.notifiers, clock: this.clock, metrics: deps.metrics, log });
    this.silences = new Silences(this.store, this.clock, () => this.router.recheck());
    const muted = deps.metrics.counter('blick_notifications_muted_total', 'Notifications held back (by reason: silence, inhibited, flapping)');
    const flappingRules = new Set(this.rules.rules.filter((r) => r.kind === 'flapping').map((r) => r.name));
    this.router = new Router({
      routes: config.routes, inhibit: config.inhibit, notifiers: [...this.notifiers.keys()], clock: this.clock, log,
      active: () => this.book.list(),
      isFlappingRule: (r) => flappingRules.has(r),
      silenced: (a) => this.silences.muting(a)?.id,
      deliver: (items, entries) => this.outbox.enqueue(items, entries),
      onMuted: (why) => muted.inc(1, { reason: why.split(' ')[0]! }),
    });
    this.book = new AlertBook({ rules: this.rules, store: this.store, clock: this.clock, log, onChange: (c) => { this.router.onChange(c); this.publish(c); } });
    const r = deps.metrics;
    this.m = {
      evalSeconds: r.histogram('blick_rule_evaluation_seconds', 'Rule evaluation time per ingest batch', [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025]),
    };
    r.gauge('blick_alerts_firing', 'Alerts firing now').collectWith(() => this.book.list().filter((a) => a.status === 'firing').length);
    r.gauge('blick_alerts_pending', 'Alerts pending (waiting for `for`)').collectWith(() => this.book.list().filter((a) => a.status === 'pending').length);
    this.parts = new Supervisor('alerting', [
      part('alert-store', () => this.store.open(), () => this.store.close()),
      part('alert-state', () => this.load(), () => this.unload()),
      part('alert-subscription', () => this.subscribe(), () => this.unsubscribe()),
    ], log);
  }

  start(): Promise<void> { return this.parts.start(); }

  stop(): Promise<void> { return this.parts.stop(); }

  private async load(): Promise<void> {
    await this.book.load();
    await this.silences.load();
    const active = this.book.list();
    const log = await this.store.notificationLog();
    // resolved alerts whose firing was notified but whose resolution was not (stopped in between)
    const activeIds = new Set(active.map((a) => a.id));
    const wanted = new Set(log.filter((l) => l.status === 'firing' && !activeIds.has(l.alertId)).map((l) => l.alertId));
    const resolved = wanted.size > 0 ? (await this.store.listAlerts({ status: 'resolved', limit: 10_000 })).filter((a) => wanted.has(a.id)) : [];
    this.router.load(active.filter((a) => a.status === 'firing'), log, resolved);
    await this.outbox.load();
    await this.warmRules();
  }

  private async unload(): Promise<void> {
    this.silences.stop();
    this.router.stop();
    await this.book.stop();
    await this.outbox.stop();
    for (const { notifier } of this.notifiers.values()) await notifier.close?.().catch(() => undefined);
  }

  private subscribe(): void {
    this.unsubscribeIngest = this.deps.ingest.subscribe((i) => this.onIngest(i));
    // a deleted host or check has nothing left to alert on
    this.unsubscribeRemovals = this.deps.ingest.onRemoved((r) => { this.book.endFor(r.host, r.service); });
    this.armWindowExpiry(); // windows refilled at start age too
    const retention = this.deps.retention ?? 7 * 86_400_000;
    this.pruneTimer = setInterval(() => { this.store.prune(this.clock.now() - retention).catch(() => undefined); }, 3_600_000);
    this.pruneTimer.unref();
  }

  private unsubscribe(): void {
    this.unsubscribeIngest?.();
    this.unsubscribeIngest = undefined;
    this.unsubscribeRemovals?.();
    this.unsubscribeRemovals = undefined;
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    this.pruneTimer = undefined;
    if (this.windowTimer !== undefined) this.clock.clearTimeout(this.windowTimer);
    this.windowTimer = undefined;
  }

  /**
   * Rules that remember (rate windows, flapping, state_change) start where they
   * were: the recent history is evaluated again, oldest first, without signals.
   * Runs before the ingest subscription, while nothing new can arrive.
   */
  private async warmRules(): Promise<void> {
    const truncated = this.deps.metrics.counter('blick_alerting_warm_truncated_total', 'starts whose rule rebuild stopped at 200,000 events or server.limits.warm_max_bytes before the end of the lookback');
    const lookback = this.rules.lookbackMs();
    if (lookback === undefined) return;
    const t0 = performance.now();
    const newestFirst: BlickEvent[] = [];
    if (this.deps.history) {
      const since = this.clock.now() - lookback;
      const maxBytes = this.deps.warmMaxBytes ?? 256 * 1024 * 1024;
      let cursor: string | undefined;
      let bytes = 0;
      do {
        const page = await this.deps.history({ since, limit: 10_000, cursor, maxBytes: Math.min(WARM_PAGE_BYTES, maxBytes) });
        newestFirst.push(...page.events);
        bytes += page.json === undefined ? 0 : Buffer.byteLength(page.json);
        cursor = page.next;
      } while (cursor !== undefined && newestFirst.length < WARM_MAX_EVENTS && bytes < maxBytes);
      if (cursor !== undefined) {
        truncated.inc();
        this.deps.log.warn({ part: 'alerting', events: newestFirst.length, bytes, max_bytes: maxBytes }, 'rules rebuilt from the newest part of their lookback only (the replay is bounded)');
      }
    }
    this.rules.warm(newestFirst.reverse(), this.deps.ingest.state.all());
    this.deps.log.info({ part: 'alerting', events: newestFirst.length, lookback_ms: lookback, ms: Math.round(performance.now() - t0) }, 'rules rebuilt their windows and histories from the stored events');
  }

  /** The ingest hook: synchronous, fast, never throws. */
  private onIngest(i: Ingested): void {
    if (this.rules.rules.length === 0) return;
    const t0 = performance.now();
    const signals = this.rules.evaluate(i.events);
    this.book.apply(signals);
    this.armWindowExpiry();
    this.m.evalSeconds.observe((performance.now() - t0) / 1000);
  }

  /** Aggregates with a window change when events leave it, also without new events: one timer for the next. */
  private armWindowExpiry(): void {
    const at = this.rules.nextWindowExpiry();
    if (at === undefined || (this.windowTimer !== undefined && this.windowTimerAt <= at)) return;
    if (this.windowTimer !== undefined) this.clock.clearTimeout(this.windowTimer);
    this.windowTimerAt = at;
    this.windowTimer = this.clock.setTimeout(() => {
      this.windowTimer = undefined;
      this.book.apply(this.rules.expireWindows(this.clock.now()));
      this.armWindowExpiry();
    }, Math.max(0, at - this.clock.now()) + 1);
  }

  /** GET /api/v1/alerts: pending and firing from memory, resolved from the store. */
  async list(q: { status?: AlertStatus | undefined; limit?: number | undefined }): Promise<Alert[]> {
    const limit = q.limit ?? 1000;
    if (q.status === 'pending' || q.status === 'firing') return this.book.list().filter((a) => a.status === q.status).sort((a, b) => b.updatedAt - a.updatedAt).slice(0, limit);
    if (q.status === 'resolved') return this.store.listAlerts({ status: 'resolved', limit });
    const active = this.book.list().sort((a, b) => b.updatedAt - a.updatedAt);
    return [...active, ...(await this.store.listAlerts({ status: 'resolved', limit }))].slice(0, limit);
  }

  /**
   * Hear about alert changes (firing, renotified, resolved) after they are
   * routed; the live stream uses this. Listeners must be fast and not throw.
   * Returns the unsubscribe function.
   */
  onAlertChange(fn: (changes: AlertChange[]) => void): () => void {
    this.alertListeners.add(fn);
    return () => this.alertListeners.delete(fn);
  }

  private publish(changes: AlertChange[]): void {
    for (const fn of this.alertListeners) {
      try { fn(changes); } catch (err) { this.deps.log.error({ err }, 'an alert-change listener failed'); }
    }
  }

  /** The alerting clock's time (acknowledgements expire by it). */
  now(): number { return this.clock.now(); }

  /** Why an alert's notifications are muted now (silence, inhibition, flapping), or undefined. */
  mutedBy(a: Alert): string | undefined { return this.router.mutedBy(a); }

}
