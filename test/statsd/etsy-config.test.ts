// `blick statsd --config FILE` with Etsy statsd's own config files (config.js, as
// Etsy's tests and /etc/statsd write them) and with Etsy's keys in Blick's YAML:
// the real process starts, warns about what it does not use, listens where the
// file asks (a Unix socket included) and nowhere else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { connect, createServer, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { deferrals, exited, runBlick, spawnBlick, tempDir, until } from '../fixtures/blick.js';
import { adminCommand, boundPorts, etsyTestConfig, freeTcpPort, freeUdpPort, lineListener, sendUdp } from './fixtures.js';

const require = createRequire(import.meta.url);
const ETSY_TESTS = join(dirname(require.resolve('statsd/stats.js')), 'test');
/** no side channel (an Etsy file has no upstreams); logs as JSON lines */
const ENV = { BLICK_STATSD_UPSTREAMS: '[]', BLICK_LOG_LEVEL: 'warn', BLICK_LOG_FORMAT: 'json' };

type Daemon = ChildProcess & { output: () => string };

/** `blick statsd --config file` as its own process, up once its admin port answers. */
async function statsd(defer: (fn: () => unknown) => void, file: string, admin: number): Promise<Daemon> {
  const child = spawnBlick(['statsd', '--config', file], { env: ENV });
  defer(async () => { if (child.exitCode === null && child.signalCode === null) { child.kill('SIGKILL'); await exited(child); } });
  await until(async () => {
    if (child.exitCode !== null) throw new Error(`blick statsd exited with ${child.exitCode}:\n${child.output()}`);
    return adminCommand(admin, 'health').then((a) => a.startsWith('health: up'), () => false);
  }, `blick statsd --config ${file} answering on its admin port`);
  return child;
}

/** The keys the daemon warned it does not use, once it has logged `n` such warnings (lines may trail its admin port). */
async function warned(child: Daemon, n: number): Promise<string[]> {
  await until(() => unusedWarnings(child.output()).length >= n, `${n} warnings (output: ${child.output()})`);
  return unusedWarnings(child.output());
}

function unusedWarnings(output: string): string[] {
  return output.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg: string; key?: string })
    .filter((r) => /is not used by Blick/.test(r.msg)).map((r) => r.key!).sort();
}

/** A carbon stand-in that keeps every byte (the pickle protocol is not lines). */
async function byteListener(): Promise<{ port: number; bytes: () => Buffer; close(): Promise<void> }> {
  const chunks: Buffer[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((s) => { sockets.add(s); s.on('data', (d: Buffer) => chunks.push(d)); s.on('error', () => {}); s.on('close', () => sockets.delete(s)); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    bytes: () => Buffer.concat(chunks),
    close: () => new Promise<void>((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }),
  };
}

/** The start of most tests here: clean-ups, a directory, a loopback carbon, a free admin port. */
async function scene(t: { after(fn: () => unknown): void }, prefix: string) {
  const defer = deferrals(t);
  const { dir, cleanup } = tempDir(prefix);
  defer(cleanup);
  const carbon = await lineListener();
  defer(() => carbon.close());
  return { defer, dir, carbon, admin: await freeTcpPort() };
}

/** Wait for `path value` at carbon. */
function atCarbon(carbon: { lines: { path: string; value: string }[] }, child: Daemon, path: string, value: string): Promise<unknown> {
  return until(() => carbon.lines.some((l) => l.path === path && l.value === value), `${path} ${value} at carbon (output: ${child.output()})`);
}

/** SIGTERM, and the daemon stops cleanly. */
async function stopCleanly(child: Daemon): Promise<void> {
  child.kill('SIGTERM');
  assert.equal(await exited(child), 0, child.output());
}

function sendStream(to: { path: string } | { port: number }, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = 'path' in to ? connect(to.path) : connect(to.port, '127.0.0.1');
    s.on('connect', () => s.end(text, () => resolve()));
    s.on('error', reject);
  });
}

