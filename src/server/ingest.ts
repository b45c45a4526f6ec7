import { FACTS_SERVICE, makeEvent, type BlickEvent, type State } from '../core/event.js';
import { formatDuration } from '../core/duration.js';
import { RateLimitedLog, type Logger } from '../core/log.js';
import type { Registry } from '../core/metrics.js';
import { ProducerMarks, type MarkPlan, type NumberedBatch } from './producers.js';
import { ExpiryTracker, isExpiry, RecentIds, StateIndex, type CheckLimits } from './state.js';
import type { CheckState, Store } from './store/store.js';
import type { BatchNumbers } from '../transport/receiver.js';
import type { Batch } from '../transport/wire.js';
import type { Forwarder } from './upstream/index.js';

/** One committed ingest, as subscribers (rules, the live stream) see it. */
export interface Ingested {
  events: BlickEvent[];
  /** checks whose state changed */
  changed: { before: State | null; after: CheckState }[];
}

export type IngestSubscriber = (ingested: Ingested) => void;

/** A host (service undefined) or one check removed from the current state. */
export interface Removed {
  host: string;
  service?: string | undefined;
  /** the checks that were removed */
  checks: CheckState[];
  /** who or what removed it: `api`, `deregistration` */
  reason: string;
}

export interface IngestOptions {
  store: Store;
  log: Logger;
  metrics: Registry;
  /** how many recent event ids are remembered for dedupe [200,000] */
  dedupeWindow?: number;
  /** bounds of the state index (server.limits: max_checks, check_description_bytes, check_attributes_bytes) */
  limits?: Partial<CheckLimits>;
  /** producers whose event numbers are remembered for exact dedupe [10,000] */
  dedupeProducers?: number;
  /** server.upstreams: hears every commit (src/server/upstream) */
  forward?: Forwarder | undefined;
  now?: () => number;
}

/** The batch a producer sent, as the receiver decoded it (forwarded upstream as it is). */
export interface Received { batch: Batch; numbers?: BatchNumbers | undefined }

/** What one ingest did with a batch. */
export interface IngestResult {
  accepted: number;
  duplicates: number;
  /** events refused (not stored) because they would add a check beyond max_checks */
  refused: number;
  /** their indexes in the batch */
  refusedIndexes: number[];
}

/** Replay at start reads the history in chunks this large (events, approximate bytes). */
const REPLAY_CHUNK = { events: 1000, bytes: 16 * 1024 * 1024 };

/**
 * The server's event pipeline: dedupe → state → commit → publish.
 * Commits are serialised so that state is computed against what is stored.
 */
export class Ingest {
  readonly state: StateIndex;
  private readonly recent: RecentIds;
  private readonly recentBatches = new RecentIds(100_000);
  private readonly marks: ProducerMarks;
  readonly expiry = new ExpiryTracker();
  private readonly subscribers = new Set<IngestSubscriber>();
  private readonly removalListeners = new Set<(r: Removed) => void>();
  private chain: Promise<unknown> = Promise.resolve();
  private readonly now: () => number;
  private readonly m;
  private readonly warn: RateLimitedLog;

  constructor(private readonly opts: IngestOptions) {
    this.state = new StateIndex(opts.limits);
    this.warn = new RateLimitedLog(opts.log);
    this.recent = new RecentIds(opts.dedupeWindow ?? 200_000);
    this.marks = new ProducerMarks({ maxProducers: opts.dedupeProducers ?? 10_000 });
    this.now = opts.now ?? Date.now;
    const r = opts.metrics;
    this.m = {
      stored: r.counter('blick_events_stored_total', 'Events written to the history'),
      duplicates: r.counter('blick_events_duplicate_total', 'Events dropped because their id (or their batch) was already stored'),
      expired: r.counter('blick_events_expired_total', 'expired events emitted because a ttl ran out'),
      commit: r.histogram('blick_store_commit_seconds', 'Time to commit one ingest batch to the store'),
      failures: r.counter('blick_store_failures_total', 'Store commits that failed'),
      refused: r.counter('blick_checks_refused_total', 'Events refused (not stored) because they would add a check beyond server.limits.max_checks'),
      notLoaded: r.counter('blick_checks_not_loaded_total', 'Stored checks (and replayed events of checks) not loaded at start because server.limits.max_checks was reached'),
      forgotten: r.counter('blick_dedupe_producers_forgotten_total', 'Producers whose event numbers were forgotten (over server.dedupe_producers, or too many gaps); their repeats fall back to event-id dedupe'),
    };
    r.gauge('blick_dedupe_producers', 'Producers whose event numbers the server remembers').collectWith(() => this.marks.size);
    r.gauge('blick_checks', 'Host+service pairs the server knows').collectWith(() => this.state.size);
    r.gauge('blick_checks_bytes', 'Approximate bytes of check state held in memory').collectWith(() => this.state.bytes);
  }

