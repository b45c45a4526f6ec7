import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import fc from 'fast-check';
import { createLogger } from '../src/core/log.js';
import type { BlickEvent } from '../src/core/event.js';
import { Producer } from '../src/transport/producer.js';
import { api, deferrals, metric, serverForTest, startServer, tempDir, until, listAll } from './fixtures/blick.js';
import { hostGoneServer, post, withHook } from './alerting/hook.js';

// Issue #11, items 5, 6 and 8: every edge (HTTP API, ZeroMQ ingest) applies the same event rules.

const quiet = createLogger('test', { level: 'silent' });

async function postRaw(url: string, body: string): Promise<{ status: number; body: any }> {
  const res = await fetch(url + '/api/v1/events', { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text) };
}
const postJson = (url: string, events: unknown[]) => postRaw(url, JSON.stringify({ events }));

async function checksOf(url: string, host: string): Promise<Record<string, any>> {
  const list = (await api<any[]>(url, `/api/v1/checks?host=${encodeURIComponent(host)}`)).body;
  return Object.fromEntries(list.map((c) => [c.service, c]));
}

test('API: a host with a lone surrogate or a control character is refused with a 400 naming it; text is repaired; after a restart the host still commits', async (t) => {
  const defer = deferrals(t);
  const { dir, cleanup } = tempDir();
  defer(cleanup);
  let server = await startServer({ dataDir: dir });
  defer(() => server.stop());

  for (const [i, host] of ['web-\uD800', 'web-01\u0000', 'web-\u001b[31m'].entries()) {
    const r = await postJson(server.url, [{ host: 'web-01', service: 'cpu', state: 'ok' }, { host, service: 'disk' }]);
    assert.equal(r.status, 400, `host ${JSON.stringify(host)}`);
    assert.equal(r.body.error.code, 'EVENT_INVALID');
    assert.match(r.body.error.message, /^events\[1\]: event field "host" /, `case ${i}`);
  }
  const svc = await postJson(server.url, [{ host: 'web-01', service: 'disk \uDC00' }]);
  assert.equal(svc.status, 400);
  assert.match(svc.body.error.message, /"service" is not well-formed/);
  assert.deepEqual(await checksOf(server.url, 'web-01'), {}, 'a refused request stores none of its events');

  const ok = await postJson(server.url, [
    { host: 'web-01', service: 'disk', state: 'ok', description: 'disk \uD800 fine', attributes: { mount: '/var\uDFFF' } },
    { host: 'web-01', service: 'cpu', state: 'ok' },
  ]);
  assert.equal(ok.status, 202);
  const before = await checksOf(server.url, 'web-01');
  assert.equal(before.disk.description, 'disk \uFFFD fine');
  assert.equal(before.disk.attributes.mount, '/var\uFFFD');

  await server.stop();
  server = await startServer({ dataDir: dir });
  const again = await postJson(server.url, [
    { host: 'web-01', service: 'disk', state: 'critical', description: 'disk \uD800 full', attributes: { mount: '/var\uDFFF' } },
    { host: 'web-01', service: 'cpu', state: 'warning' },
    { host: 'web-01', service: 'mem', state: 'ok' },
  ]);
  assert.equal(again.status, 202, JSON.stringify(again.body));
  const after = await checksOf(server.url, 'web-01');
  assert.deepEqual(Object.keys(after).sort(), ['cpu', 'disk', 'mem']);
  assert.deepEqual([after.disk.state, after.cpu.state, after.disk.description], ['critical', 'warning', 'disk \uFFFD full']);
});

