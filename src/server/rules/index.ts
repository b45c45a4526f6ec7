import type { BlickEvent } from '../../core/event.js';
import type { RuleConfig, Severity } from './config.js';
import { compileExpr, type Expr, type ExprScope } from './expr.js';
import { FlapDetector } from './flap.js';
import { AggregateGroup, compileAggregate, type GroupLimitHit } from './aggregate.js';
import { anyGlob, glob, type Matcher } from '../../core/glob.js';

export { ruleSchema, rulesSchema, type RuleConfig, type Severity, SEVERITIES } from './config.js';
export { compileExpr, ExprError } from './expr.js';
export { AGGREGATE_FUNCTIONS } from './aggregate.js';

/** Failing members an aggregate alert's description names; the rest as "and N more". */
const DESCRIBED_MEMBERS = 10;

/** How much stored state history rebuilds flap histories and last states after a restart. */
const STATE_LOOKBACK_MS = 3_600_000;

/** What a rule says about one host+service after an event. */
export interface Signal {
  rule: Rule;
  host: string;
  service: string;
  /** whether the rule's condition holds now */
  active: boolean;
  event: BlickEvent;
  severity: Severity;
  /** a state_change rule saw a new non-ok state: notify again although already firing */
  renotify: boolean;
  /** an aggregate speaks for its group, not for the event that changed it */
  group?: { state: 'ok' | 'warning' | 'critical'; metric: number | null; description: string };
}

/**
 * What code adds to a configured rule of a given name (the built-in `classified`
 * rule only matches a host's derived checks, and names the resource): an extra
 * filter on the events it sees, and the description of its alerts.
 */
export interface RuleHooks {
  /** false: the rule does not see this event */
  accept?(e: Pick<BlickEvent, 'host' | 'service'>): boolean;
  /** the alert's description for this event (undefined: the usual one) */
  describe?(e: BlickEvent): string | undefined;
}

/** A rule compiled for matching: globs and expression built once. */
export class Rule {
  readonly name: string;
  readonly forMs: number;
  readonly kind: 'when' | 'expired' | 'state_change' | 'flapping' | 'aggregate';
  /** an aggregate's members; undefined for other rules */
  readonly group?: AggregateGroup;
  /** the host and service of an aggregate's alert: the host glob and the rule's name */
  readonly groupHost: string;
  /** the latest event of an aggregate's members, for its alert */
  lastEvent?: BlickEvent;
  private readonly host?: Matcher;
  private readonly service?: Matcher;
  private readonly tags?: Matcher[];
  readonly when?: Expr;
  private readonly windowMs?: number;
  private readonly flapLow: number;
  private readonly flapHigh: number;
  /** per host\0service: rate samples, flap histories, last states */
  private readonly samples = new Map<string, { t: number[]; v: number[] }>();
  private readonly flaps = new Map<string, FlapDetector>();
  private readonly last = new Map<string, string>();

  constructor(readonly config: RuleConfig, onLimit?: (rule: Rule, hit: GroupLimitHit) => void, private readonly hooks?: RuleHooks) {
    this.name = config.name;
    this.forMs = config.for;
    this.kind = config.aggregate !== undefined ? 'aggregate' : config.flapping ? 'flapping' : config.expired ? 'expired' : config.state_change ? 'state_change' : 'when';
    const h = config.match.host;
    this.groupHost = h === undefined ? '*' : typeof h === 'string' ? h : h.join(',');
    if (config.aggregate !== undefined) {
      this.group = new AggregateGroup(compileAggregate(config.aggregate), config.window,
        { members: config.max_members, windowEvents: config.max_window_events, bytes: config.max_bytes }, (hit) => onLimit?.(this, hit));
    }
    if (config.match.host !== undefined) this.host = anyGlob(config.match.host);
    if (config.match.service !== undefined) this.service = anyGlob(config.match.service);
    if (config.match.tags !== undefined) this.tags = (typeof config.match.tags === 'string' ? [config.match.tags] : config.match.tags).map(glob);
    if (config.when !== undefined) this.when = compileExpr(config.when);
    if (config.window !== undefined) this.windowMs = config.window;
    const f = typeof config.flapping === 'object' ? config.flapping : { low: 20, high: 30 };
    this.flapLow = f.low; this.flapHigh = f.high;
  }

  matches(e: Pick<BlickEvent, 'host' | 'service' | 'tags'>): boolean {
    if (this.host && !this.host(e.host)) return false;
    if (this.service && !this.service(e.service)) return false;
    if (this.tags) for (const m of this.tags) if (!e.tags.some(m)) return false;
    return this.hooks?.accept === undefined || this.hooks.accept(e);
  }

