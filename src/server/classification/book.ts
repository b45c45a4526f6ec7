import { BlickError } from '../../core/errors.js';
import { RateLimitedLog, type Logger } from '../../core/log.js';
import type { Registry } from '../../core/metrics.js';
import type { Store } from '../store/store.js';
import type { ClassificationConfig } from './config.js';
import { deriveChecks, SOURCE_ORDER, unionDerived } from './derive.js';
import { describeIssues, desiredStateSchema } from './schema.js';
import { DERIVING_TYPES, type ClassificationSource, type DerivedCheck, type DesiredState, type DesiredStateSink } from './types.js';

/** What one source says of a host, with what it derives. */
export interface SourceState {
  state: DesiredState;
  derived: DerivedCheck[];
  known_since: number;
  updated: number;
}

/** A host's desired state: per source, and the union of their derived checks. */
export interface HostDesired {
  host: string;
  sources: Map<ClassificationSource, SourceState>;
  derived: DerivedCheck[];
  /** derived checks by service name */
  byService: Map<string, DerivedCheck>;
}

/** A change of a host's desired state, after it is stored. */
export interface DesiredChange {
  host: string;
  /** derived checks that were in the set and are not any more */
  removed: DerivedCheck[];
}

export interface DesiredStateBookOptions {
  store: Store;
  config: Pick<ClassificationConfig, 'max_hosts' | 'max_resources' | 'max_state_bytes'>;
  metrics: Registry;
  log: Logger;
  now?: () => number;
  /**
   * Told of every change once stored, before update/forget resolve (the caller
   * forgets the removed derived checks' state, so that no alert is left behind).
   */
  onChange?: (c: DesiredChange) => Promise<void> | void;
}

const KEPT_TYPES = new Set<string>(DERIVING_TYPES);
/** more top-level keys than a desired state can have, with room for a few unknown ones to be named */
const MAX_KEYS = 32;

/**
 * The desired state of every host, per source (the agent's catalog upload,
 * PuppetDB, Chef): kept in memory, persisted through the store, bounded by
 * server.classification.max_hosts, max_resources and max_state_bytes (refusals
 * counted in blick_classification_refused_total). Only Service, Package, File,
 * Mount and Cron resources are kept. Updates run one at a time, in order.
 */
export class DesiredStateBook implements DesiredStateSink {
  private readonly hosts = new Map<string, HostDesired>();
  private chain: Promise<unknown> = Promise.resolve();
  private readonly now: () => number;
  private readonly refused;
  private readonly warn: RateLimitedLog;
  private readonly listeners = new Set<(c: DesiredChange) => void>();

  constructor(private readonly o: DesiredStateBookOptions) {
    this.now = o.now ?? Date.now;
    this.warn = new RateLimitedLog(o.log);
    this.refused = o.metrics.counter('blick_classification_refused_total', 'Desired states refused (by reason: invalid, hosts, resources, bytes)');
    o.metrics.gauge('blick_classification_hosts', 'Hosts with a desired state').collectWith(() => this.hosts.size);
    o.metrics.gauge('blick_classification_derived_checks', 'Checks derived from desired state').collectWith(() => {
      let n = 0;
      for (const h of this.hosts.values()) n += h.derived.length;
      return n;
    });
  }

  /** Load what the store kept (at start, before anything asks). */
  async load(): Promise<void> {
    this.hosts.clear();
    for (const r of await this.o.store.loadClassifications()) {
      const h = this.host(r.host, true)!;
      h.sources.set(r.source, { state: r.state, derived: deriveChecks(r.state), known_since: r.known_since, updated: r.updated });
      this.rederive(h);
    }
  }

