// Blick's statsd over real sockets: malformed and huge packets, TCP, the admin
// interface, the side-channel events, and the Graphite buffer while carbon is down.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { pino } from 'pino';
import type { EventInput } from '../../src/core/event.js';
import { makeEvent } from '../../src/core/event.js';
import { createStatsd, type StatsdServer } from '../../src/statsd/index.js';
import * as fixtures from './fixtures.js';
import { adminCommand, freeTcpPort, lineListener, sendUdp, sleep, waitFor, waitForAsync } from './fixtures.js';

const silent = pino({ level: 'silent' });

/** What the daemon holds now, from whichever thread holds it. */
async function counters(d: StatsdServer): Promise<Map<string, number>> { return (await d.metrics('counters')) as Map<string, number>; }
async function counter(d: StatsdServer, name: string): Promise<number | undefined> { return (await counters(d)).get(name); }

// every test of this file runs in both modes: worker thread (1) and single thread (0)
for (const workers of [1, 0] as const) {
const mode = workers === 1 ? '[worker thread]' : '[single thread]';

function daemon(extra: Record<string, unknown> = {}, emit?: (e: EventInput[]) => void): StatsdServer {
  return createStatsd({ udp: '127.0.0.1:0', tcp: '127.0.0.1:0', admin: '127.0.0.1:0', flush_interval: '1h', graphite: { host: '' }, workers, ...extra }, { log: silent, ...(emit ? { emit } : {}) });
}

const admin = adminCommand;

test(`${mode} malformed and huge UDP packets are counted as bad lines; the daemon keeps counting good ones`, async () => {
  const d = daemon();
  await d.start();
  try {
    const sock = createSocket('udp4');
    const send = (b: Buffer | string) => new Promise<void>((r, j) => sock.send(b, d.addresses.udp!, '127.0.0.1', (e) => (e ? j(e) : r())));
    await send(Buffer.from([0xff, 0xfe, 0x00, 0x3a, 0x7c, 0x0a, 0x80]));
    await send('x'.repeat(60_000)); // one huge line without a value
    await send(Array.from({ length: 4000 }, (_, i) => `junk${i}:abc|c`).join('\n')); // a huge packet of bad lines
    await send(':::|||@@@###\n|#|#|#\n@:@|@');
    await send('ok:1|c');
    sock.close();
    await waitForAsync(async () => (await counter(d, 'ok')) === 1, 3000, 'the good packet after the bad ones');
    assert.equal(d.workers, workers);
    assert.equal(await counter(d, 'statsd.packets_received'), 5);
    const bad = (await counter(d, 'statsd.bad_lines_seen'))!;
    assert.ok(bad >= 4002, `bad lines: ${bad}`);
    assert.equal((await d.storeStats()).badLinesTotal, bad);
    const stats = await admin(d.addresses.admin!, 'stats');
    assert.match(stats, new RegExp(`messages.bad_lines_seen: ${bad}\n`));
  } finally {
    await d.stop();
  }
});

test(`${mode} TCP: lines split across writes are joined; an endless line is dropped and counted`, async () => {
  const d = daemon({ max_line_bytes: 1024 });
  await d.start();
  try {
    const s = connect(d.addresses.tcp!, '127.0.0.1');
    await new Promise<void>((r) => s.once('connect', () => r()));
    s.write('tc:1|c\ntc:');
    await sleep(50);
    s.write('2|c\n');
    s.write('y'.repeat(5000));
    await sleep(50);
    s.write('\ntc:4|c\n');
    await waitForAsync(async () => (await counter(d, 'tc')) === 7, 3000, 'tcp counter 7');
    assert.ok((await counter(d, 'statsd.bad_lines_seen'))! >= 1);
    s.destroy();
  } finally {
    await d.stop();
  }
});

test(`${mode} metric events reach the emit callback with host, service, metric, tags and time`, async () => {
  const batches: EventInput[][] = [];
  let t = 1_700_000_000_000;
  const d = createStatsd({ udp: '127.0.0.1:0', tcp: false, admin: false, flush_interval: '10s', host: 'statsd-01', graphite: { host: '' }, workers }, { log: silent, emit: (e) => batches.push(e), now: () => t });
  await d.start();
  try {
    await sendUdp(d.addresses.udp!, ['api.requests:5|c|#host:web-01,env:prod', 'api.latency:100|ms\napi.latency:300|ms', 'queue.depth:17|g', 'users:alice|s\nusers:bob|s']);
    await waitForAsync(async () => ((await d.metrics('sets')).get('users') as string[] | undefined)?.length === 2 && (await d.metrics('gauges')).has('queue.depth') && (await d.metrics('timers')).has('api.latency'), 3000, 'packets');
    t += 10_000;
    await d.flush();
    assert.equal(batches.length, 1);
    const byService = new Map(batches[0]!.map((e) => [e.service, e]));
    const req = byService.get('statsd api.requests')!;
    assert.deepEqual({ ...req }, { host: 'web-01', service: 'statsd api.requests', metric: 0.5, tags: ['env:prod'], attributes: { type: 'counter' }, time: 1_700_000_010_000, source: 'statsd' });
    assert.equal(byService.get('statsd api.requests.count')!.metric, 5);
    assert.equal(byService.get('statsd api.latency.mean')!.metric, 200);
    assert.equal(byService.get('statsd api.latency.upper_90')!.metric, 300);
    assert.equal(byService.get('statsd api.latency.mean')!.host, 'statsd-01');
    assert.equal(byService.get('statsd queue.depth')!.metric, 17);
    assert.equal(byService.get('statsd users.count')!.metric, 2);
    // every event is one the core accepts
    for (const e of batches[0]!) makeEvent(e, { source: 'statsd' });
  } finally {
    await d.stop();
  }
});

test(`${mode} admin interface answers Etsy's commands`, async () => {
  const d = daemon();
  await d.start();
  try {
    await sendUdp(d.addresses.udp!, ['app.a:1|c', 'app.b:2|c', 'other:3|c', 'lat:5|ms', 'temp:20|g', 'temp2:1|g']);
    await waitForAsync(async () => (await d.metrics('gauges')).has('temp2'), 3000, 'packets');
    const p = d.addresses.admin!;
    assert.match(await admin(p, 'counters'), /'app\.a': 1,[\s\S]*other: 3[\s\S]*END\n\n$/);
    assert.match(await admin(p, 'timers'), /lat: \[ 5 \][\s\S]*END/);
    assert.match(await admin(p, 'gauges'), /temp: 20/);
    assert.equal(await admin(p, 'delcounters app.*'), 'deleted: app.a\ndeleted: app.b\nEND\n\n');
    assert.equal(await admin(p, 'delcounters nope'), 'metric nope not found\nEND\n\n');
    assert.equal(await admin(p, 'deltimers lat'), 'deleted: lat\nEND\n\n');
    assert.equal(await admin(p, 'delgauges temp'), 'deleted: temp\nEND\n\n');
    assert.equal((await d.metrics('counters')).has('app.a'), false);
    assert.equal((await d.metrics('gauges')).has('temp'), false);
    assert.equal((await d.metrics('gauges')).has('temp2'), true);
    assert.equal(await admin(p, 'health'), 'health: up\n');
    assert.equal(await admin(p, 'health down'), 'health: down\n');
    assert.equal(await admin(p, 'health'), 'health: down\n');
    assert.equal(await admin(p, 'health up'), 'health: up\n');
    assert.match(await admin(p, 'stats'), /^uptime: \d+\nmessages\.last_msg_seen: \d+\nmessages\.bad_lines_seen: 0\n[\s\S]*END\n\n$/);
    assert.match(await admin(p, 'config'), /flushInterval: 3600000/);
    assert.equal(await admin(p, 'bogus'), 'ERROR\n');
  } finally {
    await d.stop();
  }
});

test(`${mode} while carbon is down, flushes wait in a bounded buffer and arrive after it comes back`, async () => {
  const port = await freeTcpPort();
  const d = createStatsd({ udp: '127.0.0.1:0', tcp: false, admin: false, flush_interval: '1h', graphite: { host: '127.0.0.1', port, buffer_bytes: 2500, reconnect_min: '50ms', reconnect_max: '100ms' }, workers }, { log: silent });
  await d.start();
  try {
    for (const v of [1, 2, 3, 4, 5]) {
      await sendUdp(d.addresses.udp!, [`down.c${v}:${v}|c`]);
      await waitForAsync(async () => (await counters(d)).has(`down.c${v}`), 2000, 'packet');
      await d.flush();
    }
    const g = d.backends[0] as unknown as { stats: { dropped_flushes: number; buffered_bytes: number } };
    assert.ok(g.stats.dropped_flushes > 0, 'oldest flushes dropped beyond buffer_bytes');
    assert.ok(g.stats.buffered_bytes <= 2500);
    // carbon comes up on that port
    const carbon = await lineListener(port);
    try {
      await waitFor(() => carbon.lines.some((l) => l.path === 'stats_counts.down.c5' && l.value === '5'), 5000, 'the newest buffered flush');
      assert.equal(carbon.lines.some((l) => l.path === 'stats_counts.down.c1' && l.value === '1'), false, 'the oldest flush was the one dropped');
    } finally {
      await d.stop();
      await carbon.close();
    }
  } finally {
    await d.stop();
  }
});

test(`${mode} graphite: one persistent connection; reconnects after carbon closes it`, async () => {
  const carbon = await lineListener();
  const d = createStatsd({ udp: '127.0.0.1:0', tcp: false, admin: false, flush_interval: '1h', graphite: { host: '127.0.0.1', port: carbon.port, reconnect_min: '50ms' }, workers }, { log: silent });
  await d.start();
  try {
    await sendUdp(d.addresses.udp!, ['r:1|c']);
    await waitForAsync(async () => (await counters(d)).has('r'), 2000, 'packet');
    await sleep(100);
    await d.flush();
    await waitFor(() => carbon.lines.some((l) => l.path === 'stats_counts.r' && l.value === '1'), 3000, 'first flush');
    await carbon.close(); // carbon goes away, connection dropped
    await sendUdp(d.addresses.udp!, ['r:2|c']);
    await waitForAsync(async () => (await counter(d, 'r')) === 2, 2000, 'packet');
    await d.flush(); // while carbon is away
    const again = await lineListener(carbon.port); // carbon back on its port
    try {
      await waitFor(() => again.lines.some((l) => l.path === 'stats_counts.r' && l.value === '2'), 5000, 'the flush made while carbon was away, on the new connection');
    } finally {
      await d.stop();
      await again.close();
    }
  } finally {
    await d.stop();
  }
});

}

test('a missing program fails the test under CI=true and skips it, with the reason, elsewhere', () => {
  const { requireProgram } = fixtures;
  const saved = process.env.CI;
  try {
    process.env.CI = 'true';
    assert.throws(() => requireProgram({ skip() { assert.fail('must not skip under CI'); } }, false, 'frobnicator'), /frobnicator is not installed \(CI=true/);
    delete process.env.CI;
    let reason = '';
    assert.equal(requireProgram({ skip(m: string) { reason = m; } }, false, 'frobnicator'), false);
    assert.equal(reason, 'frobnicator is not installed');
    assert.equal(requireProgram({ skip() { assert.fail('must not skip'); } }, true, 'frobnicator'), true);
  } finally {
    if (saved === undefined) delete process.env.CI; else process.env.CI = saved;
  }
});