  /** The description of this rule's alert for event `e`: its hook's, the configured one, or the event's. */
  describe(e: BlickEvent): string {
    return this.hooks?.describe?.(e) ?? this.config.description ?? e.description;
  }

  /** Evaluate the rule for an event it matches (an aggregate only records it: see {@link groupSignal}). Never throws. */
  evaluate(e: BlickEvent): Signal | undefined {
    if (this.group) { this.group.record(e); this.lastEvent = e; return undefined; }
    const key = e.host + '\0' + e.service;
    const expired = e.attributes.expired === 'true' && e.source === 'server';
    let active: boolean;
    let renotify = false;
    switch (this.kind) {
      case 'expired':
        active = expired && (this.when ? this.when.test(this.scope(e, key)) : true);
        break;
      case 'flapping': {
        if (e.state === undefined) return undefined;
        let d = this.flaps.get(key);
        if (!d) { d = new FlapDetector(this.flapLow, this.flapHigh); this.flaps.set(key, d); }
        active = d.record(e.state);
        break;
      }
      case 'state_change': {
        if (e.state === undefined) return undefined;
        const prev = this.last.get(key);
        this.last.set(key, e.state);
        active = e.state !== 'ok' && (this.when ? this.when.test(this.scope(e, key, prev)) : true);
        renotify = active && prev !== undefined && prev !== e.state && prev !== 'ok';
        break;
      }
      default:
        active = this.when!.test(this.scope(e, key));
    }
    const severity: Severity = this.config.severity
      ?? (this.kind === 'flapping' ? 'warning' : e.state === 'warning' ? 'warning' : 'critical');
    return { rule: this, host: e.host, service: e.service, active, event: e, severity, renotify };
  }

  /** The aggregate's one signal for its group, `event` the latest that touched it. */
  groupSignal(event: BlickEvent): Signal {
    const r = this.group!.evaluate();
    const severity: Severity = this.config.severity ?? 'critical';
    const shown = r.failing.slice(0, DESCRIBED_MEMBERS).join(', ');
    const more = r.failing.length > DESCRIBED_MEMBERS ? ` and ${r.failing.length - DESCRIBED_MEMBERS} more` : '';
    const figures = this.group!.agg.calls.map((c, i) => `${c.fn} ${r.values[i] === null ? 'none' : +r.values[i]!.toFixed(2)}`).join(', ');
    const description = this.config.description
      ?? `${this.config.aggregate} ${r.active ? 'holds' : 'no longer holds'} over ${r.members} members of ${this.groupHost} ${this.config.match.service ?? '*'} (${figures})${r.failing.length > 0 ? `: ${shown}${more}` : ''}`;
    return {
      rule: this, host: this.groupHost, service: this.name, active: r.active, event, severity, renotify: false,
      group: { state: r.active ? (severity === 'warning' ? 'warning' : 'critical') : 'ok', metric: r.values[0] ?? null, description },
    };
  }

  /**
   * Whether the rule keeps memory per check that a restart would lose: rate
   * samples (`window`), the flap history, the last state (`state_change`).
   */
  get remembers(): boolean {
    return this.windowMs !== undefined || this.kind === 'flapping' || this.kind === 'state_change' || this.kind === 'aggregate';
  }

  /** How far back stored events rebuild that memory: the window, else an hour of state history. */
  get lookbackMs(): number {
    return Math.max(this.windowMs ?? 0, this.kind === 'flapping' || this.kind === 'state_change' ? STATE_LOOKBACK_MS : 0);
  }

  /** A state_change rule without history of a check takes its current state as the previous one. */
  seedState(c: SeedCheck): void {
    // an aggregate without a window counts every matching check as it is now
    if (this.group && this.windowMs === undefined && this.matches(c)) { this.group.record(c); return; }
    if (this.kind !== 'state_change' || c.state === null || !this.matches(c)) return;
    const key = c.host + '\0' + c.service;
    if (!this.last.has(key)) this.last.set(key, c.state);
  }

  /** Flap percentage of a check (for descriptions), or undefined. */
  flapPercent(host: string, service: string): number | undefined {
    return this.flaps.get(host + '\0' + service)?.percent;
  }

