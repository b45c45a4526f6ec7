// A burst of new metric names must not become a permanent flood at the server
// (issue #11, item 4): real UDP into statsd, its real Producer over ZeroMQ into a
// real BlickServer, and a loopback carbon that shows Graphite still gets Etsy's output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { pino } from 'pino';
import { Registry } from '../../src/core/metrics.js';
import { statsdConfigSchema, type StatsdServer } from '../../src/statsd/index.js';
import { StatsdDaemon } from '../../src/statsd/daemon.js';
import { api, exited, metric, serverForTest, spawnBlick, until } from '../fixtures/blick.js';
import { adminCommand, freeTcpPort, freeUdpPort, lineListener, sendUdp, statsdProcessConfig, type Line } from './fixtures.js';

const silent = pino({ level: 'silent' });

async function stored(url: string): Promise<number> {
  return metric((await api<string>(url, '/metrics')).body, 'blick_events_stored_total');
}

async function checks(url: string, host: string): Promise<{ service: string; metric?: number; time: number }[]> {
  return (await api(url, `/api/v1/checks?host=${host}`)).body;
}

/** Send `lines` over UDP, 100 lines a packet, waiting for the daemon to have each group of packets (no loss on a busy machine). */
async function burst(d: StatsdServer, lines: string[]): Promise<void> {
  const packets: string[] = [];
  for (let i = 0; i < lines.length; i += 100) packets.push(lines.slice(i, i + 100).join('\n'));
  const base = ((await d.metrics('counters')).get('statsd.packets_received') as number | undefined) ?? 0;
  for (let i = 0; i < packets.length; i += 20) {
    await sendUdp(d.addresses.udp!, packets.slice(i, i + 20));
    const want = base + Math.min(i + 20, packets.length);
    await until(async () => (await d.metrics('counters')).get('statsd.packets_received') === want, `${want} packets in the daemon`);
  }
}

const names = (prefix: string, n: number, value = 1) => Array.from({ length: n }, (_, i) => `${prefix}${i}:${value}|c`);

for (const workers of [1, 0] as const) {
  const mode = workers === 1 ? '[worker thread]' : '[single thread]';

  test(`${mode} a burst of 20,000 new counter names reaches the server as at most max_series_per_flush checks, once; drops are counted`, async (t) => {
    const { server, defer, dir } = await serverForTest(t);
    const carbon = await lineListener();
    defer(() => carbon.close());
    const registry = new Registry();
    const config = statsdConfigSchema.parse({
      udp: '127.0.0.1:0', tcp: false, admin: '127.0.0.1:0', flush_interval: '1h', host: 'app-01', workers,
      upstreams: [server.receiver.endpoint], graphite: { host: '127.0.0.1', port: carbon.port },
      max_new_names_per_interval: 1000, side_channel: { max_series_per_flush: 600 },
    });
    const daemon = new StatsdDaemon(config, { dataDir: dir, log: silent, metrics: registry });
    await daemon.start();
    defer(() => daemon.stop());
    const d = daemon.statsd;
    const flushed = async () => { await d.flush(); await daemon.producer!.drained(); };

    await burst(d, names('burst.n', 20_000));
    const held = [...(await d.metrics('counters')).keys()].filter((k) => k.startsWith('burst.'));
    assert.equal(held.length, 1000, 'max_new_names_per_interval names admitted');
    assert.match(await adminCommand(d.addresses.admin!, 'stats'), /\nmessages\.metrics_dropped: 19000\n/);

    await flushed();
    assert.equal(await stored(server.url), 600, 'max_series_per_flush events, no more');
    const got = await checks(server.url, 'app-01');
    assert.equal(got.length, 600);
    assert.deepEqual(got.filter((c) => !c.service.startsWith('statsd burst.n')).map((c) => c.service), [], "statsd's own figures are not checks of the host");
    assert.equal(metric(registry.render(), 'blick_statsd_metrics_dropped_total'), 19_000);
    assert.equal(metric(registry.render(), 'blick_statsd_side_channel_series_dropped_total'), 1400);
    assert.match(await adminCommand(d.addresses.admin!, 'stats'), /\nevents\.dropped_series: 1400\n/);
    // Graphite gets Etsy's output: every admitted name, and the drop count among statsd's own counters
    await until(() => carbon.lines.filter((l) => l.path.startsWith('stats_counts.burst.')).length === 1000, 'the first flush in carbon');
    assert.ok(carbon.lines.some((l) => l.path === 'stats_counts.statsd.metrics_dropped' && l.value === '19000'));
    assert.ok(carbon.lines.some((l) => l.path === 'stats_counts.statsd.packets_received'));

    // two flushes with no packets: the server gets nothing, Graphite gets the idle names at 0 (Etsy)
    const firstFlushLines = carbon.lines.length;
    await flushed();
    await flushed();
    assert.equal(await stored(server.url), 600, 'idle names are not sent again');
    await until(() => carbon.lines.filter((l: Line) => l.path === `stats_counts.${held[0]}`).length === 3, 'three flushes of the idle name in carbon');
    assert.ok(carbon.lines.length > firstFlushLines);

    // a name that gets a value again after being idle is sent again
    const revived = held[999]!;
    await sendUdp(d.addresses.udp!, [`${revived}:3|c`]);
    await until(async () => (await d.metrics('counters')).get(revived) === 3, 'the value in the daemon');
    await flushed();
    assert.equal(await stored(server.url), 602);
    const again = (await checks(server.url, 'app-01')).find((c) => c.service === `statsd ${revived}.count`);
    assert.equal(again?.metric, 3);

    // the new-name budget is per interval: the next burst admits 1000 more
    await burst(d, names('second.n', 1500));
    assert.equal([...(await d.metrics('counters')).keys()].filter((k) => k.startsWith('second.')).length, 1000);
    assert.match(await adminCommand(d.addresses.admin!, 'stats'), /\nmessages\.metrics_dropped: 19500\n/);
  });

  test(`${mode} max_names bounds the names held over many intervals; values for names already held still count`, async (t) => {
    const { server, defer, dir } = await serverForTest(t);
    const config = statsdConfigSchema.parse({
      udp: '127.0.0.1:0', tcp: false, admin: '127.0.0.1:0', flush_interval: '1h', host: 'app-03', workers,
      upstreams: [server.receiver.endpoint], graphite: { host: '' }, max_names: 500, max_new_names_per_interval: 300,
    });
    const daemon = new StatsdDaemon(config, { dataDir: dir, log: silent });
    await daemon.start();
    defer(() => daemon.stop());
    const d = daemon.statsd;
    for (let round = 0; round < 3; round++) {
      await burst(d, names(`r${round}.n`, 300));
      await d.flush();
    }
    const held = [...(await d.metrics('counters')).keys()].filter((k) => /^r\d\./.test(k));
    assert.equal(held.length, 500, "max_names names held (statsd's own are not counted)");
    assert.equal((await d.storeStats()).droppedTotal, 400, 'every value for a refused name is counted');
    // a held name keeps counting at the limit
    await sendUdp(d.addresses.udp!, [`${held[0]}:7|c`]);
    await until(async () => (await d.metrics('counters')).get(held[0]!) === 7, 'a held name still counts at the limit');
  });
}

