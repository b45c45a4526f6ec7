import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeEvent } from '../src/core/event.js';
import { createLogger } from '../src/core/log.js';
import { Producer } from '../src/transport/producer.js';
import { api, deferrals, exited, metric, serverForTest, spawnBlick, startServer, tempDir, until, listAll } from './fixtures/blick.js';

const post = (url: string, events: unknown[]) => api(url, '/api/v1/events', {
  method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ events }),
});
const metrics = async (url: string) => (await fetch(url + '/metrics')).text();
const checks = async (url: string, q = '') => (await api<any[]>(url, '/api/v1/checks' + q)).body;

test('beyond server.limits.max_checks new checks are refused (POST says which; ZeroMQ acks them as rejected so the spool empties) while known checks still update', async (t) => {
  const { server, defer, dir } = await serverForTest(t, { limits: { max_checks: 5 } });
  const first = await post(server.url, [0, 1, 2].map((i) => ({ host: `h${i}`, service: 'svc', state: 'ok' })));
  assert.equal(first.status, 202);
  assert.equal(first.body.refused, 0);

  // one known check and four new ones: two fit, two are refused
  const mixed = await post(server.url, [
    { host: 'h0', service: 'svc', state: 'critical' },
    ...[3, 4, 5, 6].map((i) => ({ host: `h${i}`, service: 'svc', state: 'ok' })),
  ]);
  assert.equal(mixed.status, 202);
  assert.deepEqual([mixed.body.accepted, mixed.body.refused], [3, 2]);
  assert.deepEqual(mixed.body.refused_events.map((r: any) => [r.index, r.id, r.code]), [[3, mixed.body.ids[3], 'CHECKS_LIMIT'], [4, mixed.body.ids[4], 'CHECKS_LIMIT']]);

  // a request of which nothing can be stored is an error, not a 202
  const none = await post(server.url, [{ host: 'h7', service: 'svc', state: 'ok' }]);
  assert.equal(none.status, 507);
  assert.equal(none.body.error.code, 'CHECKS_LIMIT');
  assert.match(none.body.error.message, /server\.limits\.max_checks/);

  // a producer over ZeroMQ: 20 new checks and an update of a known one
  const producer = new Producer({ upstreams: [server.receiver.endpoint], spoolDir: join(dir, 'spool'), producer: 'flood', log: createLogger('test', { level: 'silent' }) });
  await producer.start();
  defer(() => producer.stop());
  for (let i = 0; i < 20; i++) producer.send(makeEvent({ host: `z${i}`, service: 'svc', state: 'ok', source: 'agent' }));
  producer.send(makeEvent({ host: 'h1', service: 'svc', state: 'warning', source: 'agent' }));
  await producer.drained();
  assert.deepEqual(producer.unacknowledged, { batches: 0, events: 0 }, 'the spool is empty');
  assert.deepEqual([producer.stats.eventsAcked, producer.stats.eventsRejected], [1, 20]);

  const all = await checks(server.url);
  assert.equal(all.length, 5, 'the server holds the cap');
  const state = Object.fromEntries(all.map((c) => [c.host, c.state]));
  assert.deepEqual(state, { h0: 'critical', h1: 'warning', h2: 'ok', h3: 'ok', h4: 'ok' });
  assert.deepEqual((await listAll<any>(server.url, '/api/v1/events?host=z*')), [], 'refused events are not stored');
  assert.deepEqual((await listAll<any>(server.url, '/api/v1/events?host=h5')), []);
  const m = await metrics(server.url);
  assert.equal(metric(m, 'blick_checks_refused_total'), 2 + 1 + 20);
  assert.equal(metric(m, 'blick_checks'), 5);
});

