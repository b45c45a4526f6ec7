import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { api, deferrals, runBlick, startAgent, startServer, tempDir, until } from '../fixtures/blick.js';
import { relayProcess } from './processes.js';

test('a relay refuses a plaintext ingest beyond loopback and an HTTP listener beyond loopback without a token (exit 2, naming the key)', async (t) => {
  const defer = deferrals(t);
  const { dir, cleanup } = tempDir();
  defer(cleanup);
  const file = join(dir, 'relay.yaml');
  writeFileSync(file, `data_dir: ${JSON.stringify(join(dir, 'data'))}\nrelay:\n  ingest: tcp://0.0.0.0:0\n  http: 127.0.0.1:0\n`);
  const open = await runBlick(['relay', '--config', file]);
  assert.equal(open.code, 2, open.stderr);
  assert.match(open.stderr, /relay\.ingest is tcp:\/\/0\.0\.0\.0:0, which is not loopback, and CURVE is not configured/);
  writeFileSync(file, `data_dir: ${JSON.stringify(join(dir, 'data'))}\nrelay:\n  ingest: tcp://127.0.0.1:0\n  http: 0.0.0.0:0\n`);
  const http = await runBlick(['relay', '--config', file]);
  assert.equal(http.code, 2, http.stderr);
  assert.match(http.stderr, /relay\.http is 0\.0\.0\.0:0, which is not loopback, and relay\.http_token is not set/);
  const check = await runBlick(['check-config', file]);
  assert.equal(check.code, 0, 'the file itself is valid: the refusal is the daemon\'s, at start');
});

test('a relay with CURVE: only listed producers get in (the refusal counted), it forwards over CURVE, and /metrics asks for relay.http_token', { timeout: 60_000 }, async (t) => {
  const defer = deferrals(t);
  const { dir, cleanup } = tempDir();
  defer(cleanup);
  for (const who of ['server', 'relay', 'listed', 'unlisted']) assert.equal((await runBlick(['keygen', '--out', join(dir, who)])).code, 0);
  const pub = (who: string) => readFileSync(join(dir, who, 'blick.pub'), 'utf8').trim();
  const key = (who: string) => ({ secret_key_file: join(dir, who, 'blick.key'), public_key_file: join(dir, who, 'blick.pub') });
  // the server admits only the relay: the agents' keys are the relay's business
  const server = await startServer({ dataDir: join(dir, 'db'), curve: { ...key('server'), allow: [pub('relay')] } });
  defer(() => server.stop());
  const token = 'relay-metrics-token-0123456789';
  const relay = await relayProcess(defer, dir, 'relay-c', server.receiver.endpoint, [`  http_token: ${token}`], [
    'curve:',
    `  secret_key_file: ${JSON.stringify(join(dir, 'relay', 'blick.key'))}`,
    `  public_key_file: ${JSON.stringify(join(dir, 'relay', 'blick.pub'))}`,
    `  server_public_key_file: ${JSON.stringify(join(dir, 'server', 'blick.pub'))}`,
    `  allow: [${JSON.stringify(pub('listed'))}]`,
  ]);
  await relay.start();
  const toRelay = (who: string) => ({ ...key(who), server_public_key_file: join(dir, 'relay', 'blick.pub') });
  const listed = await startAgent({ dataDir: join(dir, 'a1'), upstreams: [relay.ingest], curve: toRelay('listed'), config: { host: 'listed-host', heartbeat: '100ms' } });
  defer(() => listed.stop());
  const unlisted = await startAgent({ dataDir: join(dir, 'a2'), upstreams: [relay.ingest], curve: toRelay('unlisted'), config: { host: 'unlisted-host', heartbeat: '100ms' } });
  defer(() => unlisted.stop());
  await until(async () => (await api<any[]>(server.url, '/api/v1/checks?host=listed-host')).body.length > 0, 'the listed agent\'s events through the relay');
  await until(async () => (await relay.figure('blick_ingest_connections_refused_total')) >= 1, 'the unlisted key to be refused by the relay');
  assert.equal(unlisted.producer.stats.batchesAcked, 0, 'the relay acknowledged nothing of the unlisted producer');
  assert.deepEqual((await api<any[]>(server.url, '/api/v1/checks?host=unlisted-host')).body, []);
  assert.equal((await fetch(`${relay.url}/metrics`)).status, 401, '/metrics without the token');
  assert.equal((await fetch(`${relay.url}/metrics`, { headers: { authorization: 'Bearer wrong-token-wrong-token' } })).status, 401);
  assert.equal((await fetch(`${relay.url}/healthz`)).status, 200, 'probes need no token');
});
