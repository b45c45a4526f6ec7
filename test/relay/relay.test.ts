import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Dealer } from 'zeromq';
import { deferrals, tempDir, until } from '../fixtures/blick.js';
import { logAgent, serverProcess, writeLines } from '../faults/processes.js';
import { apiNumbers, oneTo, relayProcess, storedNumbers, type RelayProcess } from './processes.js';
import { encodeBatch } from '../../src/transport/wire.js';
import { makeEvent } from '../../src/core/event.js';

/** Events a steady writer appends per second (one line per 10 ms tick). */
const RATE = 100;

/**
 * Every line written arrives exactly once and in order: counted in the
 * server's database and through the API, after `settled` (nothing left in a
 * spool along the way).
 */
async function assertExactlyOnce(srv: { dbFile: string; url: string }, host: string, total: number): Promise<void> {
  await until(() => storedNumbers(srv.dbFile, host).length >= total, `all ${total} events at the server`, 60_000, 200).catch(() => undefined);
  const db = storedNumbers(srv.dbFile, host);
  if (process.env.RELAY_DEBUG) { const have = new Set(db); process.stderr.write(`stored ${db.length}; missing ${oneTo(total).filter((n) => !have.has(n)).slice(0, 50).join(',')}\n`); }
  assert.equal(db.length, total, 'each event stored once in the database');
  assert.deepEqual(db, oneTo(total), 'in order, none lost, none twice (database)');
  const api = await apiNumbers(srv.url, host);
  assert.deepEqual([...api].sort((a, b) => a - b), oneTo(total), 'the API lists each event once');
}

/**
 * A server process, relays chained in front of it (`names[0]` is the one the
 * agent sends to, the last one sends to the server), and a real `blick agent`
 * following a log, with `first` lines already through to the server.
 */
async function rack(t: { after(fn: () => unknown): void }, host: string, names: string[], first: number, perTick: number) {
  const defer = deferrals(t);
  const { dir, cleanup } = tempDir();
  defer(cleanup);
  const srv = await serverProcess(defer, dir);
  await srv.start();
  const relays: RelayProcess[] = [];
  for (const name of [...names].reverse()) {
    const r = await relayProcess(defer, dir, name, relays[0]?.ingest ?? srv.ingest);
    await r.start();
    relays.unshift(r);
  }
  const agent = await logAgent(defer, dir, host, relays[0]!.ingest);
  await agent.start();
  const written = await writeLines(agent.log, 0, first, perTick);
  await until(() => storedNumbers(srv.dbFile, host).length >= 100, `events through ${names.join(' → ')}`, 30_000, 200);
  return { defer, srv, relays, agent, written };
}

test('agent → relay → server with the server down for 30 s of steady flow: the relay spools, drains in order, every event arrives once', { timeout: 180_000 }, async (t) => {
  const { srv, relays, agent, ...r } = await rack(t, 'rack-01', ['relay-a'], 200, 1);
  const relay = relays[0]!;
  let written = r.written;
  await srv.kill();
  const spooledBefore = await relay.figure('blick_producer_events_forwarded_total');
  // the outage: 30 s of flow at RATE events/s, all acknowledged by the relay and held in its spool
  written = await writeLines(agent.log, written, 30 * RATE, 1);
  await until(async () => (await relay.figure('blick_producer_events_forwarded_total')) - spooledBefore >= 30 * RATE, 'the relay to spool the outage\'s events', 30_000, 200);
  assert.ok(await relay.figure('blick_spool_events') >= 30 * RATE, 'the relay holds them while the server is down');
  assert.equal(await relay.figure('blick_producer_upstreams_connected'), 0);
  await srv.start();
  written = await writeLines(agent.log, written, 200, 1);
  await assertExactlyOnce(srv, 'rack-01', written);
  await until(async () => (await relay.figure('blick_spool_events')) === 0 || (await relay.figure('blick_spool_events')) < 5, 'the relay spool to drain', 30_000);
  assert.ok(await relay.figure('blick_producer_events_acked_total') >= written);
});