test('a check keeps a bounded description and attributes, marked _truncated; the history keeps the whole event and rules see it', async (t) => {
  const { server } = await serverForTest(t, {
    limits: { check_description_bytes: 1000, check_attributes_bytes: 4096 },
    rules: [{ name: 'deep-attr', match: { service: 'big' }, when: 'attributes.a63 == "tail"' }],
  });
  const description = 'é'.repeat(16 * 1024); // 32 KiB of UTF-8, two bytes a character
  const attributes: Record<string, string> = { team: 'db', note: 'x'.repeat(3000) };
  for (let i = 0; i < 61; i++) attributes[`a${i}`] = String(i % 10).repeat(8 * 1024);
  attributes.a63 = 'tail';
  const r = await post(server.url, [{ host: 'big-host', service: 'big', state: 'critical', description, attributes }]);
  assert.equal(r.status, 202);

  const [c] = await checks(server.url, '?host=big-host');
  assert.equal(Buffer.byteLength(c.description), 1000);
  assert.ok(description.startsWith(c.description));
  assert.equal(c.attributes._truncated, 'true');
  const { _truncated, ...kept } = c.attributes;
  assert.ok(Buffer.byteLength(Object.entries(kept).flat().join('')) <= 4096);
  assert.deepEqual(Object.keys(kept), ['team', 'note', 'a63'], 'attributes in order while they fit; a small one after large ones that did not is kept');
  assert.ok(Object.keys(kept).every((k) => kept[k] === attributes[k]), 'whole values, not cut ones');

  const [e] = (await listAll<any>(server.url, '/api/v1/events?host=big-host'));
  assert.equal(e.description, description);
  assert.deepEqual(e.attributes, attributes);
  const alert = await until(async () => (await api<any[]>(server.url, '/api/v1/alerts')).body.find((a: any) => a.rule === 'deep-attr'), 'the rule on a deep attribute');
  assert.equal(alert.host, 'big-host');
  const bytes = metric(await metrics(server.url), 'blick_checks_bytes');
  assert.ok(bytes > 1000 && bytes < 8 * 1024, `blick_checks_bytes ${bytes}`);
});

/** `blick server` as its own process; resolves with its API url once it has started. */
async function serverProcess(defer: (fn: () => unknown) => void, dir: string, name: string, limits: string) {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, [
    `data_dir: ${JSON.stringify(join(dir, 'data'))}`,
    'server:',
    '  ingest: tcp://127.0.0.1:0',
    '  http: 127.0.0.1:0',
    `  limits: ${limits}`,
  ].join('\n') + '\n');
  const child = spawnBlick(['server', '--config', file], { env: { BLICK_LOG_LEVEL: 'info', BLICK_LOG_FORMAT: 'json' } });
  defer(async () => { if (child.exitCode === null && child.signalCode === null) { child.kill('SIGKILL'); await exited(child); } });
  const url = await until(() => /"http":"(http:[^"]+)"/.exec(child.output())?.[1], `blick server to start (output: ${child.output().slice(-2000)})`, 20_000);
  return { child, url };
}

test('a database with more and larger checks than the limits (written by a server SIGKILLed under a higher cap): the server starts, holds the cap, counts what it did not load, and serves', async (t) => {
  const defer = deferrals(t);
  const { dir, cleanup } = tempDir();
  defer(cleanup);
  const big = (i: number) => ({
    host: `seed-${String(i).padStart(3, '0')}`, service: 'svc', state: 'ok', ttl: 3600,
    description: 'd'.repeat(32 * 1024),
    attributes: Object.fromEntries(Array.from({ length: 8 }, (_, k) => [`k${k}`, 'v'.repeat(8 * 1024)])),
  });
  const seed = async (url: string, from: number, to: number) => {
    for (let i = from; i < to; i += 20) {
      const r = await post(url, Array.from({ length: Math.min(20, to - i) }, (_, k) => big(i + k)));
      assert.equal(r.status, 202);
    }
  };
  // the first half reaches the saved checks (clean stop); the second is only in the history (SIGKILL)
  const a = await serverProcess(defer, dir, 'seed-a', '{ max_checks: 1000 }');
  await seed(a.url, 0, 60);
  a.child.kill('SIGTERM');
  assert.equal(await exited(a.child), 0);
  const b = await serverProcess(defer, dir, 'seed-b', '{ max_checks: 1000 }');
  await seed(b.url, 60, 120);
  b.child.kill('SIGKILL');
  await exited(b.child);

  const server = await startServer({ dataDir: join(dir, 'data'), config: { limits: { max_checks: 50, check_description_bytes: 1024, check_attributes_bytes: 4096 } } });
  defer(() => server.stop());
  assert.equal((await api(server.url, '/readyz')).status, 200);
  const held = await checks(server.url);
  assert.equal(held.length, 50);
  for (const c of held) {
    assert.ok(Buffer.byteLength(c.description) <= 1024 && c.attributes._truncated === 'true', `${c.host} is cut to the limits`);
  }
  assert.equal(metric(await metrics(server.url), 'blick_checks_not_loaded_total'), 70);
  // it serves: a loaded check updates, a new one is refused, the history is whole
  const loaded = held[0].host;
  assert.equal((await post(server.url, [{ host: loaded, service: 'svc', state: 'critical' }])).status, 202);
  assert.equal((await checks(server.url, `?host=${loaded}`))[0].state, 'critical');
  assert.equal((await post(server.url, [{ host: 'newcomer', service: 'svc', state: 'ok' }])).status, 507);
  const history = (await listAll<any>(server.url, '/api/v1/events?host=seed-119'));
  assert.equal(history[0].description.length, 32 * 1024);
});
