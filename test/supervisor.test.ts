import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { connect, createServer } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as zmq from 'zeromq';
import type { MonitorContext, Observer } from '../src/agent/monitor.js';
import { createLogger } from '../src/core/log.js';
import { StatsdDaemon } from '../src/statsd/daemon.js';
import { createStatsd, statsdConfigSchema } from '../src/statsd/index.js';
import { hasProgram, missing, run } from './agent/require.js';
import { api, deferrals, exited, ROOT, serverForTest, spawnBlick, startAgent, tempDir, until, upEnv } from './fixtures/blick.js';
import { freeTcpPort, freeUdpPort } from './statsd/fixtures.js';

/** Tests reach a component's socket the way a dying libzmq or kernel would: closed under it. */
const socketOf = (c: unknown) => (c as { socket: { close(): void } }).socket;
/** Waits (bounded) for the failure `c` reports. */
function failureOf(c: { onFailure(l: (err: Error) => void): void }): Promise<Error> {
  let reported: Error | undefined;
  c.onFailure((err) => { reported = err; });
  return until(() => reported, 'the component to report its failure');
}

/** True once nothing accepts TCP connections on 127.0.0.1:port. */
function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => { s.destroy(); resolve(false); });
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}
const portOf = (url: string) => Number(/:(\d+)\/?$/.exec(url)![1]);

class Ticker implements Observer {
  readonly kind = 'observer' as const;
  readonly name = 'ticker';
  readonly intervalMs = 20;
  runs = 0;
  observe(ctx: MonitorContext): void { this.runs++; ctx.emit({ service: 'tick', state: 'ok' }); }
}

test('a server whose ingest socket dies stops everything (API, store) and reports the failure instead of running deaf', async (t) => {
  const { server } = await serverForTest(t);
  assert.equal((await api(server.url, '/healthz')).status, 200);
  const failed = failureOf(server);
  socketOf(server.receiver).close();
  const err = await failed;
  assert.match(err.message, /^receiver: the ingest socket tcp:\/\/127\.0\.0\.1:\d+ (closed while running|failed)/);
  // the API went with it: nothing answers on its port, and the ingest endpoint is free to bind again
  await until(() => refused(portOf(server.url)), 'the HTTP listener to be closed');
  const probe = new zmq.Router({ linger: 0 });
  await probe.bind(server.receiver.endpoint);
  probe.close();
  await assert.rejects(server.store.queryEvents({ limit: 1 }), 'the store is closed');
});

test('a server whose HTTP listener closes under it stops everything and reports the failure', async (t) => {
  const { server } = await serverForTest(t);
  const failed = failureOf(server);
  server.api.server.close();
  assert.match((await failed).message, /^http: the HTTP listener http:\/\/127\.0\.0\.1:\d+ closed while running/);
  const probe = new zmq.Router({ linger: 0 });
  await probe.bind(server.receiver.endpoint); // the receiver went with it
  probe.close();
});

test('an agent whose producer socket dies stops its monitors and reports the failure', async (t) => {
  const defer = deferrals(t);
  const { dir, cleanup } = tempDir();
  defer(cleanup);
  const ticker = new Ticker();
  const agent = await startAgent({ dataDir: dir, upstreams: ['tcp://127.0.0.1:1'], monitors: [ticker] });
  defer(() => agent.stop());
  const failed = failureOf(agent);
  await until(() => ticker.runs > 0, 'the observer to run');
  socketOf(agent.producer).close();
  assert.match((await failed).message, /^producer: the producer's (receive|send) loop (ended while running|failed)/);
  const runs = ticker.runs;
  await new Promise((r) => setTimeout(r, 100)); // five observer intervals: a running agent would have ticked
  assert.equal(ticker.runs, runs, 'the monitors were stopped');
});

test('a statsd daemon whose UDP socket dies closes its TCP listener and reports the failure', async (t) => {
  const defer = deferrals(t);
  const { dir, cleanup } = tempDir();
  defer(cleanup);
  const config = statsdConfigSchema.parse({ udp: '127.0.0.1:0', tcp: '127.0.0.1:0', workers: 0, graphite: { host: '' } });
  const daemon = new StatsdDaemon(config, { dataDir: dir, log: createLogger('test', { level: 'silent' }) });
  await daemon.start();
  defer(() => daemon.stop());
  const failed = failureOf(daemon);
  (daemon.statsd as unknown as { udp: { close(): void } }).udp.close();
  assert.equal((await failed).message, `statsd: the statsd udp listener on 127.0.0.1:${daemon.statsd.addresses.udp} closed while running`);
  await until(() => refused(daemon.statsd.addresses.tcp!), 'the TCP listener to be closed');
});

test('a UDP error that leaves the socket bound (the kernel aborting it, ss -K) is counted and statsd keeps receiving', async (t) => {
  if (!(await hasProgram('ss'))) return missing(t, 'ss', 'apt-get install iproute2');
  // a fixed port, as statsd runs (8125): an explicitly bound port stays bound through the abort
  const port = await freeUdpPort();
  const statsd = createStatsd({ udp: `127.0.0.1:${port}`, workers: 0, graphite: { host: '' } }, { log: createLogger('test', { level: 'silent' }) });
  await statsd.start();
  t.after(() => statsd.stop());
  let failure: Error | undefined;
  statsd.onFailure((err) => { failure = err; });
  await run('ss', ['-K', '-u', '-a', 'src', `127.0.0.1:${port}`]);
  await until(() => statsd.listenerErrors > 0, 'the aborted socket to report ECONNABORTED');
  const client = createSocket('udp4');
  t.after(() => client.close());
  await until(async () => {
    await new Promise<void>((r) => client.send('after.abort:1|c', port, '127.0.0.1', () => r()));
    return (await statsd.metrics('counters')).has('after.abort');
  }, 'a counter sent after the abort to arrive');
  assert.equal(failure, undefined, 'not reported as a failure');
});

test('blick server whose HTTP port is taken exits 1 with one clear line and no stack trace', async (t) => {
  const defer = deferrals(t);
  const { dir, cleanup } = tempDir();
  defer(cleanup);
  const thief = createServer();
  await new Promise<void>((r) => thief.listen(0, '127.0.0.1', r));
  defer(() => new Promise((r) => thief.close(r)));
  const port = (thief.address() as { port: number }).port;
  const ingest = await freeTcpPort();
  const file = join(dir, 'server.yaml');
  writeFileSync(file, `data_dir: ${JSON.stringify(join(dir, 'data'))}\nserver:\n  http: 127.0.0.1:${port}\n  ingest: tcp://127.0.0.1:${ingest}\n`);
  const child = spawnBlick(['server', '--config', file], { env: { BLICK_LOG_LEVEL: 'error' } });
  defer(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); });
  assert.equal(await exited(child), 1, child.output());
  assert.match(child.output(), new RegExp(`blick server: http failed to start: listen EADDRINUSE: address already in use 127\\.0\\.0\\.1:${port}\\n`));
  assert.doesNotMatch(child.output(), /\n\s+at /, 'no stack trace');
  assert.ok(await refused(ingest), 'the ingest port is released');
});