  /**
   * Rebuild the state index, the dedupe cache and the expiry timers from the
   * store, a page at a time; checks beyond max_checks are counted, not loaded.
   */
  async init(): Promise<void> {
    let notLoaded = 0;
    for await (const c of this.opts.store.loadChecks()) if (!this.state.load(c)) notLoaded++;
    // events committed after the checks were last saved: replay them in order
    let replayed = 0;
    for await (const events of this.opts.store.replayEvents(REPLAY_CHUNK)) {
      const { rows, refused } = this.state.prepare(events);
      notLoaded += refused.length;
      this.state.apply(rows);
      await this.opts.store.commit({ events: [], checks: rows, facts: [] });
      replayed += events.length;
    }
    if (replayed > 0) this.opts.log.info({ events: replayed }, 'rebuilt current state from history');
    if (notLoaded > 0) {
      this.m.notLoaded.inc(notLoaded);
      this.opts.log.warn({ not_loaded: notLoaded, max_checks: this.state.limits.maxChecks }, 'more checks are stored than server.limits.max_checks allows; those beyond it were not loaded (raise the limit to see them)');
    }
    // Liveness after a restart: producers could not reach a stopped server, so
    // every check gets one ttl from now. A host that is alive reports within it;
    // one that died while the server was down expires then.
    const now = this.now();
    for (const c of this.state.all()) if (c.ttl !== null && !isExpiry(c)) this.expiry.track(c.host, c.service, now, c.ttl);
    this.marks.load(await this.opts.store.loadProducers());
    const ids = await this.opts.store.recentEventIds(Math.min(200_000, this.opts.dedupeWindow ?? 200_000));
    for (let i = ids.length - 1; i >= 0; i--) this.recent.add(ids[i]!);
  }

  subscribe(fn: IngestSubscriber): () => void {
    this.subscribers.add(fn);
    return () => this.subscribers.delete(fn);
  }

