import type { Logger } from '../../core/log.js';
import { ulid } from '../../core/ids.js';
import type { Clock } from './clock.js';
import type { InhibitConfig, RouteConfig } from './config.js';
import { labelMatcher, labelValue, type AlertMatcher } from './labels.js';
import type { AlertChange } from './lifecycle.js';
import type { NotificationLogEntry } from './store.js';
import type { Alert, NotificationPayload, OutboxItem } from './types.js';

interface Route { index: number; config: RouteConfig; match: AlertMatcher }
interface Inhibit { source: AlertMatcher; target: AlertMatcher; equal: InhibitConfig['equal'] }

interface Entry {
  alert: Alert;
  /** what was last notified for this alert in this group */
  sent: 'firing' | 'resolved' | null;
  sentAt: number;
  renotify: boolean;
}

interface Group {
  key: string;
  route: Route;
  entries: Map<string, Entry>;
  /** last flush (0: never, so the first one waits group_wait) */
  flushedAt: number;
  timer: unknown;
  due: number;
}

export interface RouterOptions {
  routes: RouteConfig[];
  inhibit: InhibitConfig[];
  /** every configured notifier: the implicit route when no routes are configured */
  notifiers: string[];
  clock: Clock;
  log: Logger;
  /** current pending/firing alerts (inhibition sources, flapping) */
  active(): Alert[];
  /** names of flapping rules: while a check flaps, its other alerts are muted */
  isFlappingRule(rule: string): boolean;
  /** why an alert is silenced, if it is */
  silenced(a: Alert): string | undefined;
  /** persist and deliver */
  deliver(items: OutboxItem[], log: NotificationLogEntry[]): Promise<void>;
  /** a notification was held back; `why` as {@link Router.mutedBy} says it */
  onMuted?(why: string): void;
}

/**
 * Routing with Alertmanager's semantics: routes (first match unless
 * `continue`), groups by `group_by`, `group_wait`/`group_interval`/
 * `repeat_interval`, inhibition, silences. Every notification is one alert
 * in the webhook JSON of PRODUCT.md, fanned out to the route's notifiers.
 */
export class Router {
  private readonly routes: Route[];
  private readonly inhibits: Inhibit[];
  private readonly groups = new Map<string, Group>();
  private stopped = false;

  constructor(private readonly o: RouterOptions) {
    const routes = o.routes.length > 0 ? o.routes
      : o.notifiers.length > 0 ? [{ match: {}, notify: o.notifiers, group_by: ['rule', 'host', 'service'], group_wait: 0, group_interval: 5000, repeat_interval: 4 * 3600_000, continue: false } as RouteConfig] : [];
    this.routes = routes.map((config, index) => ({ index, config, match: labelMatcher(config.match) }));
    this.inhibits = o.inhibit.map((i) => ({ source: labelMatcher(i.source_match), target: labelMatcher(i.target_match), equal: i.equal }));
  }

  /** Rebuild groups of firing alerts and what was already notified (a restart re-sends nothing). */
  load(firing: Alert[], log: NotificationLogEntry[], resolvedUnsent: Alert[]): void {
    const sent = new Map<string, NotificationLogEntry>();
    for (const l of log) sent.set(`${l.group}\0${l.alertId}`, l);
    for (const a of [...firing, ...resolvedUnsent]) {
      for (const r of this.matching(a)) {
        const g = this.group(r, a);
        const l = sent.get(`${g.key}\0${a.id}`);
        if (a.status === 'resolved' && l?.status !== 'firing') continue;
        g.entries.set(a.id, { alert: a, sent: l?.status ?? null, sentAt: l?.sentAt ?? 0, renotify: false });
        if (l) g.flushedAt = Math.max(g.flushedAt, l.sentAt);
      }
    }
    for (const g of this.groups.values()) this.schedule(g, this.nextDue(g));
  }

  /** Alert changes from the lifecycle. */
  onChange(changes: AlertChange[]): void {
    for (const c of changes) {
      for (const r of this.matching(c.alert)) {
        const g = this.group(r, c.alert);
        const e = g.entries.get(c.alert.id);
        if (e) { e.alert = c.alert; if (c.renotify) e.renotify = true; }
        else if (c.to === 'firing') g.entries.set(c.alert.id, { alert: c.alert, sent: null, sentAt: 0, renotify: false });
        else continue; // resolved before it was ever routed here
        const now = this.o.clock.now();
        const due = g.flushedAt === 0 ? now + r.config.group_wait : Math.max(now, g.flushedAt + r.config.group_interval);
        this.schedule(g, due);
      }
    }
    // a change of a flapping or inhibiting alert may mute or un-mute others
    if (changes.some((c) => this.o.isFlappingRule(c.alert.rule) || this.inhibits.some((i) => i.source(c.alert)))) this.recheck();
  }

  /** Silences or inhibitions changed: look at every group again. */
  recheck(): void {
    const now = this.o.clock.now();
    for (const g of this.groups.values()) {
      for (const e of g.entries.values()) {
        if ((e.alert.status === 'firing' && e.sent !== 'firing') || e.alert.status === 'resolved') {
          this.schedule(g, Math.max(now, g.flushedAt === 0 ? now : g.flushedAt + g.route.config.group_interval));
          break;
        }
      }
    }
  }

