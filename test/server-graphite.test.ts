// The server forwards stored metrics to a real carbon-cache (plaintext and
// pickle), read back with whisper-fetch; statsd's side channel is not forwarded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger } from '../src/core/log.js';
import { statsdConfigSchema } from '../src/statsd/config.js';
import { StatsdDaemon } from '../src/statsd/daemon.js';
import { carbonConfig, haveCarbon, missingCarbon } from './fixtures/carbon.js';
import { api, deferrals, metric, startAgent, startServer, tempDir, until } from './fixtures/blick.js';
import { freeTcpPort, requireProgram, sendUdp } from './statsd/fixtures.js';

const json = { 'content-type': 'application/json' };
const post = (url: string, events: unknown[]) => api(url, '/api/v1/events', { method: 'POST', headers: json, body: JSON.stringify({ events }) });
const scrape = async (url: string) => (await api<string>(url, '/metrics')).body;

test('server.graphite: an agent\'s observer metric and a posted metric reach carbon under the template name, queued while carbon is down; statsd\'s side channel does not', { timeout: 120_000 }, async (t) => {
  if (!requireProgram(t, haveCarbon, missingCarbon)) return;
  const defer = deferrals(t);
  const { dir, cleanup } = tempDir();
  defer(cleanup);
  const carbon = await carbonConfig();
  defer(() => rmSync(carbon.dir, { recursive: true, force: true }));
  defer(() => carbon.stop());
  const forward = { flush_interval: '100ms', reconnect_min: '50ms', reconnect_max: '200ms' };
  // carbon is not running yet: both servers must queue
  const text = await startServer({ dataDir: join(dir, 'text'), config: { graphite: { host: '127.0.0.1', port: carbon.linePort, ...forward } } });
  defer(() => text.stop());
  const pickle = await startServer({ dataDir: join(dir, 'pickle'), config: { graphite: { host: '127.0.0.1', port: carbon.picklePort, protocol: 'pickle', prefix: 'ops.pickled', template: '{prefix}.{service}.{host}', ...forward } } });
  defer(() => pickle.stop());

  const agent = await startAgent({ dataDir: join(dir, 'agent'), upstreams: [text.receiver.endpoint], config: { host: 'web-01.example.com', memory: { interval: '1s' } } });
  defer(() => agent.stop());
  const statsd = new StatsdDaemon(statsdConfigSchema.parse({ udp: '127.0.0.1:0', tcp: false, admin: false, flush_interval: '100ms', host: 'statsd-edge', graphite: { host: '' }, upstreams: [text.receiver.endpoint] }), { dataDir: join(dir, 'statsd'), log: createLogger('test', { level: 'silent' }) });
  await statsd.start();
  defer(() => statsd.stop());
  await sendUdp(statsd.statsd.addresses.udp!, ['logins:5|c']);
  await until(async () => (await api<any[]>(text.url, '/api/v1/checks?host=statsd-edge')).body.some((c) => c.metric !== undefined && c.metric !== null), 'the statsd side-channel metric stored on the server');

  const t0 = Date.now();
  assert.equal((await post(text.url, [{ host: 'db 7', service: 'disk /var', metric: 93.5, time: t0 }])).status, 202);
  assert.equal((await post(pickle.url, [{ host: 'db.7', service: 'queue depth', metric: 12, time: t0 }])).status, 202);
  await until(async () => (await api<any[]>(text.url, '/api/v1/checks?host=web-01.example.com')).body.some((c) => c.service === 'memory'), 'the agent\'s memory metric on the server');
  await until(async () => metric(await scrape(text.url), 'blick_graphite_queued_points') >= 2 && metric(await scrape(pickle.url), 'blick_graphite_queued_points') >= 1, 'points queued while carbon is down');
  assert.equal(metric(await scrape(text.url), 'blick_graphite_points_total'), 0);

  await carbon.start();
  await until(() => carbon.fetch('blick.db_7.disk_var').includes(93.5), 'the posted metric in whisper as blick.db_7.disk_var', 30_000);
  await until(() => carbon.fetch('blick.web-01_example_com.memory').length > 0, 'the agent\'s memory metric in whisper', 30_000);
  await until(() => carbon.fetch('ops.pickled.queue_depth.db_7').includes(12), 'the pickled metric under its template', 30_000);
  const memory = (await api<any[]>(text.url, '/api/v1/checks?host=web-01.example.com')).body.find((c) => c.service === 'memory');
  assert.ok(carbon.fetch('blick.web-01_example_com.memory').every((v) => v >= 0 && v <= 100), `memory in percent, as stored (${memory.metric})`);

  // a point posted after carbon has written the earlier ones: once it is in
  // whisper, the statsd point (stored before it) would be there too
  assert.equal((await post(text.url, [{ host: 'marker', service: 'after', metric: 1 }])).status, 202);
  await until(() => carbon.fetch('blick.marker.after').includes(1), 'a later point in whisper', 30_000);
  assert.deepEqual(carbon.list().filter((p) => p.includes('statsd')), [], 'no statsd side-channel series forwarded');
  assert.ok(metric(await scrape(text.url), 'blick_graphite_points_total') >= 3);
});

test('server.graphite: while carbon is unreachable the queue holds at most max_queue_points; the oldest are dropped and counted, ingest goes on', async (t) => {
  const defer = deferrals(t);
  const { dir, cleanup } = tempDir();
  defer(cleanup);
  // a port nothing listens on: a freshly closed ephemeral one
  const closed = await freeTcpPort();
  const server = await startServer({ dataDir: dir, config: { graphite: { host: '127.0.0.1', port: closed, flush_interval: '50ms', reconnect_min: '50ms', reconnect_max: '100ms', max_queue_points: 10 } } });
  defer(() => server.stop());
  for (let round = 0; round < 5; round++) {
    const events = Array.from({ length: 20 }, (_, i) => ({ host: 'h', service: `s${i}`, metric: round }));
    assert.equal((await post(server.url, events)).status, 202);
  }
  await until(async () => metric(await scrape(server.url), 'blick_graphite_points_dropped_total') >= 90, 'the oldest points dropped and counted');
  const m = await scrape(server.url);
  assert.ok(metric(m, 'blick_graphite_queued_points') <= 10, 'the queue stays within max_queue_points');
  assert.ok(metric(m, 'blick_graphite_connection_errors_total') > 0, 'failed connections counted');
  assert.equal((await api<any[]>(server.url, '/api/v1/checks?host=h')).body.length, 20, 'every event stored');
});
