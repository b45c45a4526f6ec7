import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { api, metric, serverForTest } from './fixtures/blick.js';

const json = { 'content-type': 'application/json' };

interface Bucket { time: number; count: number; min: number; max: number; avg: number; last: number }

/** The buckets computed the obvious way from GET /api/v1/events (newest arrival first). */
function naive(events: { time: number; metric?: number }[], from: number, to: number, step: number): Bucket[] {
  const out = new Map<number, Bucket & { lastTime: number }>();
  for (const e of events) {
    if (typeof e.metric !== 'number' || e.time < from || e.time >= to) continue;
    const i = Math.floor((e.time - from) / step);
    const b = out.get(i) ?? { time: from + i * step, count: 0, min: Infinity, max: -Infinity, avg: 0, last: e.metric, lastTime: -Infinity };
    b.count++; b.avg += e.metric; b.min = Math.min(b.min, e.metric); b.max = Math.max(b.max, e.metric);
    if (e.time > b.lastTime) { b.last = e.metric; b.lastTime = e.time; }
    out.set(i, b);
  }
  return [...out.values()].sort((a, b) => a.time - b.time).map(({ lastTime: _, ...b }) => ({ ...b, avg: b.avg / b.count }));
}

test('GET /api/v1/series buckets agree with min/max/avg/count/last computed from the events API', async (t) => {
  const { server: s } = await serverForTest(t);
  const base = Date.now() - 3_600_000;
  let run = 0;
  await fc.assert(fc.asyncProperty(
    fc.array(fc.record({ dt: fc.integer({ min: 0, max: 120 }).map((k) => k * 5000), metric: fc.option(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { nil: undefined }) }), { maxLength: 60 }),
    fc.integer({ min: 0, max: 300_000 }), fc.integer({ min: 1_000, max: 700_000 }), fc.integer({ min: 1_000, max: 120_000 }),
    async (points, offset, span, step) => {
      const service = `load-${run++}`;
      if (points.length > 0) {
        const events = points.map((p) => ({ host: 'web-1', service, time: base + p.dt, ...(p.metric === undefined ? { state: 'ok' } : { metric: p.metric }) }));
        assert.equal((await api(s.url, '/api/v1/events', { method: 'POST', headers: json, body: JSON.stringify({ events }) })).status, 202);
      }
      const from = base + offset, to = from + span;
      const history = await api(s.url, `/api/v1/events?host=web-1&service=${service}&limit=10000`);
      const got = await api(s.url, `/api/v1/series?host=web-1&service=${service}&from=${from}&to=${to}&step=${step}`);
      assert.equal(got.status, 200, JSON.stringify(got.body));
      assert.equal(got.body.complete, true);
      const want = naive(history.body, from, to, step);
      assert.equal(got.body.points.length, want.length);
      got.body.points.forEach((b: Bucket, i: number) => {
        const w = want[i]!;
        assert.deepEqual({ ...b, avg: 0 }, { ...w, avg: 0 });
        assert.ok(Math.abs(b.avg - w.avg) <= 1e-9 * Math.max(1, Math.abs(w.avg)), `avg ${b.avg} vs ${w.avg}`);
      });
    }), { numRuns: 40 });
});

test('GET /api/v1/series takes RFC 3339, unix ms and durations before now, and refuses a step that makes too many points', async (t) => {
  const { server: s } = await serverForTest(t, { limits: { series_max_points: 100 } });
  const now = Date.now();
  const events = [0, 1, 2, 3].map((k) => ({ host: 'db', service: 'load', metric: k, time: now - 30 * 60_000 + k * 60_000 }));
  assert.equal((await api(s.url, '/api/v1/events', { method: 'POST', headers: json, body: JSON.stringify(events) })).status, 202);
  const iso = new Date(now + 60_000).toISOString();
  const r = await api(s.url, `/api/v1/series?host=db&service=load&from=1h&to=${encodeURIComponent(iso)}&step=10m`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.step, 600_000);
  assert.deepEqual(r.body.points.reduce((n: number, b: Bucket) => n + b.count, 0), 4);
  assert.equal(Math.max(...r.body.points.map((b: Bucket) => b.max)), 3);

  const small = await api(s.url, '/api/v1/series?host=db&service=load&from=24h&step=1m');
  assert.equal(small.status, 400);
  assert.equal(small.body.error.code, 'BAD_REQUEST');
  assert.match(small.body.error.message, /1440 points, more than 100 \(server\.limits\.series_max_points\); use step=864000 or more/);
  const upToNow = await api(s.url, `/api/v1/series?host=db&service=load&from=${now - 3_600_000}&to=now&step=1h`);
  assert.deepEqual(upToNow.body.points.map((b: Bucket) => b.count), [4]);
  const bad = await api(s.url, '/api/v1/series?host=db&service=load&from=yesterday');
  assert.equal(bad.status, 400);
  assert.match(bad.body.error.message, /parameter from: expected unix milliseconds .*RFC 3339.* got "yesterday"/);
  const badStep = await api(s.url, '/api/v1/series?host=db&service=load&step=0');
  assert.equal(badStep.status, 400);
  assert.match(badStep.body.error.message, /parameter step: expected milliseconds or a duration/);
  assert.equal(metric((await api<string>(s.url, '/metrics')).body, 'blick_series_points_refused_total'), 1);
});

test('GET /api/v1/series within query_scan_rows answers the newest buckets and says it is partial', async (t) => {
  const { server: s } = await serverForTest(t, { limits: { query_scan_rows: 10 } });
  const now = Date.now();
  const events = Array.from({ length: 50 }, (_, k) => ({ host: 'db', service: 'load', metric: k, time: now - 50_000 + k * 1000 }));
  assert.equal((await api(s.url, '/api/v1/events', { method: 'POST', headers: json, body: JSON.stringify(events) })).status, 202);
  const r = await api(s.url, `/api/v1/series?host=db&service=load&from=${now - 60_000}&to=${now}&step=1000`);
  assert.equal(r.status, 200);
  assert.equal(r.body.complete, false);
  assert.ok(r.body.points.length < 50 && r.body.points.length > 0);
  assert.equal(r.body.points.at(-1).last, 49, 'the newest values are the ones read');
  assert.equal(metric((await api<string>(s.url, '/metrics')).body, 'blick_query_budget_exhausted_total{by="rows"}'), 1);
});

test('any from, to or step text gets a 200 or a 400 naming the parameter, never a 500', async (t) => {
  const { server: s } = await serverForTest(t);
  await fc.assert(fc.asyncProperty(fc.constantFrom('from', 'to', 'step'), fc.oneof(fc.string({ maxLength: 24 }), fc.stringMatching(/^-?\d{1,6}(ms|s|m|h|d|w)?$/)), async (name, text) => {
    const r = await api(s.url, `/api/v1/series?host=db&service=load&${name}=${encodeURIComponent(text)}`);
    assert.ok(r.status === 200 || r.status === 400, `${name}=${JSON.stringify(text)}: ${r.status} ${JSON.stringify(r.body)}`);
    if (r.status === 400) assert.match(r.body.error.message, new RegExp(`^parameter (${name}|from|step): `));
  }), { numRuns: 150 });
});