test('ZeroMQ: a real producer\'s bad events are rejected in the ack, the rest stored; a clock 1 h ahead is clamped; after a restart the host still commits', async (t) => {
  const defer = deferrals(t);
  const { dir, cleanup } = tempDir();
  defer(cleanup);
  let server = await startServer({ dataDir: join(dir, 'server') });
  defer(() => server.stop());
  const endpoint = server.receiver.endpoint;
  const producer = new Producer({ upstreams: [endpoint], spoolDir: join(dir, 'spool'), producer: 'edge-test', log: quiet, ackTimeoutMs: 500 });
  await producer.start();
  defer(() => producer.stop());

  // raw events, as a producer in another language (or an older agent) could send them
  const ev = (service: string, over: Partial<BlickEvent> = {}): BlickEvent => ({ id: `id-${service}`, host: 'zmq-01', service, state: 'ok', description: '', tags: [], attributes: {}, time: Date.now(), source: 'agent', ...over });
  const t0 = Date.now();
  const aheadBy1h = t0 + 3_600_000;
  for (const e of [
    ev('good-1'),
    ev('surrogate', { host: 'zmq-\uD800' }),
    ev('nul', { host: 'zmq-01\u0000' }),
    ev('forged-server', { source: 'server', state: 'critical', attributes: { expired: 'true' } }),
    ev('forged-api', { source: 'api' }),
    ev('infinite', { metric: Infinity }),
    ev('clock-ahead', { time: aheadBy1h }),
    ev('good-2', { source: 'relay' }),
  ]) producer.send(e);
  await producer.drained();
  const t1 = Date.now();
  assert.deepEqual({ acked: producer.stats.eventsAcked, rejected: producer.stats.eventsRejected }, { acked: 3, rejected: 5 });

  const checks = await checksOf(server.url, 'zmq-01');
  assert.deepEqual(Object.keys(checks).sort(), ['clock-ahead', 'good-1', 'good-2']);
  const clamped = checks['clock-ahead'];
  assert.ok(clamped.time >= t0 && clamped.time <= t1, `time ${clamped.time} set to the receive time`);
  assert.equal(clamped.attributes.producer_time, String(aheadBy1h));
  assert.equal(checks['good-2'].source, 'relay');
  const m = await (await fetch(server.url + '/metrics')).text();
  assert.equal(metric(m, 'blick_ingest_events_rejected_total'), 5);
  assert.equal(metric(m, 'blick_events_time_clamped_total{edge="ingest"}'), 1);

  await server.stop();
  server = await startServer({ dataDir: join(dir, 'server'), config: { ingest: endpoint } });
  producer.send(ev('good-1', { id: 'id-after-1', state: 'critical' }));
  producer.send(ev('surrogate', { id: 'id-after-2', host: 'zmq-\uD800' }));
  await producer.drained();
  assert.deepEqual({ acked: producer.stats.eventsAcked, rejected: producer.stats.eventsRejected }, { acked: 4, rejected: 6 });
  assert.equal((await checksOf(server.url, 'zmq-01'))['good-1'].state, 'critical');
});

test('API: a forged source "server" with expired: true fires no host-gone alert; the event is stored as source api', async (t) => {
  const { defer, dir, hook } = await withHook(t);
  const server = await hostGoneServer(defer, dir, hook);
  await post(server.url, [{ host: 'victim-01', service: 'heartbeat', state: 'critical', source: 'server', attributes: { expired: 'true' }, description: 'expired: forged' }]);
  // a real expiry after the forged event: once its alert arrives, the forged one would have too
  await post(server.url, [{ host: 'canary-01', service: 'heartbeat', state: 'ok', ttl: 1 }]);
  await until(() => hook.of('host-gone', 'firing', 'canary-01')[0], 'the canary\'s real host-gone alert');

  assert.deepEqual(hook.hits.filter((h) => h.body?.host === 'victim-01').map((h) => h.body.status), [], 'no notification for the forged event');
  const alerts = (await api<any[]>(server.url, '/api/v1/alerts')).body;
  assert.deepEqual(alerts.map((a) => [a.rule, a.host]), [['host-gone', 'canary-01']]);
  const events = (await listAll<any>(server.url, '/api/v1/events?host=victim-01'));
  assert.deepEqual(events.map((e) => [e.source, e.attributes.expired]), [['api', 'true']]);
});

test('API: absurd values: a time of 1e17 is clamped (its batch kept), metric and ttl 1e309 are refused, silences are bounded to a year', async (t) => {
  const { server } = await serverForTest(t);
  const t0 = Date.now();
  const r = await postJson(server.url, [{ host: 'abs-01', service: 'future', state: 'ok', time: 1e17 }, { host: 'abs-01', service: 'normal', state: 'ok' }]);
  const t1 = Date.now();
  assert.equal(r.status, 202);
  const events = (await listAll<any>(server.url, '/api/v1/events?host=abs-01'));
  assert.equal(events.length, 2, 'both events of the batch are listed');
  const future = events.find((e) => e.service === 'future');
  assert.ok(future.time >= t0 && future.time <= t1, `time ${future.time}`);
  assert.equal(future.attributes.producer_time, '100000000000000000');
  const m = await (await fetch(server.url + '/metrics')).text();
  assert.equal(metric(m, 'blick_events_time_clamped_total{edge="api"}'), 1);

  for (const [field, literal] of [['metric', '1e309'], ['metric', '-1e309'], ['ttl', '1e309']] as const) {
    const bad = await postRaw(server.url, `{"events":[{"host":"abs-01","service":"m","${field}":${literal}}]}`);
    assert.equal(bad.status, 400, `${field} ${literal}`);
    assert.match(bad.body.error.message, new RegExp(`events\\[0\\]: event field "${field}"`));
  }

  const silence = (b: Record<string, unknown>) => api(server.url, '/api/v1/silences', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ matchers: { host: 'abs-01' }, reason: 'test', ...b }) });
  for (const b of [{ duration: '99999999999999999999h' }, { duration: '367d' }, { endsAt: Date.now() + 2 * 366 * 86_400_000 }, { endsAt: 8.64e15 }]) {
    const s = await silence(b);
    assert.equal(s.status, 400, JSON.stringify(b));
    assert.equal(s.body.error.code, 'BAD_REQUEST');
  }
  assert.equal((await silence({ duration: '2h' })).status, 201);
  assert.equal((await silence({ duration: '365d' })).status, 201);
});

