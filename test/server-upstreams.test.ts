import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger } from '../src/core/log.js';
import { makeEvent } from '../src/core/event.js';
import { Producer } from '../src/transport/producer.js';
import { api, deferrals, listAll, metric, restartableServer, startServer, tempDir, until } from './fixtures/blick.js';
import { logAgent, serverProcess, writeLines } from './faults/processes.js';

/**
 * issue #13 item 4: a regional server keeps its own state and also forwards
 * what matches server.forward to a central server, exactly once across a
 * central outage and a SIGKILL of the regional.
 */

const APP = '/api/v1/events?service=app%20errors&limit=1000';

/** The `n` attribute of every stored "app errors" event, and how often each n is there. */
async function appNumbers(base: string): Promise<Map<number, number>> {
  const counts = new Map<number, number>();
  for (const e of await listAll<{ attributes: Record<string, string> }>(base, APP)) {
    const n = Number(e.attributes.n);
    counts.set(n, (counts.get(n) ?? 0) + 1);
  }
  return counts;
}

/** Every n in 1..last is there exactly once (the first problems, else ''). */
function exactlyOnce(counts: Map<number, number>, last: number): string {
  const missing: number[] = [], twice: number[] = [];
  for (let n = 1; n <= last; n++) {
    const c = counts.get(n) ?? 0;
    if (c === 0) missing.push(n); else if (c > 1) twice.push(n);
  }
  const extra = [...counts.keys()].filter((n) => n < 1 || n > last);
  if (missing.length + twice.length + extra.length === 0) return '';
  return `missing ${missing.length} (${missing.slice(0, 5).join(',')}), more than once ${twice.length} (${twice.slice(0, 5).join(',')}), unexpected ${extra.length}`;
}

/** POST events to a server's API; resolves with the ids it acknowledged (202). */
async function post(base: string, events: Record<string, unknown>[]): Promise<string[]> {
  const r = await api<{ ids: string[] }>(base, '/api/v1/events', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ events }) });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  return r.body.ids;
}

