// Worker mode (statsd `workers: 1`): the main thread receives, one worker thread
// parses and aggregates. Order of packets, flushes and admin commands; the last
// flush on stop; a crashing worker is replaced and the daemon keeps serving.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { availableParallelism } from 'node:os';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import type { EventInput } from '../../src/core/event.js';
import { createStatsd, statsdConfigSchema, type StatsdServer } from '../../src/statsd/index.js';
import { lineListener, sendUdp, waitFor, waitForAsync } from './fixtures.js';

/** A logger whose records the test can read. */
function capture(): { log: Logger; records: Record<string, any>[] } {
  const records: Record<string, any>[] = [];
  const stream = new Writable({ write(chunk, _enc, cb) { for (const l of String(chunk).split('\n')) if (l) records.push(JSON.parse(l)); cb(); } });
  return { log: pino({ level: 'info' }, stream), records };
}

function daemon(extra: Record<string, unknown>, deps: { log?: Logger; emit?: (e: EventInput[]) => void; now?: () => number } = {}): StatsdServer {
  return createStatsd({ udp: '127.0.0.1:0', tcp: false, admin: '127.0.0.1:0', flush_interval: '1h', graphite: { host: '' }, workers: 1, ...extra }, { log: pino({ level: 'silent' }), ...deps });
}

/** Send `text` to the admin port in one write and read until `until` matches. */
function adminRaw(port: number, text: string, until: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let out = '';
    const t = setTimeout(() => { s.destroy(); reject(new Error(`admin answer so far: ${JSON.stringify(out)}`)); }, 5000);
    s.setEncoding('utf8');
    s.on('data', (d: string) => { out += d; if (until.test(out)) { clearTimeout(t); s.destroy(); resolve(out); } });
    s.on('error', reject);
    s.write(text);
  });
}

const counters = async (d: StatsdServer) => (await d.metrics('counters')) as Map<string, number>;

test('workers: auto uses the worker thread when there is more than one core; 0 and 1 are taken as given', () => {
  assert.equal(statsdConfigSchema.parse({}).workers, 'auto');
  assert.equal(createStatsd({ workers: 'auto' }).workers, availableParallelism() > 1 ? 1 : 0);
  assert.equal(createStatsd({ workers: 0 }).workers, 0);
  assert.equal(createStatsd({ workers: 1 }).workers, 1);
  assert.throws(() => statsdConfigSchema.parse({ workers: 2 }));
  assert.throws(() => statsdConfigSchema.parse({ workers: 'many' }));
});

test('worker mode: a flush sees exactly the packets received before it, in order (gauge set then delta)', async () => {
  const flushes: EventInput[][] = [];
  let t = 1_700_000_000_000;
  const d = daemon({ host: 'h' }, { emit: (e) => flushes.push(e), now: () => t });
  await d.start();
  try {
    assert.equal(d.store, undefined, 'the main thread holds no metrics in worker mode');
    // 3000 packets in order: the gauge ends at 10 + 2999 × 1 only if every delta came after the set
    const packets = ['g:10|g', ...Array.from({ length: 2999 }, (_, i) => `g:+1|g\nc:1|c\nt:${i}|ms`)];
    await sendUdp(d.addresses.udp!, packets);
    await waitForAsync(async () => (await counters(d)).get('statsd.packets_received') === 3000, 5000, '3000 packets in the worker');
    t += 10_000;
    await d.flush();
    const byService = new Map(flushes[0]!.map((e) => [e.service, e.metric]));
    assert.equal(byService.get('statsd g'), 3009);
    assert.equal(byService.get('statsd c.count'), 2999);
    assert.equal(byService.get('statsd t.upper'), 2998);
    assert.equal(byService.has('statsd statsd.packets_received.count'), false, "statsd's own figures are not sent to the server");
    // the store was cleared as in single-thread mode
    assert.equal((await counters(d)).get('c'), 0);
  } finally {
    await d.stop();
  }
});

test('worker mode: admin commands pipelined on one connection are answered in order', async () => {
  const d = daemon({});
  await d.start();
  try {
    await sendUdp(d.addresses.udp!, ['a.x:1|c', 'a.y:2|c', 'b:3|c', 'lat:4|ms', 'gg:5|g']);
    await waitForAsync(async () => (await d.metrics('gauges')).has('gg'), 3000, 'packets');
    const out = await adminRaw(d.addresses.admin!, 'counters\nhealth\ndelcounters a.*\ncounters\ndeltimers lat\ntimers\ndelgauges gg nope\ngauges\nstats\n', /\nuptime: [\s\S]*END\n\n$/);
    const parts = out.split('END\n\n');
    assert.match(parts[0]!, /^\{\n[\s\S]*'a\.x': 1,[\s\S]*'a\.y': 2,[\s\S]*b: 3\n\}\n$/);
    assert.equal(parts[1], 'health: up\ndeleted: a.x\ndeleted: a.y\n', 'health (answered at once) waits for the counters before it');
    assert.doesNotMatch(parts[2]!, /a\.x|a\.y/);
    assert.match(parts[2]!, /b: 3/);
    assert.equal(parts[3], 'deleted: lat\n');
    assert.equal(parts[4], '{}\n');
    assert.equal(parts[5], 'deleted: gg\nmetric nope not found\n');
    assert.equal(parts[6], '{}\n');
    assert.match(parts[7]!, /^uptime: \d+\nmessages\.last_msg_seen: \d+\nmessages\.bad_lines_seen: 0\nmessages\.worker_restarts: 0\n/);
  } finally {
    await d.stop();
  }
});