  /**
   * Store a batch; resolves once committed. With `numbered` (a producer that
   * numbers its events), repeats are dropped exactly by number; without, by
   * batch id. Either way also by event id within the dedupe window.
   * `received`: the producer's batch, forwarded to server.upstreams after the
   * commit (without it, what was stored is forwarded as the server's own).
   */
  ingest(events: BlickEvent[], batchId?: string, numbered?: NumberedBatch, received?: Received): Promise<IngestResult> {
    const run = this.chain.then(() => this.commit(events, batchId, numbered, received));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async commit(events: BlickEvent[], batchId?: string, numbered?: NumberedBatch, received?: Received): Promise<IngestResult> {
    const store = this.opts.store;
    let plan: MarkPlan | undefined;
    if (numbered) {
      plan = this.marks.plan(numbered, this.now());
      batchId = undefined; // the numbers replace the batch id
    } else if (batchId !== undefined && (this.recentBatches.has(batchId) || (await store.hasBatch(batchId)))) {
      this.m.duplicates.inc(events.length);
      // stored before, maybe not forwarded (a crash in between): the upstream drops what it has
      if (received) await this.opts.forward?.received(received.batch, received.numbers);
      return { accepted: 0, duplicates: events.length, refused: 0, refusedIndexes: [] };
    }
    // ids are remembered as they are checked (so a repeat inside the batch is caught
    // too) and forgotten again if the commit fails, so that the resend is not dropped
    let fresh = events;
    let duplicates = 0;
    for (let i = 0; i < events.length; i++) {
      const id = events[i]!.id;
      if ((plan && !plan.isNew(i)) || this.recent.has(id)) {
        if (fresh === events) fresh = events.slice(0, i);
        duplicates++;
      } else {
        this.recent.add(id);
        if (fresh !== events) fresh.push(events[i]!);
      }
    }
    const { rows, changed, refused } = this.state.prepare(fresh);
    const refusedIndexes: number[] = [];
    if (refused.length > 0) {
      // not stored and not remembered: a resend is refused again, not taken for a repeat
      const drop = new Set(refused);
      for (const i of refused) this.recent.delete(fresh[i]!.id);
      // indexes in the caller's batch (fresh is it, or a subsequence without repeats)
      for (let i = 0, j = 0; i < events.length && j < fresh.length; i++) {
        if (events[i] !== fresh[j]) continue;
        if (drop.has(j)) refusedIndexes.push(i);
        j++;
      }
      const first = fresh[refused[0]!]!;
      fresh = fresh.filter((_, i) => !drop.has(i));
      this.m.refused.inc(refused.length);
      this.warn.warn('checks-refused', { refused: refused.length, max_checks: this.state.limits.maxChecks, host: first.host, service: first.service }, 'events for new checks refused: the server holds server.limits.max_checks checks');
    }
    const facts: { host: string; facts: Record<string, string>; time: number }[] = [];
    for (const e of fresh) if (e.service === FACTS_SERVICE) facts.push({ host: e.host, facts: e.attributes, time: e.time });
    const t0 = performance.now();
    try {
      await store.commit({ batchId, events: fresh, checks: rows, facts, ...(plan ? { producer: plan.next, forgetProducers: plan.forget } : {}) });
    } catch (err) {
      this.m.failures.inc();
      for (const e of fresh) this.recent.delete(e.id);
      throw err;
    }
    this.m.commit.observe((performance.now() - t0) / 1000);
    this.state.apply(rows);
    if (batchId !== undefined) this.recentBatches.add(batchId);
    if (plan) {
      this.marks.apply(plan);
      if (plan.forget.length + plan.abandoned > 0) this.m.forgotten.inc(plan.forget.length + plan.abandoned);
    }
    const now = this.now();
    for (const r of rows) {
      if (r.ttl !== null) this.expiry.track(r.host, r.service, now, r.ttl);
      else this.expiry.track(r.host, r.service, now, null);
    }
    this.m.stored.inc(fresh.length);
    if (duplicates > 0) this.m.duplicates.inc(duplicates);
    // after the commit, before the producer's ack or the API's answer: the forward spool has it then
    if (this.opts.forward) {
      if (received) await this.opts.forward.received(received.batch, received.numbers);
      else if (fresh.length > 0) this.opts.forward.own(fresh);
    }
    if (this.subscribers.size > 0 && fresh.length > 0) {
      const ingested: Ingested = { events: fresh, changed };
      for (const s of this.subscribers) {
        try { s(ingested); } catch (err) { this.opts.log.error({ err }, 'an ingest subscriber failed'); }
      }
    }
    return { accepted: fresh.length, duplicates, refused: refused.length, refusedIndexes };
  }

  /** Hear about removed hosts and checks (alerting resolves their alerts, the stream tells clients). */
  onRemoved(fn: (r: Removed) => void): () => void {
    this.removalListeners.add(fn);
    return () => this.removalListeners.delete(fn);
  }

  /**
   * Remove a host (no service: all its checks and its facts) or one check from
   * the store's current state, the state index and the ttl timers, in turn with
   * commits. History stays until retention. A later event recreates it.
   * Resolves to undefined when nothing of it was known, or when `unless` says no.
   */
  remove(host: string, service: string | undefined, reason: string, unless?: () => boolean): Promise<Removed | undefined> {
    const run = this.chain.then(async () => {
      // checked in turn with commits: an event committed since the caller looked can veto
      if (unless?.()) return undefined;
      const store = this.opts.store;
      const known = service === undefined ? await store.deleteHost(host) : (await store.deleteChecks(host, service)) > 0;
      const checks = this.state.delete(host, service);
      for (const c of checks) this.expiry.untrack(c.host, c.service);
      if (!known && checks.length === 0) return undefined;
      const removed: Removed = { host, service, checks, reason };
      this.opts.log.info({ host, ...(service !== undefined ? { service } : {}), checks: checks.length, reason }, service === undefined ? 'host removed' : 'check removed');
      for (const fn of this.removalListeners) {
        try { fn(removed); } catch (err) { this.opts.log.error({ err }, 'a removal listener failed'); }
      }
      return removed;
    });
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** Emit `expired` events for every check whose ttl ran out by now. */
  async expireDue(): Promise<number> {
    const due = this.expiry.due(this.now());
    if (due.length === 0) return 0;
    const events: BlickEvent[] = [];
    for (const { host, service } of due) {
      const c = this.state.get(host, service);
      if (!c || c.ttl === null) continue;
      // a metric-only series (no state of its own, e.g. a check's perfdata) goes stale, not
      // critical: its check's own state says whether something is wrong
      const stale = c.state === null;
      try {
        events.push(makeEvent({
          host, service, ...(stale ? {} : { state: 'critical' as const }),
          description: stale
            ? `stale: no value for ${host} ${service} within its ttl of ${formatDuration(c.ttl * 1000)}`
            : `expired: no event for ${host} ${service} within its ttl of ${formatDuration(c.ttl * 1000)} (last state ${c.state})`,
          attributes: { expired: 'true', ...(stale ? { stale: 'true' } : {}), last_state: c.state ?? '', last_event: c.event_id, last_seen: String(c.last_seen) },
          tags: c.tags,
        }, { source: 'server', now: this.now }));
      } catch (err) {
        // a check stored before today's name rules must not stop the others from expiring
        this.opts.log.warn({ host, service, err }, 'cannot emit the expired event of a check with an invalid name');
      }
    }
    if (events.length === 0) return 0;
    await this.ingest(events);
    this.m.expired.inc(events.length);
    this.opts.log.warn({ checks: events.map((e) => `${e.host} ${e.service}`).slice(0, 20), count: events.length }, 'ttl expired');
    return events.length;
  }
}
