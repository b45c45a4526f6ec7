import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as zmq from 'zeromq';
import { makeEvent, type BlickEvent } from '../src/core/event.js';
import { createLogger } from '../src/core/log.js';
import { Registry } from '../src/core/metrics.js';
import { Producer } from '../src/transport/producer.js';
import { decodeMessage, encodeBatch, type Ack, type Origin } from '../src/transport/wire.js';
import { deferrals, exited, metric, ROOT, runBlick, serverForTest, spawnBlick, startServer, tempDir, until, listAll } from './fixtures/blick.js';

const quiet = () => createLogger('test', { level: process.env.BLICK_LOG_LEVEL ?? 'silent' });

function producerForTest(defer: (fn: () => unknown) => void, dir: string, upstream: string, opts: Partial<ConstructorParameters<typeof Producer>[0]> = {}): { producer: Producer; metrics: Registry } {
  const metrics = new Registry();
  const producer = new Producer({ upstreams: [upstream], spoolDir: join(dir, 'spool'), producer: 'test-producer', log: quiet(), metrics, ...opts });
  defer(() => producer.stop());
  return { producer, metrics };
}

const event = (host: string, n: number, description = ''): BlickEvent => makeEvent({ host, service: `svc ${n}`, state: 'ok', description, attributes: { n: String(n) } }, { source: 'agent' });

async function storedEvents(url: string, host: string): Promise<BlickEvent[]> {
  return (await listAll<BlickEvent>(url, `/api/v1/events?host=${encodeURIComponent(host)}&limit=10000`));
}

test('a batch over the receiver limits is refused, the producer splits it until it fits and drops the one event that never can', { timeout: 60_000 }, async (t) => {
  const { server, defer, dir } = await serverForTest(t, { limits: { max_message_bytes: 64 * 1024, max_batch_events: 50 } });
  // the producer believes in big batches: 1000 events, 4 MiB
  const { producer, metrics } = producerForTest(defer, dir, server.receiver.endpoint, { batchEvents: 1000, batchMaxBytes: 4 * 1024 * 1024, batchDelayMs: 50, ackTimeoutMs: 500 });
  await producer.start();
  // both batches are spooled before any answer: one over the event limit only, one over the byte limit
  const SMALL = 100, N = 340;
  for (let i = 1; i <= SMALL; i++) producer.send(event('split-host', i));
  producer.flush();
  for (let i = SMALL + 1; i <= N; i++) {
    producer.send(event('split-host', i, 'x'.repeat(300)));
    // one event larger than the receiver accepts in any batch (~72 KB of attributes)
    if (i === 200) producer.send(makeEvent({ host: 'split-host', service: 'huge', state: 'ok', attributes: Object.fromEntries(Array.from({ length: 9 }, (_, k) => [`a${k}`, 'y'.repeat(8000)])) }, { source: 'agent' }));
  }
  producer.flush();
  await until(() => producer.unacknowledged.batches === 0, 'the spool to empty', 30_000);

  const events = await storedEvents(server.url, 'split-host');
  const numbers = events.map((e) => Number(e.attributes.n)).sort((a, b) => a - b);
  assert.deepEqual(numbers, Array.from({ length: N }, (_, i) => i + 1), 'every event that fits arrived exactly once');
  assert.ok(!events.some((e) => e.service === 'huge'));
  assert.equal(metric(metrics.render(), 'blick_producer_dropped_events_total{reason="refused"}'), 1, 'the oversized single event is dropped and counted');
  assert.ok(producer.stats.batchesSplit >= 2, 'both refused batches were split');
  const m = await (await fetch(server.url + '/metrics')).text();
  assert.ok(metric(m, 'blick_ingest_batches_refused_total{reason="too_many_events"}') >= 1);
  assert.ok(metric(m, 'blick_ingest_batches_refused_total{reason="message_too_large"}') >= 1);
});

test('a producer whose batch.max_bytes is under the receiver limit never has a batch refused', { timeout: 30_000 }, async (t) => {
  const { server, defer, dir } = await serverForTest(t, { limits: { max_message_bytes: 64 * 1024, max_batch_events: 10_000 } });
  const { producer } = producerForTest(defer, dir, server.receiver.endpoint, { batchEvents: 1000, batchMaxBytes: 60 * 1024, batchDelayMs: 50 });
  await producer.start();
  for (let i = 1; i <= 300; i++) producer.send(event('fit-host', i, 'x'.repeat(400)));
  await producer.drained();
  assert.equal((await storedEvents(server.url, 'fit-host')).length, 300);
  const m = await (await fetch(server.url + '/metrics')).text();
  assert.equal(metricOrZero(m, 'blick_ingest_batches_refused_total'), 0);
  assert.equal(producer.stats.batchesSplit, 0);
  assert.ok(producer.stats.batchesAcked >= 3, 'the 300 events (~135 KB) went as several batches');
});