test("each of Etsy statsd's own graphite test configs runs as is: warned about graphService and batch, UDP where asked, the flush at carbon", { timeout: 120_000 }, async (t) => {
  const files = readdirSync(ETSY_TESTS).filter((f) => f.startsWith('graphite_')).sort();
  assert.ok(files.length >= 8, `Etsy's graphite tests: ${files.join(', ')}`);
  for (const name of files) {
    await t.test(name, async (tt) => {
      const defer = deferrals(tt);
      const { dir, cleanup } = tempDir('blick-etsy-file-');
      defer(cleanup);
      const carbon = await byteListener();
      defer(() => carbon.close());
      const [udp, admin] = [await freeUdpPort(), await freeTcpPort()];
      // Etsy's text for this test (its own flush interval and carbon port), moved off the fixed ports 8125/8126
      let text = etsyTestConfig(readFileSync(join(ETSY_TESTS, name), 'utf8'), { myflush: 200, testport: carbon.port });
      assert.match(text, /port: 8125\b/);
      text = text.replace(/\bport: 8125\b/, `port: ${udp}, address: "127.0.0.1", mgmt_address: "127.0.0.1", mgmt_port: ${admin}`);
      const file = join(dir, name);
      writeFileSync(file, text);
      const child = await statsd(defer, file, admin);
      assert.deepEqual(await warned(child, 2), ['batch', 'graphService'], child.output());

      const metric = `etsy_file.${name.replace(/\W/g, '_')}`;
      const legacy = !/legacyNamespace: false/.test(text);
      const suffix = /globalSuffix: "(\w+)"/.exec(text)?.[1];
      const path = (legacy ? `stats_counts.${metric}` : `stats.counters.${metric}.count`) + (suffix ? `.${suffix}` : '');
      await until(async () => {
        await sendUdp(udp, [`${metric}:1|c`]);
        return carbon.bytes().includes(path);
      }, `${path} at carbon (output: ${child.output()})`);
      assert.deepEqual(boundPorts(child.pid!), { tcp: [admin], udp: [udp] }, 'only the ports the file names');
      await stopCleanly(child);
    });
  }
});

test('servers: [{ server: "./servers/tcp", socket }] in a config.js listens on that Unix socket and on no port; a SIGKILLed daemon restarts on it', { timeout: 60_000 }, async (t) => {
  const { defer, dir, carbon, admin } = await scene(t, 'blick-etsy-sock-');
  const sock = join(dir, 'statsd.sock');
  const file = join(dir, 'config.js');
  writeFileSync(file, `/* /etc/statsd/config.js, as an Etsy statsd operator has it */
{ graphService: "graphite"
, batch: 200
, servers: [ { server: "./servers/tcp", socket: ${JSON.stringify(sock)}, socket_mod: 0600 } ]
, mgmt_address: "127.0.0.1"
, mgmt_port: ${admin}
, graphiteHost: "127.0.0.1"
, graphitePort: ${carbon.port}
, flushInterval: 200
, debug: false
, librato: { email: "ops@example.com", token: "secret", source: "web-01" }
, backends: [ "./backends/graphite", "statsd-librato-backend" ]
}
`);
  let child = await statsd(defer, file, admin);
  assert.deepEqual(await warned(child, 4), ['backends', 'batch', 'graphService', 'librato'], child.output());
  assert.ok(statSync(sock).isSocket());
  assert.equal(statSync(sock).mode & 0o777, 0o600, 'socket_mod applied');
  assert.deepEqual(boundPorts(child.pid!), { tcp: [admin], udp: [] }, 'no TCP or UDP port for statsd traffic: a Unix socket was asked for');
  await sendStream({ path: sock }, 'etsy.unix:3|c\n');
  await atCarbon(carbon, child, 'stats_counts.etsy.unix', '3');

  // killed, it leaves its socket file behind; the next start replaces the dead socket
  child.kill('SIGKILL');
  await exited(child);
  assert.ok(existsSync(sock));
  child = await statsd(defer, file, admin);
  await sendStream({ path: sock }, 'etsy.unix.again:4|c\n');
  await atCarbon(carbon, child, 'stats_counts.etsy.unix.again', '4');
  await stopCleanly(child);
  assert.equal(existsSync(sock), false, 'a clean stop removes the socket');
});

test('a second daemon on the same socket is refused, and the live socket is not taken from the first', { timeout: 60_000 }, async (t) => {
  const defer = deferrals(t);
  const { dir, cleanup } = tempDir('blick-etsy-sock2-');
  defer(cleanup);
  const sock = join(dir, 'statsd.sock');
  const [a1, a2] = [await freeTcpPort(), await freeTcpPort()];
  const write = (admin: number) => {
    const f = join(dir, `config-${admin}.js`);
    writeFileSync(f, `{ server: "./servers/tcp", socket: ${JSON.stringify(sock)}, mgmt_address: "127.0.0.1", mgmt_port: ${admin}, flushInterval: 100000 }`);
    return f;
  };
  const first = await statsd(defer, write(a1), a1);
  const second = await runBlick(['statsd', '--config', write(a2)], { env: ENV });
  assert.equal(second.code, 1, second.stderr);
  assert.match(second.stderr, /socket .*statsd\.sock is in use by another process/);
  await sendStream({ path: sock }, 'still.first:1|c\n');
  await until(async () => (await adminCommand(a1, 'counters')).includes("'still.first': 1"), 'the first daemon still receiving on its socket');
  await stopCleanly(first);
});