test('worker mode: stop flushes once more through the worker, then ends the worker thread', async () => {
  const carbon = await lineListener();
  const d = daemon({ graphite: { host: '127.0.0.1', port: carbon.port } });
  await d.start();
  try {
    await sendUdp(d.addresses.udp!, ['last:5|c', 'lastg:7|g']);
    await waitForAsync(async () => (await counters(d)).has('last'), 3000, 'packets');
    assert.equal(d.workerAggregator!.threads, 1);
    await d.stop();
    // the flush was written before stop returned; the listener reads it a moment later
    await waitForAsync(async () => carbon.lines.some((l) => l.path === 'stats_counts.last' && l.value === '5'), 3000, 'the stop flush to reach carbon');
    assert.ok(carbon.lines.some((l) => l.path === 'stats.gauges.lastg' && l.value === '7'));
    assert.equal(d.workerAggregator!.threads, 0, 'no worker thread left');
  } finally {
    await d.stop();
    await carbon.close();
  }
});

test('worker mode: bad lines are logged from the worker, rate-limited as in single-thread mode', async () => {
  const { log, records } = capture();
  const d = daemon({}, { log });
  await d.start();
  try {
    await sendUdp(d.addresses.udp!, ['bad1:x|c', 'bad2:y|c', 'bad3', 'ok:1|c']);
    await waitForAsync(async () => (await counters(d)).has('ok'), 3000, 'packets');
    assert.equal((await d.storeStats()).badLinesTotal, 3);
    const bad = records.filter((r) => r.msg === 'bad statsd line');
    assert.equal(bad.length, 1, 'one line per 10 s');
    assert.equal(bad[0]!.line, 'bad1:x|c');
    assert.equal(bad[0]!.reason, 'bad value');
  } finally {
    await d.stop();
  }
});

test('worker mode: a crashing worker is logged and replaced; the daemon keeps serving with the state of its last flush', async () => {
  const { log, records } = capture();
  const flushes: EventInput[][] = [];
  const d = daemon({ delete_gauges: true, gauges_max_ttl: 3 }, { log, emit: (e) => flushes.push(e) });
  await d.start();
  const value = (i: number, service: string) => flushes[i]!.find((e) => e.service === service)?.metric;
  try {
    await sendUdp(d.addresses.udp!, ['kept:1|c', 'g:10|g', 'tm:5|ms', 's:a|s']);
    await waitForAsync(async () => (await counters(d)).has('kept'), 3000, 'packets');
    await d.flush();
    assert.equal(value(0, 'statsd g'), 10);
    // packets the worker will not flush: lost with it
    await sendUdp(d.addresses.udp!, ['lost:1|c', 'lost:2|c', 'g:+5|g']);
    await waitForAsync(async () => (await counters(d)).has('lost'), 3000, 'packets before the crash');
    d.workerAggregator!.crashForTest();
    await waitFor(() => records.some((r) => r.msg?.includes('worker crashed')), 5000, 'the crash in the log');
    const crash = records.find((r) => r.msg?.includes('worker crashed'))!;
    assert.equal(crash.level, 50);
    assert.equal(crash.lost_packets, 3, 'the packets since the last flush are counted');
    assert.match(crash.err.message, /crash requested/);
    assert.equal(d.workerAggregator!.restarts, 1);
    // still serving: UDP, admin and flushes
    await sendUdp(d.addresses.udp!, ['after:4|c', 'g:+1|g']);
    await waitForAsync(async () => (await counters(d)).has('after'), 5000, 'packets to the new worker');
    assert.match(await adminRaw(d.addresses.admin!, 'stats\n', /END\n\n$/), /messages\.worker_restarts: 1\n/);
    await d.flush();
    assert.equal(value(1, 'statsd after.count'), 4);
    assert.equal(value(1, 'statsd lost.count'), undefined, 'lost with the crashed worker');
    assert.equal(value(1, 'statsd g'), 11, 'the gauge carries on from its flushed value');
    // names of the last flush carry on (idle, so held for Graphite but not sent to the server)
    assert.equal(value(1, 'statsd kept.count'), undefined);
    assert.equal((await counters(d)).get('kept'), 0);
    assert.deepEqual((await d.metrics('timers')).get('tm'), []);
    assert.deepEqual((await d.metrics('sets')).get('s'), []);
    // gauge TTLs carry on too: g was refreshed in flush 2, so it lives 3 flushes more
    await d.flush();
    assert.equal((await d.metrics('gauges')).get('g'), 11);
    await d.flush();
    assert.equal((await d.metrics('gauges')).has('g'), false, 'expired after gauges_max_ttl flushes (flushed in the last of them)');
    assert.equal(flushes.length, 2, 'the idle flushes sent nothing to the server');
    assert.equal(d.workerAggregator!.threads, 1, 'the crashed thread is gone');
  } finally {
    await d.stop();
  }
});
