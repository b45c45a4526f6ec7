import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { AggregateGroup, compileAggregate, type GroupLimitHit, type MemberEvent } from './aggregate.js';
import { ExprError } from './expr.js';

const ALL = 'count(state == "critical") >= 3 or sum(metric) > 0 or avg(metric) > 0 or min(metric) > 0 or max(metric) > 0 or percent(state != "ok") > 50';
const WIDE = { members: 1_000, windowEvents: 10_000, bytes: 64 * 1024 * 1024 };

/** The six figures of ALL computed the obvious way from a list of member snapshots. */
function naive(items: { state: string | null; metric: number | null }[]): (number | null)[] {
  const metrics = items.map((i) => i.metric).filter((m): m is number => m !== null);
  const sum = metrics.reduce((a, b) => a + b, 0);
  return [
    items.filter((i) => i.state === 'critical').length,
    sum,
    metrics.length ? sum / metrics.length : null,
    metrics.length ? Math.min(...metrics) : null,
    metrics.length ? Math.max(...metrics) : null,
    items.length ? (100 * items.filter((i) => i.state !== 'ok').length) / items.length : null,
  ];
}

function close(a: (number | null)[], b: (number | null)[]): boolean {
  return a.length === b.length && a.every((x, i) => (x === null || b[i] === null ? x === b[i] : Math.abs(x - b[i]!) <= 1e-9 * Math.max(1, Math.abs(x))));
}

const event = fc.record({
  host: fc.constantFrom('web-1', 'web-2', 'web-3', 'web-4', 'web-5'),
  state: fc.option(fc.constantFrom('ok', 'warning', 'critical', 'unknown'), { nil: undefined }),
  metric: fc.option(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { nil: undefined }),
  dt: fc.integer({ min: 0, max: 30_000 }),
});

/** Snapshots as a check keeps them: a metric-only event keeps the state, a state-only one the metric. */
function snapshots(evs: { host: string; state?: string | undefined; metric?: number | undefined; dt: number }[]) {
  const latest = new Map<string, { state: string | null; metric: number | null }>();
  const all: { host: string; t: number; state: string | null; metric: number | null }[] = [];
  let t = 0;
  for (const e of evs) {
    t += e.dt;
    const prev = latest.get(e.host);
    const s = { state: e.state ?? prev?.state ?? null, metric: e.metric ?? prev?.metric ?? null };
    latest.set(e.host, s);
    all.push({ host: e.host, t, ...s });
  }
  return { latest: [...latest.values()], all, end: t };
}

function feed(g: AggregateGroup, evs: { host: string; state?: string | undefined; metric?: number | undefined; dt: number }[]): void {
  let t = 0;
  for (const e of evs) { t += e.dt; g.record({ host: e.host, service: 'http', time: t, state: e.state, metric: e.metric }); }
}

