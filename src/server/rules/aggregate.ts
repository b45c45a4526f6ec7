/**
 * Aggregate rules (Riemann's coalesce and window): one condition over a
 * group of checks, e.g. `count(state == "critical") >= 3`. The group's
 * members are the checks the rule matches; without a window each member
 * counts once with its latest state and metric, with a window every event of
 * the members within it counts.
 */
import { compileParsed, ExprError, num, parse, RULE_NAMES, truthy, type Expr, type ExprScope, type Node, type Value } from './expr.js';

/** The functions of an aggregate expression. */
export const AGGREGATE_FUNCTIONS = ['count', 'sum', 'avg', 'min', 'max', 'percent'] as const;
export type AggregateFunction = (typeof AGGREGATE_FUNCTIONS)[number];

/** What a member shows inside a function: a check's fields (rates and previous states are per-check rules' figures). */
export const MEMBER_NAMES = RULE_NAMES.filter((n) => n !== 'rate' && n !== 'derivative' && n !== 'previous_state');

/** One call in an aggregate: `fn(arg)` evaluated per member item. */
export interface AggregateCall { fn: AggregateFunction; arg: Expr; slot: string }

/** An aggregate expression compiled: its calls and the condition over their values. */
export interface CompiledAggregate {
  source: string;
  calls: AggregateCall[];
  condition: Expr;
  /** the names the calls read of a member (host, state, metric, …) */
  reads: ReadonlySet<string>;
}

/**
 * Compile an aggregate expression; names are read only inside the functions.
 * @throws ExprError naming the column (unknown function, name outside a function, …)
 * @example compileAggregate('percent(state != "ok") > 50')
 */
export function compileAggregate(src: string): CompiledAggregate {
  const tree = parse(src);
  const calls: { fn: AggregateFunction; node: Node; slot: string }[] = [];
  const visit = (n: Node): void => {
    switch (n.t) {
      case 'call': n.slot = `\0${calls.length}`; calls.push({ fn: n.fn as AggregateFunction, node: n.arg, slot: n.slot }); break;
      case 'list': n.items.forEach(visit); break;
      case 'not': case 'neg': visit(n.x); break;
      case 'match': visit(n.a); break;
      case 'lit': case 'name': break;
      default: visit(n.a); visit(n.b);
    }
  };
  visit(tree);
  const condition = compileParsed(tree, src, { names: MEMBER_NAMES, functions: AGGREGATE_FUNCTIONS });
  if (calls.length === 0) throw new ExprError('an aggregate needs a function (count, sum, avg, min, max, percent)', 0, src);
  const compiled = calls.map((c) => ({ fn: c.fn, slot: c.slot, arg: compileParsed(c.node, src) }));
  const reads = new Set<string>();
  for (const c of compiled) for (const n of c.arg.names) reads.add(n);
  return { source: src, calls: compiled, condition, reads };
}

/**
 * The value of one function over items: count and percent count the items
 * where the argument holds; sum, avg, min, max take its numeric values
 * (null when there are none).
 */
export function aggregateValue(fn: AggregateFunction, values: readonly Value[]): number | null {
  if (fn === 'count' || fn === 'percent') {
    let n = 0;
    for (const v of values) if (truthy(v)) n++;
    return fn === 'count' ? n : values.length === 0 ? null : (100 * n) / values.length;
  }
  let n = 0, sum = 0, min = Infinity, max = -Infinity;
  for (const v of values) {
    const x = num(v);
    if (x === undefined || !Number.isFinite(x)) continue;
    n++; sum += x;
    if (x < min) min = x;
    if (x > max) max = x;
  }
  if (n === 0) return fn === 'sum' ? 0 : null;
  return fn === 'sum' ? sum : fn === 'avg' ? sum / n : fn === 'min' ? min : max;
}

/** A member's figures as the expression sees them (only the names it reads, to bound memory). */
interface Item { time: number; scope: ExprScope; bytes: number }
interface Member { host: string; service: string; latest: Item; window: Item[] }

/** What a member event brings: an event or a check at start. */
export interface MemberEvent {
  host: string; service: string; time: number;
  state?: string | null | undefined; metric?: number | null | undefined;
  description?: string; tags?: readonly string[]; attributes?: Readonly<Record<string, string>>; source?: string;
}

/** The bounds of one group. */
export interface GroupLimits {
  /** members (checks) kept; more are refused and counted */
  members: number;
  /** events kept in the window, over all members; the oldest are dropped and counted */
  windowEvents: number;
  /** estimated bytes of everything kept; beyond, new members are refused and window events dropped */
  bytes: number;
}

/** The outcome of evaluating a group. */
export interface GroupResult {
  active: boolean;
  /** each call's value, in order */
  values: (number | null)[];
  members: number;
  /** members where a count/percent argument holds (or whose state is not ok when there is none), sorted */
  failing: string[];
}

/** Why a group dropped something, for the counter and the log. */
export type GroupLimitHit = 'members' | 'window_events' | 'bytes';

function itemBytes(s: ExprScope): number {
  let b = 64;
  for (const v of Object.values(s)) {
    if (typeof v === 'string') b += v.length * 2;
    else if (Array.isArray(v)) for (const x of v) b += 16 + String(x).length * 2;
    else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) b += 32 + (k.length + String(x).length) * 2;
    else b += 8;
  }
  return b;
}