test("Etsy's single-server form (server: ./servers/tcp, port) listens on that TCP port only", { timeout: 60_000 }, async (t) => {
  const { defer, dir, carbon, admin } = await scene(t, 'blick-etsy-tcp-');
  const port = await freeTcpPort();
  const file = join(dir, 'localConfig.js');
  writeFileSync(file, `{ server: "./servers/tcp", address: "127.0.0.1", port: ${port}, mgmt_address: "127.0.0.1", mgmt_port: ${admin}, graphiteHost: "127.0.0.1", graphitePort: ${carbon.port}, flushInterval: 200 }\n`);
  const child = await statsd(defer, file, admin);
  assert.deepEqual(boundPorts(child.pid!), { tcp: [port, admin].sort((a, b) => a - b), udp: [] });
  await sendStream({ port }, 'etsy.tcp:2|c\n');
  await atCarbon(carbon, child, 'stats_counts.etsy.tcp', '2');
  const ended = new Promise((r) => { if (child.stdout!.readableEnded) r(undefined); else child.stdout!.once('end', r); });
  await stopCleanly(child);
  await ended;
  assert.deepEqual(unusedWarnings(child.output()), [], 'every key of this file is used');
});

test("Etsy's keys in Blick's YAML: warned about, a Unix socket honoured, no port opened for it; a misspelt key still exits 2 with its line", { timeout: 60_000 }, async (t) => {
  const { defer, dir, carbon, admin } = await scene(t, 'blick-etsy-yaml-');
  const sock = join(dir, 'statsd.sock');
  const yaml = (extra: string) => [
    `data_dir: ${JSON.stringify(join(dir, 'data'))}`,
    'statsd:',
    '  graphService: graphite',
    '  batch: 200',
    '  librato: { email: ops@example.com, token: secret }',
    `  servers: [{ server: ./servers/tcp, socket: ${JSON.stringify(sock)} }]`,
    `  admin: 127.0.0.1:${admin}`,
    `  graphite: { host: 127.0.0.1, port: ${carbon.port} }`,
    '  flush_interval: 200ms',
    '  upstreams: []',
    extra,
  ].join('\n') + '\n';
  const file = join(dir, 'blick.yaml');
  writeFileSync(file, yaml(''));
  const child = await statsd(defer, file, admin);
  assert.deepEqual(await warned(child, 3), ['batch', 'graphService', 'librato'], child.output());
  assert.deepEqual(boundPorts(child.pid!), { tcp: [admin], udp: [] }, 'not TCP 0.0.0.0:8125 where a socket was asked for');
  await sendStream({ path: sock }, 'yaml.unix:5|c\n');
  await atCarbon(carbon, child, 'stats_counts.yaml.unix', '5');
  await stopCleanly(child);

  const typo = join(dir, 'typo.yaml');
  writeFileSync(typo, yaml('  flushIntervall: 1000'));
  const r = await runBlick(['statsd', '--config', typo], { env: ENV });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /typo\.yaml:11: key statsd: unknown key "flushIntervall"/);
});

test('blick check-config reads a config.js as blick statsd does: warnings and ok, or the line and column of the code it will not run', async (t) => {
  const defer = deferrals(t);
  const { dir, cleanup } = tempDir('blick-etsy-check-');
  defer(cleanup);
  const file = join(dir, 'config.js');
  writeFileSync(file, '{ graphService: "graphite", port: 8125 }\n');
  const ok = await runBlick(['check-config', file]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /config\.js: ok/);
  assert.match(ok.stderr, /warning: statsd key graphService is not used by Blick: Etsy statsd 0\.9 ignores it too/);
  writeFileSync(file, '{ port: 8125\n, graphite: { globalSuffix: require("os").hostname() } }\n');
  const code = await runBlick(['check-config', file]);
  assert.equal(code.code, 2);
  assert.match(code.stderr, /config\.js:2:29: Blick reads an Etsy statsd configuration as data and does not run it/);
});
