import { part, type Component } from '../../core/component.js';
import type { Logger } from '../../core/log.js';
import type { Registry } from '../../core/metrics.js';
import type { Alerting } from '../alerts/index.js';
import type { Clock } from '../alerts/clock.js';
import type { Ingest } from '../ingest.js';
import type { Store } from '../store/store.js';
import { DesiredStateBook, type DesiredChange } from './book.js';
import { buildCheckSet, CheckSetWaits, type CheckSet } from './checkset.js';
import type { ClassificationConfig, ServerCheckConfig } from './config.js';
import { NeverSeenWatch } from './never-seen.js';
import { CLASSIFIED_RULE, classifiedHooks, NEVER_SEEN_RULE } from './rules.js';

export { DesiredStateBook } from './book.js';
export type { DesiredChange, HostDesired, SourceState } from './book.js';
export type { CheckSet, CheckSetEntry } from './checkset.js';
export { classificationConfigSchema, serverChecksSchema, type ClassificationConfig, type ServerCheckConfig } from './config.js';
export { CLASSIFIED_RULE, NEVER_SEEN_RULE, NEVER_SEEN_SERVICE, withClassificationRules } from './rules.js';
export type * from './types.js';

export interface ClassificationDeps {
  store: Store;
  ingest: Ingest;
  metrics: Registry;
  log: Logger;
  /** the never-seen timer's clock [systemClock] */
  clock?: Clock;
  now?: () => number;
}

/**
 * Desired state on the server (issue #14): the {@link DesiredStateBook} every
 * input writes to (it is the DesiredStateSink), the check sets agents fetch,
 * the `classified` rule's hook and the `never seen` watch. A derived check
 * that leaves the set has its state forgotten, so that no alert stays behind.
 */
export class Classification implements Component {
  readonly name = 'classification';
  readonly book: DesiredStateBook;
  readonly waits: CheckSetWaits;
  /** started after alerting, so that its events meet the rules */
  readonly neverSeen: Component;
  /** undefined with never_seen_after 0 */
  readonly neverSeenWatch: NeverSeenWatch | undefined;
  private alerting: Alerting | undefined;
  private unsubscribe: (() => void) | undefined;

  constructor(readonly config: ClassificationConfig, readonly checks: readonly ServerCheckConfig[], private readonly deps: ClassificationDeps) {
    const log = deps.log.child({ part: 'classification' });
    this.book = new DesiredStateBook({
      store: deps.store, config, metrics: deps.metrics, log, ...(deps.now ? { now: deps.now } : {}),
      onChange: (c) => this.forgetRemoved(c),
    });
    this.waits = new CheckSetWaits(config.max_waits, deps.metrics);
    const watch = config.never_seen_after > 0
      ? new NeverSeenWatch({ book: this.book, ingest: deps.ingest, afterMs: config.never_seen_after, log, metrics: deps.metrics, ...(deps.clock ? { clock: deps.clock } : {}) })
      : undefined;
    this.neverSeenWatch = watch;
    this.neverSeen = part('never-seen', () => watch?.start(), () => watch?.stop());
  }

  /** The alerting whose `classified` alerts end when their derived check goes (set before start). */
  attach(alerting: Alerting): void { this.alerting = alerting; }

  /** What alerting's rule engine adds to the `classified` rule. */
  ruleHooks() { return classifiedHooks(this.book); }

  async start(): Promise<void> {
    await this.book.load();
    this.unsubscribe = this.book.subscribe((c) => this.waits.wake(c.host));
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.waits.close();
  }

  /** How many of `rules` can fire now: the classification rules only once some host is classified. */
  rulesThatCanFire(rules: readonly { name: string }[]): number {
    const classified = this.book.hostNames().next().done !== true;
    return rules.filter((r) => classified || (r.name !== CLASSIFIED_RULE && r.name !== NEVER_SEEN_RULE)).length;
  }

  /** The check set of `host` for an agent with these subscriptions. */
  checkSet(host: string, subscriptions: readonly string[]): CheckSet {
    return buildCheckSet(host, subscriptions, this.book, this.checks);
  }

  /**
   * A derived check left the host's set: forget its state when the agent's derived
   * check made it (its events carry `derived_from`), which resolves every alert on
   * it; otherwise (a check of the same name the agent runs anyway) end only the
   * `classified` alert.
   */
  private async forgetRemoved(c: DesiredChange): Promise<void> {
    for (const d of c.removed) {
      const cur = this.deps.ingest.state.get(c.host, d.service);
      if (cur?.attributes.derived_from !== undefined) await this.deps.ingest.remove(c.host, d.service, 'classification');
      else this.alerting?.book.endFor(c.host, d.service, CLASSIFIED_RULE);
    }
  }
}