  /** Why an alert's notifications are muted, or undefined. */
  mutedBy(a: Alert): string | undefined {
    const s = this.o.silenced(a);
    if (s) return `silence ${s}`;
    const active = this.o.active();
    if (!this.o.isFlappingRule(a.rule)) {
      for (const f of active) {
        if (f.status === 'firing' && f.host === a.host && f.service === a.service && this.o.isFlappingRule(f.rule)) return `flapping (${f.rule})`;
      }
    }
    for (const i of this.inhibits) {
      if (!i.target(a)) continue;
      for (const src of active) {
        if (src.status !== 'firing' || src.id === a.id || !i.source(src)) continue;
        if (i.equal.every((k) => labelValue(src, k) === labelValue(a, k))) return `inhibited by ${src.rule} on ${src.host} ${src.service}`;
      }
    }
    return undefined;
  }

  private matching(a: Alert): Route[] {
    const out: Route[] = [];
    for (const r of this.routes) {
      if (!r.match(a)) continue;
      out.push(r);
      if (!r.config.continue) break;
    }
    return out;
  }

  private group(r: Route, a: Alert): Group {
    const key = `${r.index}|${r.config.group_by.map((k) => labelValue(a, k)).join('|')}`;
    let g = this.groups.get(key);
    if (!g) { g = { key, route: r, entries: new Map(), flushedAt: 0, timer: undefined, due: Infinity }; this.groups.set(key, g); }
    return g;
  }

  private schedule(g: Group, due: number): void {
    if (this.stopped || due === Infinity) return;
    if (g.timer !== undefined && g.due <= due) return;
    if (g.timer !== undefined) this.o.clock.clearTimeout(g.timer);
    g.due = due;
    const ms = due - this.o.clock.now();
    g.timer = ms <= 0
      ? (queueMicrotask(() => { if (g.due === due) this.flush(g); }), 'microtask')
      : this.o.clock.setTimeout(() => this.flush(g), ms);
  }

  private flush(g: Group): void {
    if (g.timer !== undefined && g.timer !== 'microtask') this.o.clock.clearTimeout(g.timer);
    g.timer = undefined; g.due = Infinity;
    if (this.stopped) return;
    const now = this.o.clock.now();
    const cfg = g.route.config;
    const items: OutboxItem[] = [];
    const log: NotificationLogEntry[] = [];
    let sentSomething = false;
    for (const [id, e] of g.entries) {
      const a = e.alert;
      const muted = this.mutedBy(a);
      if (a.status === 'firing') {
        const need = e.sent !== 'firing' || e.renotify || now - e.sentAt >= cfg.repeat_interval;
        if (!need) continue;
        if (muted) { this.o.onMuted?.(muted); this.o.log.debug({ alert: a.id, rule: a.rule, host: a.host, muted }, 'notification muted'); continue; }
        this.emit(g, a, 'firing', now, items, log);
        e.sent = 'firing'; e.sentAt = now; e.renotify = false; sentSomething = true;
      } else if (a.status === 'resolved') {
        g.entries.delete(id);
        if (e.sent === 'firing' && !muted) { this.emit(g, a, 'resolved', now, items, log); sentSomething = true; }
        else if (e.sent === 'firing') this.o.onMuted?.(muted!);
      } else g.entries.delete(id);
    }
    if (sentSomething || g.flushedAt === 0) g.flushedAt = now;
    if (items.length > 0) {
      this.o.deliver(items, log).catch((err) => this.o.log.error({ err, group: g.key }, 'could not queue notifications'));
    }
    if (g.entries.size === 0) { this.groups.delete(g.key); return; }
    this.schedule(g, this.nextDue(g));
  }

  /** the next repeat of a group's firing alerts */
  private nextDue(g: Group): number {
    let due = Infinity;
    const cfg = g.route.config;
    for (const e of g.entries.values()) {
      if (e.alert.status === 'resolved' || (e.alert.status === 'firing' && e.sent !== 'firing')) {
        due = Math.min(due, g.flushedAt === 0 ? this.o.clock.now() + cfg.group_wait : g.flushedAt + cfg.group_interval);
      } else if (e.alert.status === 'firing') due = Math.min(due, Math.max(e.sentAt + cfg.repeat_interval, g.flushedAt + cfg.group_interval));
    }
    // muted alerts are looked at again when a silence or inhibition changes, not on a spin
    if (due !== Infinity && due <= this.o.clock.now()) {
      const anySendable = [...g.entries.values()].some((e) => !this.mutedBy(e.alert));
      if (!anySendable) return Infinity;
    }
    return due;
  }

  private emit(g: Group, a: Alert, status: 'firing' | 'resolved', now: number, items: OutboxItem[], log: NotificationLogEntry[]): void {
    const payload = toPayload(a, status);
    for (const n of g.route.config.notify) {
      items.push({ id: ulid(now), notifier: n, alertId: a.id, payload, createdAt: now, attempts: 0, nextAttemptAt: now, lastError: null });
    }
    log.push({ group: g.key, alertId: a.id, status, sentAt: now });
  }

  stop(): void {
    this.stopped = true;
    for (const g of this.groups.values()) if (g.timer !== undefined && g.timer !== 'microtask') this.o.clock.clearTimeout(g.timer);
  }
}

/** The webhook JSON of PRODUCT.md. */
export function toPayload(a: Alert, status: 'firing' | 'resolved'): NotificationPayload {
  return {
    status, rule: a.rule, severity: a.severity, host: a.host, service: a.service,
    state: a.state, metric: a.metric, description: a.description,
    startsAt: new Date(a.firedAt ?? a.startsAt).toISOString(),
    endsAt: status === 'resolved' && a.endsAt !== null ? new Date(a.endsAt).toISOString() : null,
    event: a.event,
  };
}