test('server.limits.max_future_skew: with 2h, an agent 1 h ahead keeps its time', async (t) => {
  const { server } = await serverForTest(t, { limits: { max_future_skew: '2h' } });
  const ahead = Date.now() + 3_600_000;
  assert.equal((await postJson(server.url, [{ host: 'skew-01', service: 's', time: ahead }])).status, 202);
  const [e] = (await listAll<any>(server.url, '/api/v1/events?host=skew-01'));
  assert.deepEqual([e.time, e.attributes.producer_time], [ahead, undefined]);
});

const hostileString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.string({ unit: fc.constantFrom('a', '\uD800', '\uDC00', '\u0000', '\u001b', '\uFFFD'), maxLength: 8 }),
  fc.constantFrom('web-01', 'cpu', '__proto__', 'constructor', ''),
);
const hostileValue = fc.oneof(hostileString, fc.double(), fc.constantFrom(1e17, -1, 2 ** 64), fc.jsonValue({ maxDepth: 2 }));
const hostileEvent = fc.record({
  host: hostileString, service: hostileString, state: fc.oneof(fc.constantFrom('ok', 'critical'), hostileValue),
  metric: hostileValue, description: hostileValue, tags: fc.oneof(fc.array(hostileString, { maxLength: 3 }), hostileValue),
  attributes: fc.oneof(fc.dictionary(hostileString, hostileString, { maxKeys: 3 }), hostileValue), time: hostileValue, ttl: hostileValue, source: hostileValue, id: hostileValue,
}, { requiredKeys: [] });
// JSON literals JSON.stringify cannot write: numbers beyond double, and bodies that are not JSON at all
const hostileBody = fc.oneof(
  fc.array(hostileEvent, { maxLength: 4 }).map((events) => JSON.stringify({ events })),
  fc.array(hostileEvent, { maxLength: 4 }).map((events) => JSON.stringify(events)),
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.constantFrom('{"events":[{"host":"h","service":"s","metric":1e309}]}', '{"events":[{"host":"h","service":"s","time":-1e400}]}', '{"events":', 'null', '"\\ud800"', '[[[]]]'),
  fc.string({ unit: 'binary', maxLength: 60 }),
);

function assertJsonAnswer(status: number, body: string, what: string): void {
  assert.ok(status < 500, `${what}: answered ${status}: ${body}`);
  const parsed = JSON.parse(body);
  if (status === 202) assert.equal(typeof parsed.accepted, 'number', what);
  else {
    assert.ok(status >= 400, `${what}: ${status}`);
    assert.ok(typeof parsed.error?.code === 'string' && typeof parsed.error?.message === 'string', `${what}: ${body}`);
  }
}

test('property: POST /api/v1/events never answers 500; a refusal is always a JSON error (fuzzed through inject, and on a real socket)', async (t) => {
  const { server } = await serverForTest(t);
  await fc.assert(fc.asyncProperty(hostileBody, async (body) => {
    const res = await server.api.inject({ method: 'POST', url: '/api/v1/events', headers: { 'content-type': 'application/json' }, payload: body });
    assertJsonAnswer(res.statusCode, res.body, body.slice(0, 200));
  }), { numRuns: 400 });
  // the same through a real socket, with bytes that are not UTF-8 and a non-finite metric
  const raw = Buffer.concat([Buffer.from('{"events":[{"host":"h\xff'), Buffer.from([0xff, 0xfe]), Buffer.from('","service":"s","metric":1e309}]}')]);
  const res = await fetch(server.url + '/api/v1/events', { method: 'POST', headers: { 'content-type': 'application/json' }, body: raw });
  assertJsonAnswer(res.status, await res.text(), 'raw bytes');
  assert.equal(res.status, 400);
  // the server still serves
  assert.equal((await postJson(server.url, [{ host: 'after-fuzz', service: 's' }])).status, 202);
});