test('the relay SIGKILLed mid-stream and restarted: nothing it acknowledged is lost, nothing stored twice', { timeout: 120_000 }, async (t) => {
  const { srv, relays, agent, ...r } = await rack(t, 'rack-02', ['relay-a'], 300, 2);
  const relay = relays[0]!;
  let written = r.written;
  // the upstream is down in the middle: the relay holds acknowledged events when it dies
  await srv.kill();
  written = await writeLines(agent.log, written, 500, 2);
  await until(async () => (await relay.figure('blick_spool_events')) >= 400, 'the relay to hold acknowledged events', 30_000, 100);
  const writing = writeLines(agent.log, written, 500, 2);
  await relay.kill();
  written = await writing;
  await relay.start();
  await srv.start();
  written = await writeLines(agent.log, written, 200, 2);
  await assertExactlyOnce(srv, 'rack-02', written);
});

test('two relays chained (agent → A → B → server), B restarted: every event arrives once', { timeout: 120_000 }, async (t) => {
  const { srv, relays, agent, ...r } = await rack(t, 'rack-03', ['relay-a', 'relay-b'], 300, 2);
  const a = relays[0]!, b = relays[1]!;
  let written = r.written;
  const writing = writeLines(agent.log, written, 600, 2);
  await b.kill();
  await until(async () => (await a.figure('blick_spool_events')) >= 100, 'relay A to hold events while B is down', 30_000, 100);
  await b.start();
  written = await writing;
  written = await writeLines(agent.log, written, 200, 2);
  await assertExactlyOnce(srv, 'rack-03', written);
  // both relays' heartbeats went through the chain too (source relay)
  const beats = await (await fetch(`${srv.url}/api/v1/checks?host=relay-*`)).json() as { host: string; service: string; source: string }[];
  assert.deepEqual(beats.map((c) => `${c.host} ${c.service} ${c.source}`).sort(), ['relay-a blick relay relay', 'relay-b blick relay relay']);
});

test('relay /metrics shows what it received, forwarded and spooled; malformed messages are rejected and counted, and it keeps serving', { timeout: 60_000 }, async (t) => {
  const defer = deferrals(t);
  const { dir, cleanup } = tempDir();
  defer(cleanup);
  const srv = await serverProcess(defer, dir);
  await srv.start();
  const relay = await relayProcess(defer, dir, 'relay-m', srv.ingest, ['  limits: { max_message_bytes: 65536 }']);
  await relay.start();
  const sock = new Dealer({ linger: 0 });
  defer(() => sock.close());
  sock.connect(relay.ingest);
  await sock.send(Buffer.from('this is not a protobuf envelope'));
  await sock.send(Buffer.alloc(70_000, 1)); // over max_message_bytes
  await sock.send([Buffer.from('two'), Buffer.from('frames')]);
  const good = [makeEvent({ host: 'probe-01', service: 'app errors', state: 'ok', attributes: { n: '1' } }, { source: 'agent' })];
  await sock.send(encodeBatch({ id: 'probe-batch', producer: 'probe', events: good, origin: { producerId: 'probe-producer', seq: 1, lowWater: 1 } }));
  await until(async () => (await relay.figure('blick_ingest_messages_rejected_total{reason="garbage"}')) >= 1 && (await relay.figure('blick_ingest_messages_rejected_total{reason="too_large"}')) >= 1 && (await relay.figure('blick_ingest_messages_rejected_total{reason="frames"}')) >= 1, 'the rejections to be counted', 10_000);
  await until(() => storedNumbers(srv.dbFile, 'probe-01').length === 1, 'the good batch to reach the server', 20_000, 100);
  const m = await (await fetch(`${relay.url}/metrics`)).text();
  for (const name of ['blick_ingest_events_received_total', 'blick_producer_events_forwarded_total', 'blick_producer_events_acked_total', 'blick_spool_bytes', 'blick_spool_batches', 'blick_spool_events', 'blick_spool_dropped_events_total', 'blick_producer_upstreams_connected']) {
    assert.match(m, new RegExp(`^# TYPE ${name} `, 'm'), `${name} is exposed`);
  }
  assert.ok(await relay.figure('blick_ingest_events_received_total') >= 1);
  assert.equal(await relay.figure('blick_producer_upstreams_connected'), 1);
  assert.equal((await fetch(`${relay.url}/healthz`)).status, 200);
  assert.equal((await fetch(`${relay.url}/readyz`)).status, 200);
  assert.equal((await fetch(`${relay.url}/api/v1/events`)).status, 404, 'the relay serves only its three routes');
  assert.equal((await fetch(`${relay.url}/metrics`, { method: 'POST', body: 'x' })).status, 405);
});
