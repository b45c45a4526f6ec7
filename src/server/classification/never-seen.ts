import { makeEvent, type BlickEvent, type State } from '../../core/event.js';
import { formatDuration } from '../../core/duration.js';
import type { Logger } from '../../core/log.js';
import type { Registry } from '../../core/metrics.js';
import { systemClock, type Clock } from '../alerts/clock.js';
import type { Ingest } from '../ingest.js';
import type { DesiredStateBook } from './book.js';
import { NEVER_SEEN_SERVICE } from './rules.js';

export interface NeverSeenOptions {
  book: DesiredStateBook;
  ingest: Ingest;
  /** server.classification.never_seen_after, ms */
  afterMs: number;
  log: Logger;
  metrics: Registry;
  clock?: Clock;
}

/** The latest event the host's agent sent (source agent), unix ms, or undefined. */
function lastAgentEvent(ingest: Ingest, host: string): number | undefined {
  let t: number | undefined;
  for (const c of ingest.state.hostChecks(host)) if (c.source === 'agent' && (t === undefined || c.time > t)) t = c.time;
  return t;
}

/**
 * `never seen`: a host a classification source knows (PuppetDB, a Chef run,
 * an uploaded catalog) whose agent never reported, or has not for
 * never_seen_after, gets a critical `blick never seen` event from the server
 * (the `never-seen` rule alerts on it, through the normal routes); the host's
 * next agent event makes it ok again. Checked on a timer of the injectable clock.
 */
export class NeverSeenWatch {
  private readonly clock: Clock;
  private timer: unknown;
  private unsubscribe: (() => void) | undefined;
  /** hosts whose `blick never seen` is critical now */
  private readonly flagged = new Set<string>();
  private readonly raised;

  constructor(private readonly o: NeverSeenOptions) {
    this.clock = o.clock ?? systemClock;
    this.raised = o.metrics.counter('blick_never_seen_total', 'never seen events raised: a classified host whose agent did not report within server.classification.never_seen_after');
    o.metrics.gauge('blick_never_seen_hosts', 'Classified hosts whose agent is not reporting now').collectWith(() => this.flagged.size);
  }

  start(): void {
    for (const h of this.o.ingest.state.hosts()) if (this.o.ingest.state.get(h, NEVER_SEEN_SERVICE)?.state === 'critical') this.flagged.add(h);
    this.unsubscribe = this.o.ingest.subscribe((i) => this.onEvents(i.events));
    this.arm();
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Check every classified host now; resolves once the events are committed. */
  async check(): Promise<void> {
    const { book, ingest, afterMs } = this.o;
    const now = this.clock.now();
    const events: BlickEvent[] = [];
    for (const host of book.hostNames()) {
      if (this.flagged.has(host)) continue;
      const known = book.knownSince(host)!;
      const last = lastAgentEvent(ingest, host);
      const since = Math.max(known, last ?? 0);
      if (now - since < afterMs) continue;
      const sources = book.sourcesOf(host).map((s) => s.state.source).join(', ');
      events.push(this.event(host, 'critical', last === undefined
        ? `${host} is known to ${sources} since ${new Date(known).toISOString()}, but its agent never reported (server.classification.never_seen_after ${formatDuration(afterMs)})`
        : `${host} is known to ${sources}, but its agent has not reported since ${new Date(last).toISOString()} (more than ${formatDuration(afterMs)})`,
      { known_since: String(known), ...(last !== undefined ? { last_agent_event: String(last) } : {}) }));
    }
    // a host no source knows any more is not missing
    for (const host of this.flagged) if (book.get(host) === undefined) events.push(this.event(host, 'ok', `${host} is no longer known to a classification source`, {}));
    await this.emit(events);
  }

  private onEvents(events: readonly BlickEvent[]): void {
    if (this.flagged.size === 0) return;
    let back: BlickEvent[] | undefined;
    for (const e of events) {
      if (e.source !== 'agent' || !this.flagged.has(e.host)) continue;
      this.flagged.delete(e.host); // once: the ok event below is in flight
      (back ??= []).push(this.event(e.host, 'ok', `the agent of ${e.host} reports (${e.service})`, { last_agent_event: String(e.time) }));
    }
    if (back) this.emit(back, false).catch((err) => this.o.log.error({ err }, 'emitting never seen ok events failed'));
  }

  private event(host: string, state: State, description: string, attributes: Record<string, string>): BlickEvent {
    return makeEvent({ host, service: NEVER_SEEN_SERVICE, state, description, attributes }, { source: 'server', now: this.clock.now });
  }

  private async emit(events: BlickEvent[], track = true): Promise<void> {
    if (events.length === 0) return;
    await this.o.ingest.ingest(events);
    if (!track) return;
    for (const e of events) {
      if (e.state === 'critical') { this.flagged.add(e.host); this.raised.inc(); } else this.flagged.delete(e.host);
    }
    const raised = events.filter((e) => e.state === 'critical').map((e) => e.host);
    if (raised.length > 0) this.o.log.warn({ hosts: raised.slice(0, 20), count: raised.length }, 'classified hosts whose agent does not report (never seen)');
  }

  private arm(): void {
    // often enough that an alert comes within a quarter of never_seen_after of being due
    const every = Math.max(50, Math.min(30_000, Math.floor(this.o.afterMs / 4)));
    this.timer = this.clock.setTimeout(() => {
      this.check().catch((err) => this.o.log.error({ err }, 'never seen check failed')).finally(() => { if (this.timer !== undefined) this.arm(); });
    }, every);
  }
}
