import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from '../../core/metrics.js';
import { recordingContext } from '../listeners/testing.js';
import { tempDir, until } from '../../../test/fixtures/blick.js';
import { CheckSetClient, parseCheckSet, type CheckSet } from './checkset.js';
import { ApiClient } from './http.js';
import { PuppetCatalogSender } from './puppet.js';
import { agentServerSchema, puppetSchema } from './schema.js';

/**
 * A loopback stand-in that speaks the contract's two routes (for unit tests of
 * the client only; the proof tests in test/classification/ use the real server).
 */
function standIn(): Promise<{ server: Server; url: string; puts: any[]; gets: IncomingMessage[]; setCheckSet(s: object): void; close(): Promise<void> }> {
  const puts: any[] = [];
  const gets: IncomingMessage[] = [];
  let set: any = { host: 'h1', version: 'v1', subscriptions: ['web'], checks: [], derived: [] };
  const held: ServerResponse[] = [];
  const server = createServer((req, res) => {
    assert.equal(req.headers.authorization, 'Bearer tok-0123456789abcdef');
    if (req.method === 'PUT') {
      let body = '';
      req.on('data', (c) => { body += c; });
      req.on('end', () => { puts.push({ url: req.url, body: JSON.parse(body) }); res.writeHead(200, { 'content-type': 'application/json' }).end('{"host":"h1","derived":[]}'); });
      return;
    }
    gets.push(req);
    const answer = (r: ServerResponse) => r.writeHead(200, { etag: `"${set.version}"`, 'content-type': 'application/json' }).end(JSON.stringify(set));
    if (req.headers['if-none-match'] === `"${set.version}"`) {
      if (req.url!.includes('wait=')) { held.push(res); return; }
      res.writeHead(304).end();
      return;
    }
    answer(res);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    resolve({
      server, url, puts, gets,
      setCheckSet(s) { set = s; for (const r of held.splice(0)) r.writeHead(200, { etag: `"${set.version}"` }).end(JSON.stringify(set)); },
      close: () => new Promise<void>((r) => { for (const h of held.splice(0)) h.destroy(); server.closeAllConnections(); server.close(() => r()); }),
    });
  }));
}

const TOKEN = 'tok-0123456789abcdef';

test('check set: fetched at start, changes arrive through the long-poll, kept on disk and used from there when the server is away', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const s = await standIn();
  const file = join(dir, 'checkset.json');
  const applied: { set: CheckSet; from: string }[] = [];
  const mk = (url: string) => new CheckSetClient(new ApiClient(agentServerSchema.parse({ url, token: TOKEN })), { file, subscriptions: ['web', 'db'], waitMs: 5000, backoffMs: 20, maxBackoffMs: 50, apply: async (set, from) => { applied.push({ set, from }); } });
  const client = mk(s.url);
  const ctx = recordingContext({ host: 'h1' });
  await client.start(ctx);
  await until(() => applied.length === 1, 'the first set');
  assert.equal(applied[0]!.from, 'server');
  assert.match(s.gets[0]!.url!, /^\/api\/v1\/hosts\/h1\/checkset\?subscriptions=web%2Cdb$/);
  await until(() => s.gets.some((g) => g.url!.includes('wait=5s') && g.headers['if-none-match'] === '"v1"'), 'a long-poll with the version');
  await until(() => existsSync(file), 'kept on disk');
  s.setCheckSet({ host: 'h1', version: 'v2', subscriptions: ['web'], checks: [{ name: 'c1', command: ['/bin/true'], interval: '1s', origin: { source: 'server.checks', subscription: 'web' } }], derived: [] });
  await until(() => applied.length === 2, 'the changed set, without a restart');
  assert.equal(applied[1]!.set.checks[0]!.name, 'c1');
  assert.equal(applied[1]!.set.checks[0]!.interval, 1000, 'parsed with the agent.checks schema');
  await until(() => JSON.parse(readFileSync(file, 'utf8')).version === 'v2', 'v2 on disk');
  await client.stop();
  await s.close();

  // the server is away: a new client (an agent restarted) uses the set on disk
  const away = mk(s.url);
  applied.length = 0;
  await away.start(recordingContext({ host: 'h1' }));
  await until(() => applied.length === 1, 'the set from disk');
  assert.equal(applied[0]!.from, 'disk');
  assert.equal(applied[0]!.set.version, 'v2');
  await away.stop();
});

