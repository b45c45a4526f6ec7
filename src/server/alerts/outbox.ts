import type { Logger } from '../../core/log.js';
import type { Registry } from '../../core/metrics.js';
import { RateLimitedLog } from '../../core/log.js';
import { DeliveryError, type Notifier, type RetryPolicy } from '../notifiers/notifier.js';
import type { Clock } from './clock.js';
import type { AlertStore, NotificationLogEntry } from './store.js';
import type { OutboxItem } from './types.js';

export interface OutboxOptions {
  store: AlertStore;
  notifiers: Map<string, { notifier: Notifier; policy: RetryPolicy }>;
  clock: Clock;
  metrics: Registry;
  log: Logger;
  /** randomness for jitter (tests pass a constant) */
  random?: () => number;
}

/**
 * Notification delivery with retries: each notification is written to the
 * outbox table before its first attempt and deleted after success, so a
 * restart resumes it and a success is not repeated. Backoff doubles from
 * `retry.initial` up to `retry.max`, with jitter; after `give_up_after` the
 * notification is dropped and counted.
 */
export class Outbox {
  private readonly timers = new Map<string, unknown>();
  private readonly inflight = new Map<string, AbortController>();
  private readonly running = new Set<Promise<void>>();
  private stopped = false;
  private readonly warn: RateLimitedLog;
  private readonly m;
  private readonly random: () => number;

  constructor(private readonly o: OutboxOptions) {
    this.warn = new RateLimitedLog(o.log, 10_000);
    this.random = o.random ?? Math.random;
    const r = o.metrics;
    this.m = {
      total: r.counter('blick_notifications_total', 'Notifications by notifier and outcome (sent, dropped, failed: refused by the receiver as invalid)'),
      failures: r.counter('blick_notification_failures_total', 'Failed delivery attempts (each is retried until give_up_after)'),
      latency: r.histogram('blick_notification_latency_seconds', 'From the alert change to a successful delivery', [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 120, 600]),
    };
    r.gauge('blick_notifications_queued', 'Notifications in the outbox').collectWith(() => this.timers.size + this.inflight.size);
  }

  /** Resume what the outbox held at the last stop or crash. */
  async load(): Promise<void> {
    const now = this.o.clock.now();
    for (const item of await this.o.store.outbox()) this.schedule(item, Math.max(0, item.nextAttemptAt - now));
  }

  /** Persist new notifications (with their log entries), then attempt them. */
  async enqueue(items: OutboxItem[], log: NotificationLogEntry[]): Promise<void> {
    await this.o.store.enqueue(items, log);
    for (const i of items) this.schedule(i, 0);
  }

  private schedule(item: OutboxItem, ms: number): void {
    if (this.stopped) return;
    if (ms <= 0) { this.attempt(item); return; }
    const t = this.o.clock.setTimeout(() => { this.timers.delete(item.id); this.attempt(item); }, ms);
    this.timers.set(item.id, t);
  }

  private attempt(item: OutboxItem): void {
    const p = this.deliver(item).finally(() => this.running.delete(p));
    this.running.add(p);
  }

  private async deliver(item: OutboxItem): Promise<void> {
    const entry = this.o.notifiers.get(item.notifier);
    const clock = this.o.clock;
    if (!entry) {
      this.o.log.error({ notifier: item.notifier, alert: item.alertId }, 'notification for a notifier that is no longer configured: dropped');
      this.m.total.inc(1, { notifier: item.notifier, status: 'dropped' });
      await this.o.store.delivered(item.id).catch(() => undefined);
      return;
    }
    const { notifier, policy } = entry;
    const ac = new AbortController();
    this.inflight.set(item.id, ac);
    const timer = setTimeout(() => ac.abort(new Error(`timed out after ${policy.timeout} ms`)), policy.timeout);
    let error: unknown;
    try {
      await notifier.send(item.payload, ac.signal);
    } catch (err) {
      error = err;
    } finally {
      clearTimeout(timer);
      this.inflight.delete(item.id);
    }
    if (error === undefined) {
      this.m.total.inc(1, { notifier: item.notifier, status: 'sent' });
      this.m.latency.observe(Math.max(0, clock.now() - item.createdAt) / 1000);
      try { await this.o.store.delivered(item.id); } catch (err) { this.o.log.error({ err, id: item.id }, 'could not delete a delivered notification from the outbox'); }
      return;
    }
    if (this.stopped) return; // shutdown aborted it: the outbox row resumes it after the restart
    const msg = error instanceof Error ? error.message : String(error);
    this.m.failures.inc(1, { notifier: item.notifier });
    item.attempts++;
    const now = clock.now();
    if (error instanceof DeliveryError && error.permanent) {
      this.warn.warn(`refused:${item.notifier}`, { notifier: item.notifier, alert: item.alertId, attempts: item.attempts, error: msg }, 'notification refused by the receiver as invalid: not retried');
      this.m.total.inc(1, { notifier: item.notifier, status: 'failed' });
      await this.o.store.delivered(item.id).catch(() => undefined);
      return;
    }
    if (now - item.createdAt >= policy.giveUpAfter) {
      this.o.log.error({ notifier: item.notifier, alert: item.alertId, attempts: item.attempts, error: msg }, 'notification dropped after retry.give_up_after');
      this.m.total.inc(1, { notifier: item.notifier, status: 'dropped' });
      await this.o.store.delivered(item.id).catch(() => undefined);
      return;
    }
    const hinted = error instanceof DeliveryError ? error.retryAfterMs : undefined;
    const backoff = hinted ?? Math.min(policy.max, policy.initial * 2 ** Math.min(30, item.attempts - 1)) * (0.9 + 0.2 * this.random());
    item.nextAttemptAt = now + backoff;
    item.lastError = msg;
    this.warn.warn(`notify:${item.notifier}`, { notifier: item.notifier, alert: item.alertId, attempts: item.attempts, retryInMs: Math.round(backoff), error: msg }, 'notification failed; will retry');
    try { await this.o.store.retryLater(item.id, item.attempts, item.nextAttemptAt, msg); } catch { /* the row stays; retried from memory */ }
    this.schedule(item, backoff);
  }

  /** Notifications not yet delivered (for tests and /metrics). */
  get queued(): number { return this.timers.size + this.inflight.size; }

  /** Stop retrying; abort attempts in flight (their rows stay for the next start). */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers.values()) this.o.clock.clearTimeout(t);
    this.timers.clear();
    for (const ac of this.inflight.values()) ac.abort(new Error('server stopping'));
    await Promise.allSettled([...this.running]);
  }
}
