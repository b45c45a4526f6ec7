import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { agentProcess, deferrals, exited, listAll, ROOT, startServer, tempDir, until } from '../fixtures/blick.js';
import { BlickAgent, agentConfigSchema } from '../../src/agent/index.js';
import { createLogger } from '../../src/core/log.js';
import { Registry } from '../../src/core/metrics.js';
import type { BlickServer } from '../../src/server/index.js';

const TOKEN = 'checks-pull-token-0123456789abcdef';
const HOST = 'pull-host';
const PLUGIN = join(ROOT, 'test', 'fixtures', 'plugins', 'check_counter.sh');
const lines = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).length : 0);

test('server.checks reach a running agent that subscribes (server restarted with the new config, agent not); server gone → the agent keeps running its set, events arrive later; restarted while the server is down → the set on disk', { timeout: 180_000 }, async (t) => {
  const defer = deferrals(t);
  const { dir, cleanup } = tempDir();
  defer(cleanup);
  const serverDir = join(dir, 'server');
  const base = { tokens: [{ token: TOKEN, role: 'write' }] };
  let server: BlickServer = await startServer({ dataDir: serverDir, config: base });
  let running = true;
  defer(() => (running ? server.stop() : undefined));
  const ports = { ingest: server.receiver.endpoint, http: server.url.replace('http://', '') };
  const restart = async (config: Record<string, unknown>) => {
    if (running) { running = false; await server.stop(); }
    server = await startServer({ dataDir: serverDir, config: { ...ports, ...config } });
    running = true;
  };
  const auth = { headers: { authorization: `Bearer ${TOKEN}` } };
  const pulled = async () => (await listAll<any>(server.url, `/api/v1/events?host=${HOST}&service=pulled`, auth));

  const a = agentProcess(defer, dir, {
    host: HOST, upstream: server.receiver.endpoint,
    lines: [
      `  server: { url: ${JSON.stringify(server.url)}, token: ${TOKEN}, wait: 5s }`,
      '  subscriptions: [web]',
      // a local check the server also defines: the local one runs
      `  checks: [{ name: local-wins, command: [${JSON.stringify(PLUGIN)}], interval: 1s }]`,
      '  disk: { enabled: false }',
    ],
  });
  let agent = a.start();
  const setFile = join(a.dataDir, 'classification', 'checkset.json');
  await until(() => existsSync(setFile), 'the (empty) check set fetched and kept', 30_000);
  assert.deepEqual(JSON.parse(readFileSync(setFile, 'utf8')).checks, []);

  // the check is added to the server's config; the server restarts; the agent does not
  // each run of the pulled check leaves a line in `runs`: what the agent does while the server is away is seen there
  const runs = join(dir, 'runs');
  const checks = [
    { name: 'pulled', command: ['/bin/sh', '-c', 'echo run >> "$1"; echo "OK - tick"', 'sh', runs], interval: '1s', subscriptions: ['web'] },
    { name: 'not-mine', command: [PLUGIN], interval: '1s', subscriptions: ['db'] },
    { name: 'local-wins', command: ['/bin/false'], interval: '1s', subscriptions: ['web'] },
  ];
  await restart({ ...base, checks });
  const first = await until(async () => (await pulled())[0], 'the pulled check\'s result at the server', 30_000);
  assert.equal(first.state, 'ok');
  assert.equal(first.attributes.subscription, 'web');
  assert.equal(agent.exitCode, null, 'the agent was not restarted');
  assert.deepEqual(await listAll(server.url, `/api/v1/events?host=${HOST}&service=not-mine`, auth), [], 'a check of another subscription does not run');
  const local = await until(async () => (await listAll<any>(server.url, `/api/v1/events?host=${HOST}&service=local-wins`, auth))[0], 'the local check');
  assert.equal(local.state, 'ok', 'the local check ran, not the server\'s /bin/false');
  assert.equal(JSON.parse(readFileSync(setFile, 'utf8')).checks.length, 2, 'the new set kept on disk');

  // the server goes away: the agent keeps running the check; its events spool
  running = false;
  await server.stop();
  const downAt = Date.now();
  const atStop = lines(runs);
  await until(() => lines(runs) >= atStop + 2, 'the check runs on with the server gone', 20_000);
  // the agent restarted while the server is down runs the set kept on disk
  agent.kill('SIGTERM');
  await exited(agent);
  const restartedAt = Date.now();
  const atRestart = lines(runs);
  agent = a.start();
  await until(() => lines(runs) >= atRestart + 2, 'the restarted agent runs the check from the set on disk', 30_000);
  const backAt = Date.now();
  await restart({ ...base, checks });
  // what was produced while the server was down arrives from the spool, the restarted agent's too
  await until(async () => (await pulled()).some((e: any) => e.time > restartedAt && e.time < backAt), 'a result the restarted agent produced while the server was down', 30_000);
  assert.ok((await pulled()).some((e: any) => e.time > downAt && e.time < restartedAt), 'results produced during the outage before the agent restart arrived');
  assert.equal(agent.exitCode, null, agent.output());
});

test('the agent reaches the server over HTTPS with agent.server.ca and token_file; a wrong token is refused and retried, an untrusted certificate never reached', { timeout: 60_000 }, async (t) => {
  const defer = deferrals(t);
  const { dir, cleanup } = tempDir();
  defer(cleanup);
  const cert = join(dir, 'cert.pem'), key = join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });
  const server = await startServer({ dataDir: join(dir, 'server'), config: { tokens: [{ token: TOKEN, role: 'read' }], tls: { cert_file: cert, key_file: key }, checks: [{ name: 'tls-pulled', command: [PLUGIN], interval: '1s', subscriptions: ['web'] }] } });
  defer(() => server.stop());
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, `${TOKEN}\n`);
  const agentWith = async (name: string, serverConfig: Record<string, unknown>) => {
    const metrics = new Registry();
    const config = agentConfigSchema.parse({ host: HOST, upstreams: [server.receiver.endpoint], heartbeat: 0, subscriptions: ['web'], server: { url: server.url, ...serverConfig } });
    const agent = new BlickAgent(config, { dataDir: join(dir, name), metrics, log: createLogger('test', { level: 'silent' }) });
    await agent.start();
    defer(() => agent.stop());
    return { agent, errors: (reason: string) => metrics.counter('blick_agent_checkset_errors_total', '').get({ reason }) };
  };
  const good = await agentWith('good', { token_file: tokenFile, ca: cert });
  await until(() => good.agent.checkSet?.current?.checks.some((c) => c.name === 'tls-pulled'), 'the set over HTTPS');
  const wrong = await agentWith('wrong', { token: 'not-the-token-0123456789', ca: cert });
  await until(() => wrong.errors('status') >= 2, 'a refused token is retried');
  assert.equal(wrong.agent.checkSet?.current, undefined);
  const untrusted = await agentWith('untrusted', { token: TOKEN });
  await until(() => untrusted.errors('unreachable') >= 1, 'an untrusted certificate is not talked to');
  assert.equal(untrusted.agent.checkSet?.current, undefined);
});