test('blick statsd (workers: auto, short flush interval): after one burst, idle flushes send nothing to the server; a revived counter is sent again', async (t) => {
  const { server, defer, dir } = await serverForTest(t);
  const carbon = await lineListener();
  defer(() => carbon.close());
  const udp = await freeUdpPort();
  const adminPort = await freeTcpPort();
  const file = statsdProcessConfig(dir, { udp, admin: adminPort, flushInterval: '300ms', host: 'app-02', upstream: server.receiver.endpoint, graphite: `{ host: 127.0.0.1, port: ${carbon.port} }` });
  const child = spawnBlick(['statsd', '--config', file], { env: { BLICK_LOG_LEVEL: 'warn' } });
  defer(async () => { if (child.exitCode === null && child.signalCode === null) { child.kill('SIGKILL'); await exited(child); } });
  const flushes = () => carbon.lines.filter((l) => l.path === 'statsd.numStats').length;
  await until(() => flushes() > 0, `a first flush from blick statsd; output: ${child.output()}`, 20_000);

  // the last line: a client writing to statsd's own counter does not make it a check either
  await sendUdp(udp, [names('app.c', 50).join('\n'), 'app.g:5|g\napp.t:12|ms\nstatsd.bad_lines_seen:1|c']);
  // 50 counters × 2 + 1 gauge + the timer's 14 statistics (9 plain, 5 for percent_threshold 90)
  const active = 50 * 2 + 1 + 14;
  await until(async () => (await stored(server.url)) >= active, `${active} events at the server`);
  const services = (await checks(server.url, 'app-02')).map((c) => c.service);
  assert.deepEqual(services.filter((s) => s.startsWith('statsd statsd.')), [], 'no statsd.* self-metric is a check');
  assert.equal(services.length, active);

  // more flushes without packets (3: carbon may not have the burst's own yet), then one value: only that value's events arrive after the burst's
  const seen = flushes();
  await until(() => flushes() >= seen + 3, 'idle flushes');
  await sendUdp(udp, ['app.c7:4|c']);
  await until(async () => (await checks(server.url, 'app-02')).find((c) => c.service === 'statsd app.c7.count')?.metric === 4, 'the revived counter at the server');
  assert.equal(await stored(server.url), active + 2, 'nothing from the idle flushes, the revived counter\'s two events');
  // `auto` ran the worker thread on a machine with more than one core (worker_restarts is a worker-mode figure)
  assert.equal(/\nmessages\.worker_restarts: 0\n/.test(await adminCommand(adminPort, 'stats')), availableParallelism() > 1);
});
