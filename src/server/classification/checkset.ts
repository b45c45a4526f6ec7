import { createHash } from 'node:crypto';
import { BlickError } from '../../core/errors.js';
import type { Registry } from '../../core/metrics.js';
import type { DesiredStateBook } from './book.js';
import type { ServerCheckConfig } from './config.js';
import type { DerivedCheck } from './types.js';

/** One `server.checks` entry as an agent receives it: agent.checks' shape plus where it came from. */
export interface CheckSetEntry {
  name: string;
  command: string[];
  interval: string;
  timeout: string;
  ttl?: number;
  timeout_state: 'warning' | 'critical' | 'unknown';
  tags: string[];
  env?: Record<string, string>;
  origin: { source: 'server.checks'; subscription: string };
}

/** What one agent runs besides its own checks (GET /api/v1/hosts/:host/checkset). */
export interface CheckSet {
  host: string;
  /** sha256 of subscriptions, checks and derived: the ETag */
  version: string;
  /** the agent's own, its Puppet classes and Chef roles, and `host:<name>` */
  subscriptions: string[];
  checks: CheckSetEntry[];
  derived: DerivedCheck[];
}

/** At most this many subscriptions in `?subscriptions=`, each at most this long. */
export const MAX_AGENT_SUBSCRIPTIONS = 256;
export const MAX_SUBSCRIPTION_LENGTH = 256;

/** `web,db` → ['web', 'db']; a 400 for too many or too long. */
export function parseSubscriptions(text: string | undefined): string[] {
  if (text === undefined || text.trim() === '') return [];
  const subs = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (subs.length > MAX_AGENT_SUBSCRIPTIONS) throw new BlickError('BAD_REQUEST', `parameter subscriptions: at most ${MAX_AGENT_SUBSCRIPTIONS} subscriptions, got ${subs.length}`);
  const long = subs.find((s) => s.length > MAX_SUBSCRIPTION_LENGTH);
  if (long !== undefined) throw new BlickError('BAD_REQUEST', `parameter subscriptions: "${long.slice(0, 64)}…" is longer than ${MAX_SUBSCRIPTION_LENGTH} characters`);
  return subs;
}

const entry = (c: ServerCheckConfig, subscription: string): CheckSetEntry => ({
  name: c.name, command: c.command, interval: `${c.interval}ms`, timeout: `${c.timeout}ms`,
  ...(c.ttl !== undefined ? { ttl: c.ttl } : {}), timeout_state: c.timeout_state, tags: c.tags,
  ...(c.env !== undefined ? { env: c.env } : {}), origin: { source: 'server.checks', subscription },
});

/**
 * The check set of `host` for an agent subscribed to `agentSubs`: every
 * server.checks entry one of the effective subscriptions names, and the host's
 * derived checks. The same inputs give the same version.
 */
export function buildCheckSet(host: string, agentSubs: readonly string[], book: DesiredStateBook, checks: readonly ServerCheckConfig[]): CheckSet {
  const subs = new Set(agentSubs);
  for (const s of book.sourcesOf(host)) {
    for (const c of s.state.classes) subs.add(c.toLowerCase());
    for (const r of s.state.roles) subs.add(r);
  }
  subs.add(`host:${host}`);
  const subscriptions = [...subs].sort();
  const out: CheckSetEntry[] = [];
  for (const c of checks) {
    const hit = c.subscriptions.find((s) => subs.has(s));
    if (hit !== undefined) out.push(entry(c, hit));
  }
  const derived = [...book.derived(host)];
  const version = createHash('sha256').update(JSON.stringify([subscriptions, out, derived])).digest('hex');
  return { host, version, subscriptions, checks: out, derived };
}

/** `"abc"`, `W/"abc"` or a list of them → the versions named (`*` stays `*`). */
export function parseIfNoneMatch(header: string | undefined): string[] {
  if (header === undefined) return [];
  return header.split(',').map((t) => t.trim().replace(/^W\//, '').replace(/^"(.*)"$/, '$1')).filter((t) => t !== '');
}

interface Waiter { host: string; changed: () => boolean; done: () => void }

/**
 * The check-set long-polls held now, at most `max` (server.classification.max_waits):
 * one beyond it is refused (TOO_MANY_WAITS, counted). A change of a host's desired
 * state wakes that host's waiters whose set it changed; close() wakes all.
 */
export class CheckSetWaits {
  private readonly byHost = new Map<string, Set<Waiter>>();
  private held = 0;
  private readonly refused;

  constructor(private readonly max: number, metrics: Registry) {
    this.refused = metrics.counter('blick_checkset_waits_refused_total', 'Check-set long-polls refused because server.classification.max_waits were held');
    metrics.gauge('blick_checkset_waits', 'Check-set long-polls held now').collectWith(() => this.held);
  }

  /**
   * Resolve once `changed()` is true after a change of `host`, after `ms`, or when
   * `abort` fires (the client went away) or the server closes.
   */
  wait(host: string, changed: () => boolean, ms: number, abort: { once(ev: 'close', fn: () => void): void }): Promise<void> {
    if (this.held >= this.max) {
      this.refused.inc();
      throw new BlickError('TOO_MANY_WAITS', `the server holds ${this.max} check-set long-polls (server.classification.max_waits); retry later`);
    }
    return new Promise<void>((resolve) => {
      let set = this.byHost.get(host);
      if (!set) { set = new Set(); this.byHost.set(host, set); }
      this.held++;
      const w: Waiter = {
        host, changed,
        done: () => {
          const s = this.byHost.get(host);
          if (!s?.delete(w)) return;
          if (s.size === 0) this.byHost.delete(host);
          this.held--;
          clearTimeout(timer);
          resolve();
        },
      };
      set.add(w);
      const timer = setTimeout(w.done, ms);
      timer.unref();
      abort.once('close', w.done);
    });
  }

  /** A host's desired state (or anything its set depends on) changed. */
  wake(host: string): void {
    for (const w of [...(this.byHost.get(host) ?? [])]) if (w.changed()) w.done();
  }

  /** Answer every held long-poll now (the server stops). */
  close(): void {
    for (const s of [...this.byHost.values()]) for (const w of [...s]) w.done();
  }

  get size(): number { return this.held; }
}
