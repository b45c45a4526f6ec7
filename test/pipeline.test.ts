import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { MonitorContext, Observer } from '../src/agent/monitor.js';
import { api, deferrals, metric, restartableServer, ROOT, serverForTest, startAgent, startServer, tempDir, until, listAll } from './fixtures/blick.js';

test('an agent with a failing Nagios plugin makes the check critical in /api/v1/checks, with the plugin output and perfdata', async (t) => {
  const defer = deferrals(t);
  const { dir, cleanup } = tempDir();
  defer(cleanup);
  const server = await startServer({ dataDir: join(dir, 'server') });
  defer(() => server.stop());
  const agent = await startAgent({
    dataDir: join(dir, 'agent'), upstreams: [server.receiver.endpoint],
    config: { host: 'db-07', checks: [{ name: 'disk data', command: ['/bin/sh', join(ROOT, 'test/fixtures/plugins/check_disk_critical.sh')], interval: '1h' }] },
  });
  defer(() => agent.stop());

  const checks = await until(async () => {
    const r = await api<any[]>(server.url, '/api/v1/checks?host=db-07');
    return r.body.find((c) => c.service === 'disk data') ? r.body : undefined;
  }, 'the check to reach the server');
  const check = checks.find((c) => c.service === 'disk data');
  assert.equal(check.host, 'db-07');
  assert.equal(check.state, 'critical');
  assert.equal(check.description, 'DISK CRITICAL - /data is 97% full');
  assert.equal(check.source, 'agent');
  assert.equal(check.attributes.exit_code, '2');
  assert.equal(check.attributes.long_output, 'long output line one');
  assert.ok(check.ttl > 0, 'check events carry a ttl');
  const used = await until(async () => (await api<any[]>(server.url, '/api/v1/checks?host=db-07&service=check%20disk%20data%20used')).body[0], 'perfdata metric');
  assert.equal(used.metric, 97);
  assert.equal(used.attributes.uom, '%');
  assert.equal(used.attributes.crit, '95');
  const free = (await api<any[]>(server.url, '/api/v1/checks?host=db-07&service=check%20disk%20data%20free%20space')).body[0];
  assert.equal(free.metric, 3);

  const host = (await api<any>(server.url, '/api/v1/hosts/db-07')).body;
  assert.equal(host.state, 'critical', 'the host shows its worst state');
  assert.equal(host.facts.cpus !== undefined, true, 'facts arrive with the agent');
});

/** Emits numbered events at a steady pace: the producer side of the restart test. */
class NumberedEvents implements Observer {
  readonly kind = 'observer' as const;
  readonly name = 'numbered';
  readonly intervalMs = 5;
  n = 0;
  constructor(private readonly total: number) {}
  observe(ctx: MonitorContext): void {
    for (let i = 0; i < 20 && this.n < this.total; i++) {
      ctx.emit({ id: `ev-${String(this.n).padStart(6, '0')}`, service: `seq ${this.n % 7}`, metric: this.n, state: 'ok' });
      this.n++;
    }
  }
}

test('the server is stopped while the agent keeps producing, then started again: every event arrives, none twice', async (t) => {
  const defer = deferrals(t);
  const { dir, cleanup } = tempDir();
  defer(cleanup);
  const serverDir = join(dir, 'server');
  const restartable = await restartableServer(defer, serverDir);
  const ingest = restartable.server.receiver.endpoint;
  const total = 6000;
  const source = new NumberedEvents(total);
  const agent = await startAgent({ dataDir: join(dir, 'agent'), upstreams: [ingest], monitors: [source], config: { batch: { max_events: 50 } } });
  defer(() => agent.stop());

  await until(() => source.n > 1000, 'the agent to produce');
  await restartable.stop();
  const producedWhileDown = source.n;
  await until(() => source.n > producedWhileDown + 1500, 'the agent to keep producing while the server is down');
  assert.ok(agent.producer.unacknowledged.events > 0, 'events wait in the spool while the server is down');
  const server = await restartable.start();
  await until(() => source.n >= total, 'all events produced', 30_000);
  await agent.producer.drained();

  const db = new Database(join(serverDir, 'blick.db'), { readonly: true });
  defer(() => db.close());
  const row = db.prepare("SELECT count(*) AS n, count(DISTINCT id) AS d, min(metric) AS lo, max(metric) AS hi FROM events JOIN series USING (sid) WHERE service LIKE 'seq %'").get() as any;
  assert.equal(row.d, total, 'every event arrived');
  assert.equal(row.n, total, 'no event was stored twice');
  assert.equal(row.lo, 0);
  assert.equal(row.hi, total - 1);
  // the API agrees
  const page = await listAll(server.url, `/api/v1/events?service=seq%203&limit=10000`);
  assert.equal(page.length, Math.ceil((total - 3) / 7));
});

test('a check whose ttl runs out turns critical with an expired event from the server', async (t) => {
  const { server } = await serverForTest(t);
  const post = await api(server.url, '/api/v1/events', {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ events: [{ host: 'web-01', service: 'heartbeat', state: 'ok', ttl: 1 }] }),
  });
  assert.equal(post.status, 202);
  const t0 = Date.now();
  const check = await until(async () => {
    const c = (await api<any[]>(server.url, '/api/v1/checks?host=web-01')).body[0];
    return c?.state === 'critical' ? c : undefined;
  }, 'expiry', 5000);
  const waited = Date.now() - t0;
  assert.ok(waited >= 700, `not before the ttl (${waited} ms)`);
  assert.ok(waited < 2000, `within ttl + 1 s (${waited} ms)`);
  assert.match(check.description, /^expired: no event for web-01 heartbeat within its ttl of 1s \(last state ok\)/);
  assert.equal(check.source, 'server');
  assert.equal(check.attributes.expired, 'true');
  const history = (await listAll<any>(server.url, '/api/v1/events?host=web-01'));
  assert.deepEqual(history.map((e) => e.state), ['critical', 'ok'], 'history holds the event and its expiry, newest first');
  const m = await (await fetch(server.url + '/metrics')).text();
  assert.equal(metric(m, 'blick_events_expired_total'), 1);
  // expiry is reported once, not every tick
  await new Promise((r) => setTimeout(r, 600));
  assert.equal((await listAll<any>(server.url, '/api/v1/events?host=web-01')).length, 2);
});
