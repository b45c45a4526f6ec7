import { test } from 'node:test';
import assert from 'node:assert/strict';
import { api, deferrals, startServer, tempDir, until } from '../fixtures/blick.js';
import { connectSse, type SseClient } from './sse.js';

const ADMIN = 'stream-admin-token-0123456789';
const READER = 'stream-read-token-0123456789';
const auth = (t: string) => ({ authorization: `Bearer ${t}` });

async function post(url: string, events: unknown[]) {
  const r = await api(url, '/api/v1/events', { method: 'POST', headers: { ...auth(ADMIN), 'content-type': 'application/json' }, body: JSON.stringify({ events }) });
  assert.equal(r.status, 202);
  return r.body.ids as string[];
}

async function setup(t: { after(fn: () => unknown): void }) {
  const defer = deferrals(t);
  const tmp = tempDir();
  defer(tmp.cleanup);
  const server = await startServer({
    dataDir: tmp.dir,
    config: {
      tokens: [{ token: ADMIN, role: 'admin' }, { token: READER, role: 'read' }],
      rules: [{ name: 'db-down', match: { service: 'db*' }, when: 'state == "critical"', severity: 'critical' }],
    },
  });
  defer(() => server.stop());
  const clients: SseClient[] = [];
  defer(() => { for (const c of clients) c.close(); });
  const sse = async (path: string, headers: Record<string, string> = {}) => {
    const c = await connectSse(server.url + path, headers);
    clients.push(c);
    return c;
  };
  return { server, sse };
}

test('the stream sends only what matches its host, service and state filters', async (t) => {
  const { server, sse } = await setup(t);
  const filtered = await sse(`/api/v1/stream?host=web-1&state=critical&token=${READER}`);
  const all = await sse(`/api/v1/stream?token=${READER}`);
  assert.equal(filtered.status, 200);
  await until(() => filtered.frames.some((f) => f.event === 'hello') && all.frames.some((f) => f.event === 'hello'), 'hello frames');
  await post(server.url, [
    { host: 'web-1', service: 'http', state: 'ok', description: 'fine' },
    { host: 'web-2', service: 'http', state: 'critical', description: 'other host' },
    { host: 'web-1', service: 'disk /', state: 'critical', description: 'full' },
  ]);
  await post(server.url, [{ host: 'web-1', service: 'cpu', metric: 0.5 }]);
  await until(() => all.items(['event']).length === 4, 'all four events on the unfiltered stream');
  await new Promise((r) => setTimeout(r, 100));
  const got = filtered.items();
  assert.deepEqual(got.map((i) => [i.event, i.data.host, i.data.service, i.data.state]), [
    ['event', 'web-1', 'disk /', 'critical'],
    ['check', 'web-1', 'disk /', 'critical'],
  ]);
  // kinds narrows further; a filter without wildcards matches the whole name only
  const onlyChecks = await sse(`/api/v1/stream?service=http&kinds=check&token=${READER}`);
  // host and service filters are globs
  const globbed = await sse(`/api/v1/stream?host=web-?&service=${encodeURIComponent('http*')}&kinds=event&token=${READER}`);
  await until(() => onlyChecks.frames.some((f) => f.event === 'hello') && globbed.frames.some((f) => f.event === 'hello'), 'hello');
  await post(server.url, [
    { host: 'web-3', service: 'http', state: 'warning', description: 'slow' },
    { host: 'web-3', service: 'https', state: 'warning' },
    { host: 'web-33', service: 'http', state: 'ok' },
    { host: 'db-3', service: 'http', state: 'ok' },
  ]);
  await until(() => onlyChecks.items().length >= 3 && globbed.items().length >= 2, 'the check changes and the globbed events');
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(onlyChecks.items().map((i) => [i.event, i.data.host, i.data.service, i.data.before, i.data.state]), [
    ['check', 'web-3', 'http', null, 'warning'], ['check', 'web-33', 'http', null, 'ok'], ['check', 'db-3', 'http', null, 'ok'],
  ]);
  assert.deepEqual(globbed.items().map((i) => [i.data.host, i.data.service]), [['web-3', 'http'], ['web-3', 'https']]);
});

test('the stream carries alert changes: firing, then resolved', async (t) => {
  const { server, sse } = await setup(t);
  const s = await sse(`/api/v1/stream?kinds=alert`, auth(READER));
  await until(() => s.frames.some((f) => f.event === 'hello'), 'hello');
  await post(server.url, [{ host: 'db-1', service: 'db primary', state: 'critical', description: 'down' }]);
  await post(server.url, [{ host: 'db-1', service: 'db primary', state: 'ok', description: 'back' }]);
  await until(() => s.items().length === 2, 'two alert changes');
  assert.deepEqual(s.items().map((i) => [i.data.rule, i.data.host, i.data.to, i.data.status]), [['db-down', 'db-1', 'firing', 'firing'], ['db-down', 'db-1', 'resolved', 'resolved']]);
});

test('the stream sends heartbeat comments and refuses a missing or unknown token', async (t) => {
  const { server, sse } = await setup(t);
  const s = await sse(`/api/v1/stream?heartbeat=1&token=${READER}`);
  await until(() => s.frames.filter((f) => f.comment?.startsWith('heartbeat')).length >= 2, 'two heartbeats', 5000);
  assert.equal((await api(server.url, '/api/v1/stream')).status, 401);
  assert.equal((await api(server.url, '/api/v1/stream?token=not-a-known-token-at-all')).status, 401);
  assert.equal((await api(server.url, '/api/v1/stream?state=broken&token=' + READER)).status, 400);
});

test('a client that reconnects with Last-Event-ID gets exactly the items it missed', async (t) => {
  const { server, sse } = await setup(t);
  const first = await sse(`/api/v1/stream?kinds=event&host=h`, auth(READER));
  await until(() => first.frames.some((f) => f.event === 'hello'), 'hello');
  await post(server.url, [{ host: 'h', service: 'a', metric: 1 }, { host: 'other', service: 'a', metric: 1 }]);
  await until(() => first.items().length === 1, 'the first event');
  const lastSeen = first.items()[0]!.id;
  first.close();
  await first.closed;
  // missed while disconnected: three for h, one for another host
  const missed = await post(server.url, [{ host: 'h', service: 'b', metric: 2 }, { host: 'h', service: 'c', metric: 3 }, { host: 'x', service: 'c', metric: 3 }]);
  const missed2 = await post(server.url, [{ host: 'h', service: 'd', metric: 4 }]);
  const again = await sse(`/api/v1/stream?kinds=event&host=h`, { ...auth(READER), 'last-event-id': String(lastSeen) });
  await until(() => again.items().length >= 3, 'the missed events');
  await post(server.url, [{ host: 'h', service: 'e', metric: 5 }]);
  await until(() => again.items().length >= 4, 'the live event after the replay');
  const got = again.items();
  assert.deepEqual(got.map((i) => i.data.id), [missed[0], missed[1], missed2[0], got[3]!.data.id]);
  assert.equal(got[3]!.data.service, 'e');
  assert.ok(got.every((g, i) => i === 0 || g.id > got[i - 1]!.id), 'ids increase');
  assert.ok(!again.frames.some((f) => f.event === 'hello' || f.event === 'reset'), 'a resume sends no hello or reset');
  // an id the buffer no longer covers (or from another server run) asks the client to reload
  const stale = await sse(`/api/v1/stream?lastEventId=5&token=${READER}`);
  await until(() => stale.frames.some((f) => f.event === 'reset'), 'a reset frame');
});