test('property: without a window, every function over the members equals the naive computation over their latest values', () => {
  const agg = compileAggregate(ALL);
  const three = compileAggregate('count(state == "critical") >= 3');
  fc.assert(fc.property(fc.array(event, { maxLength: 60 }), (evs) => {
    const g = new AggregateGroup(agg, undefined, WIDE);
    feed(g, evs);
    const want = naive(snapshots(evs).latest);
    const got = g.evaluate().values;
    assert.ok(close(got, want), `got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
    const g3 = new AggregateGroup(three, undefined, WIDE);
    feed(g3, evs);
    assert.equal(g3.evaluate().active, want[0]! >= 3);
  }), { numRuns: 300 });
});

test('property: with a window, the functions run over the events within it, and the rest have left', () => {
  const agg = compileAggregate(ALL);
  fc.assert(fc.property(fc.array(event, { maxLength: 60 }), fc.integer({ min: 1, max: 60_000 }), (evs, windowMs) => {
    const g = new AggregateGroup(agg, windowMs, WIDE);
    feed(g, evs);
    const { all, end } = snapshots(evs);
    g.expire(end);
    // the group walks members in first-seen order, each member's events oldest first
    const order = [...new Set(all.map((a) => a.host))];
    const inWindow = order.flatMap((h) => all.filter((a) => a.host === h && a.t >= end - windowMs));
    const got = g.evaluate().values;
    const want = naive(inWindow);
    assert.ok(close(got, want), `got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
    assert.equal(g.windowSize, inWindow.length);
  }), { numRuns: 300 });
});

test('the failing members are named, sorted, for the description', () => {
  const g = new AggregateGroup(compileAggregate('count(state == "critical") >= 2'), undefined, WIDE);
  for (const [host, state] of [['web-3', 'critical'], ['web-1', 'critical'], ['web-2', 'ok']] as const) g.record({ host, service: 'http', time: 1, state });
  const r = g.evaluate();
  assert.equal(r.active, true);
  assert.deepEqual(r.failing, ['web-1 http', 'web-3 http']);
  assert.equal(r.members, 3);
});

test('members beyond max_members are refused and reported; window events beyond max_window_events drop the oldest', () => {
  const hits: GroupLimitHit[] = [];
  const g = new AggregateGroup(compileAggregate('count(state == "critical") >= 1'), undefined, { ...WIDE, members: 3 }, (h) => hits.push(h));
  for (let i = 0; i < 5; i++) g.record({ host: `web-${i}`, service: 'http', time: i, state: 'critical' });
  assert.equal(g.size, 3);
  assert.deepEqual(hits, ['members', 'members']);
  g.record({ host: 'web-0', service: 'http', time: 9, state: 'ok' });
  assert.equal(g.evaluate().values[0], 2, 'a known member still updates at the bound');

  const w: GroupLimitHit[] = [];
  const win = new AggregateGroup(compileAggregate('count(state == "critical") >= 1'), 60_000, { ...WIDE, windowEvents: 4 }, (h) => w.push(h));
  const evs: MemberEvent[] = [1, 2, 3, 4, 5, 6].map((t) => ({ host: `web-${t % 2}`, service: 'http', time: t, state: t <= 2 ? 'critical' : 'ok' }));
  for (const e of evs) win.record(e);
  assert.equal(win.windowSize, 4);
  assert.equal(win.evaluate().values[0], 0, 'the two oldest (critical) events went first');
  assert.deepEqual(w, ['window_events', 'window_events']);
});

test('the byte bound refuses members whose kept text would exceed it', () => {
  const hits: GroupLimitHit[] = [];
  const g = new AggregateGroup(compileAggregate('count(description != "") >= 1'), undefined, { ...WIDE, bytes: 10_000 }, (h) => hits.push(h));
  for (let i = 0; i < 10; i++) g.record({ host: `web-${i}`, service: 'http', time: i, description: 'x'.repeat(2_000) });
  assert.ok(g.size < 10 && g.estimatedBytes <= 10_000, `kept ${g.size} members in ${g.estimatedBytes} bytes`);
  assert.ok(hits.includes('bytes'));
});

test('compileAggregate refuses unknown functions, names outside a function, nested functions, and no function at all', () => {
  const cases: [string, RegExp][] = [
    ['cnt(state == "critical") >= 3', /unknown function "cnt" \(did you mean "count"\?/],
    ['average(metric) > 80', /unknown function "average" \(.*the functions are count, sum, avg, min, max, percent\)/],
    ['count(stat == "critical") >= 3', /unknown name "stat" \(did you mean "state"\?/],
    ['count(state == "critical") >= 3 and host == "web-1"', /"host" outside an aggregate function/],
    ['count(count(metric > 1) > 0) > 1', /inside another aggregate function/],
    ['state == "critical"', /outside an aggregate function/],
    ['3 > 2', /needs a function/],
    ['count(rate > 10) > 1', /unknown name "rate"/],
  ];
  for (const [src, re] of cases) {
    assert.throws(() => compileAggregate(src), (err: unknown) => err instanceof ExprError && re.test(err.message), src);
  }
});