test('blick up whose statsd port is taken stops the server and agent it started, in reverse, and exits 1', async (t) => {
  const defer = deferrals(t);
  const { dir, cleanup } = tempDir();
  defer(cleanup);
  const thief = createSocket('udp4');
  await new Promise<void>((r) => thief.bind(0, '127.0.0.1', r));
  defer(() => new Promise<void>((r) => thief.close(() => r())));
  const udp = thief.address().port;
  const ingest = await freeTcpPort();
  const child = spawnBlick(['up'], { env: upEnv(dir, ingest, { BLICK_STATSD_UDP: `127.0.0.1:${udp}` }) });
  defer(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); });
  assert.equal(await exited(child), 1, child.output());
  const out = child.output();
  assert.match(out, new RegExp(`blick up: statsd failed to start: bind EADDRINUSE 127\\.0\\.0\\.1:${udp}\\n`));
  assert.doesNotMatch(out, /\n\s+at /, 'no stack trace');
  const order = ['"server started"', '"agent started"', '"agent stopped"', '"server stopped"'].map((m) => out.indexOf(m));
  assert.ok(order.every((i, k) => i >= 0 && (k === 0 || i > order[k - 1]!)), `started server, agent; stopped agent, server:\n${out}`);
});

/** The pid listening on 127.0.0.1:port (to clean up a blick that outlived npm), if any. */
function listenerPid(port: number): number | undefined {
  try {
    const out = execFileSync('ss', ['-Hltnp', `sport = :${port}`], { encoding: 'utf8' });
    const m = /pid=(\d+)/.exec(out);
    return m ? Number(m[1]) : undefined;
  } catch { return undefined; }
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`${signal} to \`npm start\` stops blick and frees its ports`, async (t) => {
    const defer = deferrals(t);
    const { dir, cleanup } = tempDir();
    defer(cleanup);
    const ingest = await freeTcpPort();
    // --ignore-scripts skips the prestart build (the tests run on a built tree); `start` itself runs
    const npm = spawn('npm', ['start', '--ignore-scripts'], { cwd: ROOT, env: { ...process.env, ...upEnv(dir, ingest), npm_config_update_notifier: 'false' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    npm.stdout.on('data', (b) => { out += b; });
    npm.stderr.on('data', (b) => { out += b; });
    defer(async () => {
      if (npm.exitCode === null && npm.signalCode === null) { npm.kill('SIGKILL'); await exited(npm); }
      const orphan = listenerPid(ingest);
      if (orphan) process.kill(orphan, 'SIGKILL');
    });
    await until(() => out.includes('"statsd listening"'), `blick up to start under npm:\n${out}`, 30_000);
    const http = portOf(JSON.parse(out.split('\n').find((l) => l.includes('"server started"'))!).http);
    assert.equal(await refused(http), false);
    npm.kill(signal);
    await until(() => npm.exitCode !== null || npm.signalCode !== null, `npm to exit on ${signal}`);
    await until(async () => (await refused(http)) && (await refused(ingest)), `the HTTP (${http}) and ingest (${ingest}) ports to be free after npm exited:\n${out}`);
    assert.match(out, new RegExp(`"signal":"${signal}","msg":"shutting down"`));
  });
}