  private scope(e: BlickEvent, key: string, previous?: string): ExprScope {
    const s: ExprScope = { host: e.host, service: e.service, state: e.state ?? null, metric: e.metric ?? null, description: e.description, tags: e.tags, attributes: e.attributes, source: e.source };
    if (previous !== undefined) s.previous_state = previous;
    if (this.windowMs !== undefined && e.metric !== undefined) {
      let w = this.samples.get(key);
      if (!w) { w = { t: [], v: [] }; this.samples.set(key, w); }
      w.t.push(e.time); w.v.push(e.metric);
      let drop = 0;
      while (drop < w.t.length - 1 && w.t[drop]! < e.time - this.windowMs) drop++;
      if (drop > 0) { w.t.splice(0, drop); w.v.splice(0, drop); }
      const n = w.t.length;
      const dt = (w.t[n - 1]! - w.t[0]!) / 1000;
      if (n >= 2 && dt > 0) {
        let increase = 0;
        for (let i = 1; i < n; i++) { const d = w.v[i]! - w.v[i - 1]!; increase += d >= 0 ? d : w.v[i]!; }
        s.rate = increase / dt;
        s.derivative = (w.v[n - 1]! - w.v[0]!) / dt;
      }
    }
    return s;
  }
}

/** A check as the rules see it at start. */
export interface SeedCheck { host: string; service: string; tags: string[]; state: string | null; metric?: number | null; time: number; description?: string; attributes?: Record<string, string>; source?: string }

/** How the engine reports an aggregate that hit a bound. */
export type AggregateLimitHandler = (rule: Rule, hit: GroupLimitHit) => void;

/**
 * Evaluates every rule against every incoming event, synchronously in the
 * ingest subscriber: there is no evaluation loop, so an alert is known the
 * moment its event is committed.
 */
export class RuleEngine {
  readonly rules: Rule[];
  private readonly aggregates: Rule[];
  /** `hooks`: by rule name, what code adds to that rule (see {@link RuleHooks}) */
  constructor(configs: readonly RuleConfig[], onAggregateLimit?: AggregateLimitHandler, hooks?: Readonly<Record<string, RuleHooks>>) {
    this.rules = configs.map((c) => new Rule(c, onAggregateLimit, hooks?.[c.name]));
    this.aggregates = this.rules.filter((r) => r.group !== undefined);
  }

  /** How far back stored events are needed to rebuild the rules' memory after a restart (undefined: none is kept). */
  lookbackMs(): number | undefined {
    const rs = this.rules.filter((r) => r.remembers);
    return rs.length === 0 ? undefined : Math.max(...rs.map((r) => r.lookbackMs));
  }

  /**
   * Rebuilds the rules' memory at start: stored events (oldest first) are
   * evaluated as they were when they arrived, and the signals are dropped (the
   * alerts themselves are restored from the alert store). Then state_change
   * rules take the current state of checks without recent history.
   */
  warm(events: Iterable<BlickEvent>, checks: Iterable<SeedCheck> = []): void {
    const rs = this.rules.filter((r) => r.remembers);
    if (rs.length === 0) return;
    for (const e of events) for (const r of rs) if (r.matches(e)) r.evaluate(e);
    for (const c of checks) for (const r of rs) r.seedState(c);
  }

  get(name: string): Rule | undefined { return this.rules.find((r) => r.name === name); }

  /** The signals of a batch of events, in event order. */
  evaluate(events: readonly BlickEvent[]): Signal[] {
    const out: Signal[] = [];
    if (this.rules.length === 0) return out;
    // an aggregate evaluates once per batch that touched a member, after all of its events
    let touched: Map<Rule, BlickEvent> | undefined;
    for (const e of events) {
      for (const r of this.rules) {
        if (!r.matches(e)) continue;
        if (r.group) { (touched ??= new Map()).set(r, e); r.evaluate(e); continue; }
        const s = r.evaluate(e);
        if (s) out.push(s);
      }
    }
    if (touched) for (const [r, e] of touched) { r.group!.expire(e.time); out.push(r.groupSignal(e)); }
    return out;
  }

  /** Age the windows of aggregates to `now`: a signal for each whose window lost events. */
  expireWindows(now: number): Signal[] {
    const out: Signal[] = [];
    for (const r of this.aggregates) if (r.group!.expire(now) && r.lastEvent) out.push(r.groupSignal(r.lastEvent));
    return out;
  }

  /** When the next aggregate window loses an event, or undefined. */
  nextWindowExpiry(): number | undefined {
    let t: number | undefined;
    for (const r of this.aggregates) { const x = r.group!.nextExpiry(); if (x !== undefined && (t === undefined || x < t)) t = x; }
    return t;
  }
}