function metricOrZero(text: string, name: string): number {
  const v = metric(text, name);
  return Number.isNaN(v) ? 0 : v;
}

async function dealer(defer: (fn: () => unknown) => void, endpoint: string): Promise<zmq.Dealer> {
  const d = new zmq.Dealer({ linger: 0, receiveTimeout: 15_000 });
  d.connect(endpoint);
  defer(() => d.close());
  return d;
}

async function sendForAck(d: zmq.Dealer, msg: Uint8Array): Promise<Ack> {
  await d.send(msg);
  const decoded = decodeMessage((await d.receive())[0]!);
  assert.equal(decoded.kind, 'ack');
  return (decoded as { ack: Ack }).ack;
}

test('a batch resent after a kill -9 of the server and more events than the dedupe window is not stored twice', { timeout: 90_000 }, async (t) => {
  const defer = deferrals(t);
  const { dir, cleanup } = tempDir();
  defer(cleanup);
  // reserve ports by starting and stopping a server
  const probe = await startServer({ dataDir: join(dir, 'probe') });
  const ingest = probe.receiver.endpoint, http = probe.url.replace('http://', '');
  await probe.stop();
  const file = join(dir, 'blick.yaml');
  writeFileSync(file, `data_dir: ${JSON.stringify(join(dir, 'data'))}\nserver:\n  ingest: ${ingest}\n  http: ${http}\n  dedupe_window: 1000\n`);
  const start = async () => {
    const p = spawnBlick(['server', '--config', file], { env: { BLICK_LOG_LEVEL: 'warn' } });
    defer(async () => { if (p.exitCode === null && p.signalCode === null) { p.kill('SIGKILL'); await exited(p); } });
    await until(async () => { try { return (await fetch(`http://${http}/healthz`)).ok; } catch { return false; } }, `the server to start (output: ${p.output()})`, 20_000);
    return p;
  };
  const url = `http://${http}`;
  const origin: Origin = { producerId: 'producer-restart-test', seq: 1_000, lowWater: 1_000 };
  const events = [event('restart-host', 1), event('restart-host', 2)];
  const b = (id: string) => encodeBatch({ id, producer: 'test', origin, events });
  const original = b('batch-B');

  let server = await start();
  let sock = await dealer(defer, ingest);
  assert.equal((await sendForAck(sock, original)).accepted, 2);
  server.kill('SIGKILL');
  await exited(server);
  sock.close();

  server = await start();
  sock = await dealer(defer, ingest);
  // more events than the dedupe window, from a producer without numbers
  for (let i = 0; i < 12; i++) {
    const ack = await sendForAck(sock, encodeBatch({ id: `filler-${i}`, producer: 'filler', events: Array.from({ length: 100 }, (_, k) => event('filler-host', i * 100 + k)) }));
    assert.equal(ack.accepted, 100);
  }
  // the same message again (its ack was lost), and the same events re-batched under another id (as a relay may)
  const again = await sendForAck(sock, original);
  assert.deepEqual([again.accepted, again.duplicates], [0, 2]);
  const rebatched = await sendForAck(sock, b('batch-B-forwarded'));
  assert.deepEqual([rebatched.accepted, rebatched.duplicates], [0, 2]);
  // the producer's later events still get in
  const later = await sendForAck(sock, encodeBatch({ id: 'batch-C', producer: 'test', origin: { ...origin, seq: 1_002 }, events: [event('restart-host', 3)] }));
  assert.equal(later.accepted, 1);

  assert.deepEqual((await storedEvents(url, 'restart-host')).map((e) => Number(e.attributes.n)).sort(), [1, 2, 3]);
  assert.equal((await storedEvents(url, 'filler-host')).length, 1200);
});