test('check set: one entry the agent cannot run is left out (counted), the others stay; a broken envelope is refused', () => {
  const { set, skipped } = parseCheckSet(JSON.stringify({ host: 'h', version: '1', checks: [{ name: 'ok', command: ['/bin/true'] }, { name: 'bad', command: [] }], derived: [{ kind: 'nope' }] }));
  assert.deepEqual(set.checks.map((c) => c.name), ['ok']);
  assert.equal(skipped.length, 2);
  assert.match(skipped[0]!, /bad/);
  assert.throws(() => parseCheckSet('{"host": 1}'));
  assert.throws(() => parseCheckSet('not json'));
});

test('puppet: the catalog is sent at start and again when Puppet replaces it by rename; a bad one is counted and not sent; retried while the server is away', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const catalog = join(dir, 'h1.json');
  const write = (text: string) => { writeFileSync(catalog + '.tmp', text); renameSync(catalog + '.tmp', catalog); };
  write(JSON.stringify({ version: 1, environment: 'production', resources: [{ type: 'Class', title: 'Web' }, { type: 'Service', title: 'demo', parameters: { ensure: 'running' }, file: '/x/site.pp', line: 3 }] }));
  const s = await standIn();
  t.after(() => s.close());
  const metrics = new Registry();
  const sender = new PuppetCatalogSender(puppetSchema.parse({ catalog }), new ApiClient(agentServerSchema.parse({ url: s.url, token: TOKEN })), { metrics, backoffMs: 20, maxBackoffMs: 40, facts: () => ({ kernel: '6.1.0' }) });
  const ctx = recordingContext({ host: 'h1', realClock: true });
  await sender.start(ctx);
  t.after(() => sender.stop());
  await until(() => s.puts.length === 1, 'the catalog sent at start');
  assert.equal(s.puts[0].url, '/api/v1/hosts/h1/classification');
  assert.deepEqual(s.puts[0].body.classes, ['web']);
  assert.deepEqual(s.puts[0].body.resources, [{ type: 'Service', title: 'demo', parameters: { ensure: 'running' }, file: '/x/site.pp', line: 3 }]);
  assert.equal(s.puts[0].body.origin.version, '1');
  assert.deepEqual(s.puts[0].body.facts, { kernel: '6.1.0' }, 'the agent\'s facts go with the catalog');

  write('{"resources": [');
  await until(() => metrics.counter('blick_agent_puppet_catalog_refused_total', '').get({ reason: 'json' }) === 1, 'the bad catalog counted');
  assert.equal(s.puts.length, 1, 'a bad catalog is not sent');

  write(JSON.stringify({ version: 2, resources: [] }));
  await until(() => s.puts.length === 2, 'the new catalog sent after the rename');
  assert.equal(s.puts[1].body.origin.version, '2');
});

test('puppet: while the server is away the upload is retried with backoff until it is back', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const catalog = join(dir, 'h1.json');
  writeFileSync(catalog, JSON.stringify({ version: 7, resources: [] }));
  const s = await standIn();
  const port = (s.server.address() as AddressInfo).port;
  await s.close();
  const sender = new PuppetCatalogSender(puppetSchema.parse({ catalog }), new ApiClient(agentServerSchema.parse({ url: `http://127.0.0.1:${port}`, token: TOKEN })), { backoffMs: 20, maxBackoffMs: 40 });
  await sender.start(recordingContext({ host: 'h1', realClock: true }));
  t.after(() => sender.stop());
  await new Promise((r) => setTimeout(r, 100)); // a few failed attempts: the condition is that it recovers below
  const back = await standIn();
  t.after(() => back.close());
  await new Promise<void>((r) => { back.server.close(); back.server.listen(port, '127.0.0.1', () => r()); });
  await until(() => back.puts.length === 1, 'sent once the server is back');
  assert.equal(sender.lastSent?.origin.version, '7');
});