/**
 * The members of one aggregate rule, kept as a map by host+service so an
 * event updates its member without a scan of all checks; evaluating a group
 * walks its members (or its window).
 */
export class AggregateGroup {
  private readonly members = new Map<string, Member>();
  private windowCount = 0;
  private bytes = 0;

  constructor(
    readonly agg: CompiledAggregate,
    private readonly windowMs: number | undefined,
    private readonly limits: GroupLimits,
    private readonly onLimit: (hit: GroupLimitHit) => void = () => undefined,
  ) {}

  get size(): number { return this.members.size; }
  get windowSize(): number { return this.windowCount; }
  get estimatedBytes(): number { return this.bytes; }

  /** Record a member's event. A metric-only event keeps the member's state, and a state-only one its metric (as the check does). */
  record(e: MemberEvent): void {
    const key = e.host + '\0' + e.service;
    let m = this.members.get(key);
    const prev = m?.latest.scope;
    const scope = this.scopeOf(e, prev);
    const item: Item = { time: e.time, scope, bytes: itemBytes(scope) };
    if (!m) {
      if (this.members.size >= this.limits.members) { this.onLimit('members'); return; }
      if (this.bytes + item.bytes > this.limits.bytes) { this.onLimit('bytes'); return; }
      m = { host: e.host, service: e.service, latest: item, window: [] };
      this.members.set(key, m);
      this.bytes += item.bytes;
    } else {
      this.bytes += item.bytes - m.latest.bytes;
      m.latest = item;
    }
    if (this.windowMs === undefined) return;
    let hit: GroupLimitHit | undefined;
    while (this.windowCount >= this.limits.windowEvents || this.bytes + item.bytes > this.limits.bytes) {
      hit ??= this.windowCount >= this.limits.windowEvents ? 'window_events' : 'bytes';
      if (!this.dropOldest()) break;
    }
    if (hit) this.onLimit(hit);
    if (this.windowCount >= this.limits.windowEvents || this.bytes + item.bytes > this.limits.bytes) return;
    m.window.push(item);
    this.windowCount++;
    this.bytes += item.bytes;
  }

  /** Drop window events older than `now - window`. Returns whether anything left. */
  expire(now: number): boolean {
    if (this.windowMs === undefined) return false;
    const cut = now - this.windowMs;
    let dropped = false;
    for (const m of this.members.values()) {
      let i = 0;
      while (i < m.window.length && m.window[i]!.time < cut) { this.bytes -= m.window[i]!.bytes; i++; }
      if (i > 0) { m.window.splice(0, i); this.windowCount -= i; dropped = true; }
    }
    return dropped;
  }

  /** When the oldest window event leaves the window, or undefined. */
  nextExpiry(): number | undefined {
    if (this.windowMs === undefined) return undefined;
    let t: number | undefined;
    for (const m of this.members.values()) { const o = m.window[0]; if (o && (t === undefined || o.time < t)) t = o.time; }
    return t === undefined ? undefined : t + this.windowMs;
  }

  /** Evaluate the aggregate over the members (latest values) or the window's events. */
  evaluate(): GroupResult {
    const { calls, condition } = this.agg;
    const columns: Value[][] = calls.map(() => []);
    const failing = new Set<string>();
    const predicates = calls.map((c) => c.fn === 'count' || c.fn === 'percent');
    const anyPredicate = predicates.some(Boolean);
    for (const m of this.members.values()) {
      const items = this.windowMs === undefined ? [m.latest] : m.window;
      for (const it of items) {
        let fails = false;
        calls.forEach((c, i) => {
          const v = c.arg.value(it.scope);
          columns[i]!.push(v);
          if (predicates[i] && truthy(v)) fails = true;
        });
        if (!anyPredicate) fails = it.scope.state !== undefined && it.scope.state !== null && it.scope.state !== 'ok';
        if (fails) failing.add(`${m.host} ${m.service}`);
      }
    }
    const values = calls.map((c, i) => aggregateValue(c.fn, columns[i]!));
    const scope: ExprScope = {};
    calls.forEach((c, i) => { scope[c.slot] = values[i]; });
    return { active: condition.test(scope), values, members: this.members.size, failing: [...failing].sort() };
  }

  private dropOldest(): boolean {
    let oldest: Member | undefined;
    for (const m of this.members.values()) { const o = m.window[0]; if (o && (!oldest || o.time < oldest.window[0]!.time)) oldest = m; }
    if (!oldest) return false;
    this.bytes -= oldest.window.shift()!.bytes;
    this.windowCount--;
    return true;
  }

  private scopeOf(e: MemberEvent, prev: ExprScope | undefined): ExprScope {
    const reads = this.agg.reads;
    // host, service and state are kept always: the description lists failing members by them
    const s: ExprScope = { host: e.host, service: e.service, state: e.state ?? prev?.state ?? null };
    if (reads.has('metric')) s.metric = e.metric ?? prev?.metric ?? null;
    if (reads.has('description')) s.description = e.description ?? '';
    if (reads.has('tags')) s.tags = e.tags ?? [];
    if (reads.has('attributes')) s.attributes = e.attributes ?? {};
    if (reads.has('source')) s.source = e.source;
    return s;
  }
}