test('a commit that fails (SQLite locked by another process) is not acknowledged; the producer resends and it is stored once', { timeout: 90_000 }, async (t) => {
  const { server, defer, dir } = await serverForTest(t);
  // another process holds the database's write lock
  const locker = spawn(process.execPath, ['-e', `
    const db = new (require('better-sqlite3'))(process.argv[1]);
    db.exec('BEGIN EXCLUSIVE');
    process.stdout.write('locked\\n');
    setInterval(() => {}, 1000);
  `, join(dir, 'blick.db')], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  defer(async () => { if (locker.exitCode === null && locker.signalCode === null) { locker.kill('SIGKILL'); await exited(locker); } });
  await new Promise<void>((resolve, reject) => { locker.stdout!.once('data', () => resolve()); locker.once('exit', () => reject(new Error('the locker exited'))); });

  const { producer } = producerForTest(defer, dir, server.receiver.endpoint, { ackTimeoutMs: 1000 });
  await producer.start();
  producer.send(event('locked-host', 1));
  producer.flush();
  const failed = async () => metric(await (await fetch(server.url + '/metrics')).text(), 'blick_ingest_batches_failed_total');
  await until(async () => (await failed()) >= 1, 'a failed commit', 30_000);
  assert.equal(producer.stats.batchesAcked, 0, 'no ack for a batch that was not committed');
  assert.equal(producer.unacknowledged.batches, 1, 'the producer keeps it');
  assert.equal((await storedEvents(server.url, 'locked-host')).length, 0);

  locker.kill('SIGKILL');
  await exited(locker);
  await until(() => producer.unacknowledged.batches === 0, 'the resent batch to be acknowledged', 60_000);
  assert.ok(producer.stats.batchesResent >= 1);
  assert.equal((await storedEvents(server.url, 'locked-host')).length, 1, 'stored exactly once');
});

test('security defaults: a plaintext ingest beyond loopback is refused unless insecure_ingest, and an empty allow list is a config error', { timeout: 60_000 }, async (t) => {
  const defer = deferrals(t);
  const { dir, cleanup } = tempDir();
  defer(cleanup);
  // the default ingest is tcp://0.0.0.0:5556; with no curve: section the server must not start
  const file = join(dir, 'open.yaml');
  writeFileSync(file, `data_dir: ${JSON.stringify(join(dir, 'data'))}\nserver:\n  http: 127.0.0.1:0\n`);
  const refused = await runBlick(['server', '--config', file]);
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(refused.stderr, /server\.ingest is tcp:\/\/0\.0\.0\.0:5556, which is not loopback, and CURVE is not configured.*curve: section.*insecure_ingest: true/);

  // saying so explicitly starts it, and it takes events
  const server = await startServer({ dataDir: join(dir, 'insecure'), config: { ingest: 'tcp://0.0.0.0:0', insecure_ingest: true } });
  defer(() => server.stop());
  const sock = await dealer(defer, server.receiver.endpoint.replace('0.0.0.0', '127.0.0.1'));
  assert.equal((await sendForAck(sock, encodeBatch({ id: 'open-1', producer: 't', events: [event('open-host', 1)] }))).accepted, 1);

  const empty = join(dir, 'empty-allow.yaml');
  writeFileSync(empty, 'curve:\n  secret_key_file: /k/blick.key\n  public_key_file: /k/blick.pub\n  allow: []\n');
  const bad = await runBlick(['check-config', empty]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /empty-allow\.yaml:4: key curve\.allow: an empty allow list would refuse every producer/);
});

test('a restarted producer resends with the same numbers (dropped as repeats) and numbers new events above every old one (stored)', { timeout: 60_000 }, async (t) => {
  const { server, defer, dir } = await serverForTest(t);
  // an upstream that takes batches and never acknowledges them: the ack is lost
  const blackhole = new zmq.Router({ linger: 0 });
  await blackhole.bind('tcp://127.0.0.1:0');
  defer(() => blackhole.close());
  const spoolDir = join(dir, 'spool');
  const run = async (upstream: string, first: number, count: number): Promise<Producer> => {
    const p = new Producer({ upstreams: [upstream], spoolDir, producer: 'restarting', log: quiet(), ackTimeoutMs: 60_000 });
    await p.start();
    for (let i = first; i < first + count; i++) p.send(event('restart-producer', i));
    p.flush();
    return p;
  };

  const a = await run(server.receiver.endpoint, 1, 3);
  await a.drained();
  await a.stop(); // nothing left in the spool

  const b = await run(blackhole.lastEndpoint!, 4, 2);
  const [, lost] = await blackhole.receive();
  await b.stop(); // the batch stays spooled
  // the blackholed batch did reach a server (its ack was lost): deliver it
  const sock = await dealer(defer, server.receiver.endpoint);
  assert.equal((await sendForAck(sock, lost!)).accepted, 2, 'numbers after a restart are new, not mistaken for repeats');

  const c = await run(server.receiver.endpoint, 6, 1);
  await c.drained();
  await c.stop();
  assert.equal(c.stats.duplicates, 2, 'the resend from the spool was dropped as a repeat');
  const numbers = (await storedEvents(server.url, 'restart-producer')).map((e) => Number(e.attributes.n)).sort((x, y) => x - y);
  assert.deepEqual(numbers, [1, 2, 3, 4, 5, 6]);
});
