import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import type { MonitorContext, Observer } from '../src/agent/monitor.js';
import { api, deferrals, metric, runBlick, startAgent, startServer, tempDir, until } from './fixtures/blick.js';

class Ping implements Observer {
  readonly kind = 'observer' as const;
  readonly name = 'ping';
  readonly intervalMs = 100;
  observe(ctx: MonitorContext): void { ctx.emit({ service: 'ping', state: 'ok' }); }
}

test('with CURVE on, only producers whose key is on the allow list get events in; two listed keys (a rotation) both get in', async (t) => {
  const defer = deferrals(t);
  const { dir, cleanup } = tempDir();
  defer(cleanup);
  // keys made by the real command
  for (const who of ['server', 'listed', 'rotated', 'unlisted']) {
    const r = await runBlick(['keygen', '--out', join(dir, who)]);
    assert.equal(r.code, 0, r.stderr);
  }
  const pub = (who: string) => readFileSync(join(dir, who, 'blick.pub'), 'utf8').trim();
  const keys = (who: string) => ({ secret_key_file: join(dir, who, 'blick.key'), public_key_file: join(dir, who, 'blick.pub'), server_public_key_file: join(dir, 'server', 'blick.pub') });
  const server = await startServer({ dataDir: join(dir, 'db'), curve: { secret_key_file: join(dir, 'server', 'blick.key'), public_key_file: join(dir, 'server', 'blick.pub'), allow: [pub('listed'), pub('rotated')] } });
  defer(() => server.stop());
  const up = [server.receiver.endpoint];
  const listed = await startAgent({ dataDir: join(dir, 'a1'), upstreams: up, curve: keys('listed'), config: { host: 'listed-host' }, monitors: [new Ping()] });
  defer(() => listed.stop());
  // a producer's key being rotated: the old and the new key are both on the list for a while
  const rotated = await startAgent({ dataDir: join(dir, 'a4'), upstreams: up, curve: keys('rotated'), config: { host: 'rotated-host' }, monitors: [new Ping()] });
  defer(() => rotated.stop());
  const unlisted = await startAgent({ dataDir: join(dir, 'a2'), upstreams: up, curve: keys('unlisted'), config: { host: 'unlisted-host' }, monitors: [new Ping()] });
  defer(() => unlisted.stop());
  const plaintext = await startAgent({ dataDir: join(dir, 'a3'), upstreams: up, config: { host: 'plaintext-host' }, monitors: [new Ping()] });
  defer(() => plaintext.stop());

  await until(async () => (await api<any[]>(server.url, '/api/v1/checks?host=listed-host')).body.length > 0, 'the listed producer to get in');
  await until(async () => (await api<any[]>(server.url, '/api/v1/checks?host=rotated-host')).body.length > 0, 'the second listed key to get in');
  await until(async () => metric(await (await fetch(server.url + '/metrics')).text(), 'blick_ingest_connections_refused_total') >= 1, 'the unlisted key to be refused');
  await new Promise((r) => setTimeout(r, 1000));
  const hosts = (await api<any[]>(server.url, '/api/v1/hosts')).body.map((h) => h.host);
  assert.deepEqual(hosts.sort(), ['listed-host', 'rotated-host']);
  assert.equal(unlisted.producer.stats.batchesAcked, 0);
  assert.ok(unlisted.producer.unacknowledged.events > 0, 'the refused producer keeps its events spooled');
  assert.equal(plaintext.producer.stats.batchesAcked, 0);
});

test('blick keygen refuses to overwrite an existing key pair (exit 2) unless --force', async (t) => {
  const defer = deferrals(t);
  const { dir, cleanup } = tempDir();
  defer(cleanup);
  const out = join(dir, 'keys');
  const first = await runBlick(['keygen', '--out', out]);
  assert.equal(first.code, 0, first.stderr);
  const pair = () => readFileSync(join(out, 'blick.key'), 'utf8') + readFileSync(join(out, 'blick.pub'), 'utf8');
  const before = pair();
  const again = await runBlick(['keygen', '--out', out]);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /blick\.key and .*blick\.pub already exist; refusing to overwrite \(use --force/);
  assert.equal(pair(), before, 'the key pair is untouched');
  const forced = await runBlick(['keygen', '--out', out, '--force']);
  assert.equal(forced.code, 0, forced.stderr);
  assert.notEqual(pair(), before, 'replaced with --force');
  assert.match(forced.stdout, new RegExp(readFileSync(join(out, 'blick.pub'), 'utf8').trim().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
});
