import { RateLimitedLog } from '../../core/log.js';
import type { MonitorContext } from '../monitor.js';

/** Most services one listener counts down at once; beyond it the oldest is resolved early. */
export const MAX_RESOLVING = 10_000;

/** Options of {@link Resolver}. */
export interface ResolverOptions {
  /** quiet time after the last non-ok event before the ok event is sent (none: only an ok pattern resolves) */
  afterMs?: number | undefined;
  /** what the ok event's description says, e.g. `no new match for 5m` */
  reason: string;
  /** attributes of the ok event */
  attributes?: Record<string, string>;
  tags: string[];
  /** services counted down at once [10,000] */
  max?: number;
}

/**
 * The way back to ok for an event-like check (a log match, a file change): once
 * `afterMs` passes with no new non-ok event for a service, the agent sends an ok
 * event for it. The agent decides, not the server, because only it knows that
 * nothing matched (the server cannot tell a quiet log from a dead agent — the
 * heartbeat's ttl covers that) and the `ok_pattern` that clears at once lives here too.
 *
 * @example const r = new Resolver(ctx, { afterMs: 300_000, reason: 'no new match for 5m', tags: [] }); r.fired('log /var/log/app.log');
 */
export class Resolver {
  /** services whose last sent state is not ok, oldest first, with their countdown */
  private readonly pending = new Map<string, NodeJS.Timeout | undefined>();
  private readonly max: number;
  private readonly warn: RateLimitedLog;

  constructor(private readonly ctx: MonitorContext, private readonly o: ResolverOptions) {
    this.max = o.max ?? MAX_RESOLVING;
    this.warn = new RateLimitedLog(ctx.log);
  }

  /** A non-ok event for `service` was sent (or may have been, before a restart): count down again. */
  fired(service: string): void {
    if (this.pending.has(service)) { clearTimeout(this.pending.get(service)); this.pending.delete(service); }
    else if (this.pending.size >= this.max) {
      const [oldest] = this.pending.keys();
      this.warn.warn('resolve-bound', { max: this.max, service: oldest }, 'too many event-like checks waiting for resolve_after: the oldest is resolved early');
      this.resolve(oldest!, `${this.o.reason} (resolved early: more than ${this.max} checks were waiting)`);
    }
    let timer: NodeJS.Timeout | undefined;
    if (this.o.afterMs !== undefined) {
      timer = setTimeout(() => this.resolve(service, this.o.reason), this.o.afterMs);
      timer.unref();
    }
    this.pending.set(service, timer);
  }

  /** Whether an ok event for `service` is still due (its last sent state is not ok). */
  firing(service: string): boolean { return this.pending.has(service); }

  /** Send the ok event now (an ok pattern matched, or the countdown ran out). */
  resolve(service: string, description: string, attributes: Record<string, string> = {}): void {
    const t = this.pending.get(service);
    if (t) clearTimeout(t);
    this.pending.delete(service);
    try {
      this.ctx.emit({ service, state: 'ok', description, attributes: { ...this.o.attributes, ...attributes, resolved: 'true' }, tags: this.o.tags, time: this.ctx.now() });
    } catch (err) {
      this.warn.warn('resolve-emit', { err, service }, 'the ok event of an event-like check could not be sent');
    }
  }

  stop(): void {
    for (const t of this.pending.values()) clearTimeout(t);
    this.pending.clear();
  }
}