test('server.upstreams: a regional server forwards the events matching server.forward to a central server exactly once, across a central outage and a SIGKILL of the regional', { timeout: 240_000 }, async (t) => {
  const defer = deferrals(t);
  const { dir, cleanup } = tempDir();
  defer(cleanup);
  for (const d of ['central', 'regional', 'agent']) mkdirSync(join(dir, d));
  const central = await serverProcess(defer, join(dir, 'central'));
  await central.start();
  const regional = await serverProcess(defer, join(dir, 'regional'), [
    `  upstreams: [${JSON.stringify(central.ingest)}]`,
    // the agent's log events and the API's "app *" events go up; heartbeats and the rest stay regional
    '  forward: { services: ["app *"], name: regional-1 }',
  ]);
  let regionalProc = await regional.start();
  const agent = await logAgent(defer, join(dir, 'agent'), 'web-01', regional.ingest);
  const agentProc = await agent.start();
  const output = () => `agent: ${agentProc.output().slice(-2000)}\nregional: ${regionalProc.output().slice(-2000)}`;

  // 1. both up: events from the agent (ZeroMQ) and from the API arrive once at each
  let last = await writeLines(agent.log, 0, 200);
  const apiIds = await post(regional.url, [
    { host: 'api-host', service: 'app deploy', state: 'ok', description: 'deployed' },
    { host: 'api-host', service: 'other thing', state: 'ok' },
  ]);
  await until(async () => exactlyOnce(await appNumbers(central.url), last) === '', `the agent's ${last} events at the central server (${output()})`, 60_000);
  assert.equal(exactlyOnce(await appNumbers(regional.url), last), '', 'the regional server keeps its own copy');
  const deploy = await until(async () => (await listAll(central.url, '/api/v1/events?host=api-host&limit=100'))[0], 'the API event at the central server', 30_000);
  assert.equal(deploy.id, apiIds[0], 'the event keeps its id');
  assert.equal(deploy.service, 'app deploy');
  assert.equal(deploy.source, 'relay', 'the central receiver admits no producer claiming api');
  assert.equal(deploy.attributes.forwarded_source, 'api');
  // the filter: the other API event and the agent's heartbeats stay regional
  assert.equal((await listAll(central.url, '/api/v1/events?host=api-host&limit=100')).length, 1);
  assert.equal((await listAll(central.url, '/api/v1/events?service=heartbeat&limit=100')).length, 0);
  assert.ok((await listAll(regional.url, '/api/v1/events?service=heartbeat&limit=100')).length > 0);
  assert.equal((await listAll(regional.url, '/api/v1/events?host=api-host&limit=100')).length, 2);

  // 2. the central server down for a while: the regional keeps taking events and spools them, then drains
  await central.stop();
  last = await writeLines(agent.log, last, 300);
  const whileDown = await post(regional.url, [{ host: 'api-host', service: 'app outage', state: 'warning' }]);
  await until(async () => exactlyOnce(await appNumbers(regional.url), last) === '', 'the events at the regional server while the central one is down', 60_000);
  const text = await (await fetch(`${regional.url}/metrics`)).text();
  assert.ok(metric(text, 'blick_spool_batches') > 0, 'the regional holds them in its upstream spool');
  await central.start();
  await until(async () => exactlyOnce(await appNumbers(central.url), last) === '', `the spooled events at the central server after its restart, once each (${output()})`, 60_000);
  await until(async () => (await listAll(central.url, '/api/v1/events?host=api-host&service=app%20outage&limit=100')).length === 1, 'the API event made during the outage, once', 30_000);
  assert.equal((await listAll(central.url, '/api/v1/events?host=api-host&service=app%20outage&limit=100'))[0].id, whileDown[0]);

  // 3. the regional SIGKILLed while events flow, then restarted: nothing it acknowledged is lost at the central server, nothing twice
  const flowing = writeLines(agent.log, last, 400, 4);
  const acked: string[] = [];
  for (let i = 0; i < 10; i++) acked.push(...await post(regional.url, [{ host: 'api-host', service: 'app burst', state: 'ok', attributes: { i: String(i) } }]));
  await regional.kill();
  last = await flowing;
  regionalProc = await regional.start();
  await until(async () => exactlyOnce(await appNumbers(central.url), last) === '', `all ${last} agent events at the central server once, after the regional's SIGKILL (${output()})`, 90_000);
  const burst = await until(async () => {
    const got = await listAll<{ id: string }>(central.url, '/api/v1/events?host=api-host&service=app%20burst&limit=100');
    return got.length >= acked.length ? got : undefined;
  }, 'the API events the regional acknowledged before its SIGKILL, at the central server', 60_000);
  assert.deepEqual(burst.map((e) => e.id).sort(), [...acked].sort(), 'each acknowledged API event once');
  // and they stay once: the regional's resends after the restart were dropped by their numbers
  await until(async () => {
    const m = await (await fetch(`${regional.url}/metrics`)).text();
    return metric(m, 'blick_spool_batches') === 0;
  }, 'the regional\'s upstream spool drained', 60_000);
  assert.equal(exactlyOnce(await appNumbers(central.url), last), '');
  assert.equal((await listAll(central.url, '/api/v1/events?host=api-host&service=app%20burst&limit=100')).length, acked.length);
});

test('server.upstreams: a forwarded batch the central server refuses as too large and gets split after a later one is not lost (the low water passed on is lowered below what the regional still holds)', async (t) => {
  const defer = deferrals(t);
  const { dir, cleanup } = tempDir();
  defer(cleanup);
  // a central server with a small message limit, down at first
  const central = await restartableServer(defer, join(dir, 'central'), { limits: { max_message_bytes: 2048 } });
  const centralIngest = central.server.receiver.endpoint;
  const centralUrl = central.server.url;
  await central.stop();
  const regional = await startServer({ dataDir: join(dir, 'regional'), config: { upstreams: [centralIngest] } });
  defer(() => regional.stop());
  const producer = new Producer({ upstreams: [regional.receiver.endpoint], spoolDir: join(dir, 'producer'), producer: 'p1', ackTimeoutMs: 500, log: createLogger('test', { level: 'silent' }) });
  await producer.start();
  defer(() => producer.stop());
  // batch A: 20 events, far over 2 KiB; acknowledged by the regional before batch B is made, so B says "low water 20"
  for (let i = 0; i < 20; i++) producer.send(makeEvent({ host: 'h', service: `big ${i}`, state: 'ok', description: 'x'.repeat(300) }, { source: 'agent' }));
  await producer.drained();
  producer.send(makeEvent({ host: 'h', service: 'small', state: 'ok' }, { source: 'agent' }));
  await producer.drained();
  // both wait in the regional's upstream spool; the central comes up: A is refused and split, B is stored first
  await central.start();
  await until(async () => (await listAll(centralUrl, '/api/v1/events?host=h&limit=100')).length >= 21, 'all 21 events at the central server', 30_000).catch(async (err) => {
    const got = (await listAll(centralUrl, '/api/v1/events?host=h&limit=100')).length;
    throw new Error(`${err.message} (it has ${got})`);
  });
  assert.equal((await listAll(centralUrl, '/api/v1/events?host=h&limit=100')).length, 21);
});