  /** Hear about changes (after they are stored and the onChange option ran); listeners must be fast and not throw. */
  subscribe(fn: (c: DesiredChange) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /**
   * Replace what `state.source` says of `state.host`. Throws BAD_REQUEST for a
   * malformed state, CLASSIFICATION_TOO_LARGE beyond max_resources or
   * max_state_bytes, CLASSIFICATION_LIMIT for a new host beyond max_hosts.
   */
  update(input: DesiredState): Promise<void> {
    return this.serial(async () => {
      const state = this.check(input);
      const time = this.now();
      let h = this.hosts.get(state.host);
      if (!h && this.hosts.size >= this.o.config.max_hosts) {
        this.refuse('hosts', state, `the server keeps the desired state of ${this.o.config.max_hosts} hosts (server.classification.max_hosts); ${state.host} from ${state.source} is refused`, 'CLASSIFICATION_LIMIT');
      }
      await this.o.store.saveClassification(state.host, state.source, state, time);
      h ??= this.host(state.host, true)!;
      const before = h.derived;
      const prev = h.sources.get(state.source);
      h.sources.set(state.source, { state, derived: deriveChecks(state), known_since: prev?.known_since ?? time, updated: time });
      this.rederive(h);
      await this.changed(h.host, before, h.derived);
    });
  }

  /**
   * Replace what a source says of `host` from a request body (PUT
   * /api/v1/hosts/:host/classification: a desired state without host).
   */
  put(host: string, body: unknown): Promise<void> {
    const obj = body !== null && typeof body === 'object' && !Array.isArray(body) ? body : { body };
    try { this.checkKeys(obj); } catch (err) { return Promise.reject(err); }
    return this.update({ ...(obj as Omit<DesiredState, 'host'>), host });
  }

  /** Forget what `source` said of `host` (a node deactivated in PuppetDB). */
  forget(host: string, source: ClassificationSource): Promise<void> {
    return this.serial(async () => {
      const h = this.hosts.get(host);
      if (!h?.sources.has(source)) return;
      await this.o.store.saveClassification(host, source, null, this.now());
      const before = h.derived;
      h.sources.delete(source);
      if (h.sources.size === 0) this.hosts.delete(host);
      else this.rederive(h);
      await this.changed(host, before, h.sources.size === 0 ? [] : h.derived);
    });
  }

  /** Forget what every source said of `host` (DELETE /api/v1/hosts/:host); resolves to whether any did. */
  async forgetHost(host: string): Promise<boolean> {
    const sources = [...(this.hosts.get(host)?.sources.keys() ?? [])];
    for (const s of sources) await this.forget(host, s);
    return sources.length > 0;
  }

  /** A host's desired state, or undefined when no source knows it. */
  get(host: string): HostDesired | undefined { return this.hosts.get(host); }

  /** Every host some source knows. */
  hostNames(): IterableIterator<string> { return this.hosts.keys(); }

  /** The host's derived checks (the union over its sources). */
  derived(host: string): readonly DerivedCheck[] { return this.hosts.get(host)?.derived ?? []; }

  /** The derived check of `host` whose events are named `service`, if any. */
  derivedCheck(host: string, service: string): DerivedCheck | undefined { return this.hosts.get(host)?.byService.get(service); }

  /** When some source first knew the host (the earliest over its sources), unix ms. */
  knownSince(host: string): number | undefined {
    const h = this.hosts.get(host);
    if (!h) return undefined;
    let t = Infinity;
    for (const s of h.sources.values()) t = Math.min(t, s.known_since);
    return t;
  }

  /** Sources of the host, in source order, with their states. */
  sourcesOf(host: string): SourceState[] {
    const h = this.hosts.get(host);
    if (!h) return [];
    return SOURCE_ORDER.flatMap((s) => { const x = h.sources.get(s); return x ? [x] : []; });
  }

  private host(name: string, create: boolean): HostDesired | undefined {
    let h = this.hosts.get(name);
    if (!h && create) { h = { host: name, sources: new Map(), derived: [], byService: new Map() }; this.hosts.set(name, h); }
    return h;
  }

  private rederive(h: HostDesired): void {
    h.derived = unionDerived(new Map([...h.sources].map(([s, x]) => [s, x.derived])));
    h.byService = new Map(h.derived.map((d) => [d.service, d]));
  }

  private async changed(host: string, before: readonly DerivedCheck[], after: readonly DerivedCheck[]): Promise<void> {
    const now = new Set(after.map((d) => d.service));
    const change: DesiredChange = { host, removed: before.filter((d) => !now.has(d.service)) };
    try { await this.o.onChange?.(change); } catch (err) { this.o.log.error({ err, host }, 'reacting to a desired-state change failed'); }
    for (const fn of this.listeners) {
      try { fn(change); } catch (err) { this.o.log.error({ err }, 'a desired-state listener failed'); }
    }
  }

  /** Validate and bound a state; keeps only the resource types checks are derived from. */
  private check(input: DesiredState): DesiredState {
    this.checkKeys(input);
    const r = desiredStateSchema.safeParse(input);
    if (!r.success) this.refuse('invalid', input, `the desired state is invalid: ${describeIssues(r.error)}`, 'BAD_REQUEST');
    const state = r.data as DesiredState;
    state.resources = state.resources.filter((x) => KEPT_TYPES.has(x.type));
    const c = this.o.config;
    if (state.resources.length > c.max_resources) {
      this.refuse('resources', state, `${state.host} from ${state.source} has ${state.resources.length} Service, Package, File, Mount and Cron resources; the server keeps at most ${c.max_resources} (server.classification.max_resources)`, 'CLASSIFICATION_TOO_LARGE');
    }
    const bytes = Buffer.byteLength(JSON.stringify(state));
    if (bytes > c.max_state_bytes) {
      this.refuse('bytes', state, `the desired state of ${state.host} from ${state.source} is ${bytes} bytes as JSON; the server keeps at most ${c.max_state_bytes} (server.classification.max_state_bytes)`, 'CLASSIFICATION_TOO_LARGE');
    }
    return state;
  }

  /** A desired state has eight keys: refuse an object of thousands before copying it or zod listing each. */
  private checkKeys(input: unknown): void {
    if (input === null || typeof input !== 'object') return;
    let keys = 0;
    for (const k in input) if (Object.hasOwn(input, k) && ++keys > MAX_KEYS) break;
    if (keys > MAX_KEYS) this.refuse('invalid', undefined, `the desired state is invalid: it has more than ${MAX_KEYS} keys; a desired state has host, source, origin, classes, roles, resources and facts`, 'BAD_REQUEST');
  }

  private refuse(reason: string, s: Partial<DesiredState> | undefined, message: string, code: 'BAD_REQUEST' | 'CLASSIFICATION_LIMIT' | 'CLASSIFICATION_TOO_LARGE'): never {
    this.refused.inc(1, { reason });
    const host = typeof s?.host === 'string' ? s.host.slice(0, 255) : undefined;
    this.warn.warn(`classification:${reason}`, { host, source: s?.source, error: message.slice(0, 500) }, 'desired state refused');
    throw new BlickError(code, message);
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn);
    this.chain = run.catch(() => undefined);
    return run;
  }
}
