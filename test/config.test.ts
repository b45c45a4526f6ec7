import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFileSync, readdirSync } from 'node:fs';
import { deferrals, exited, ROOT, runBlick, spawnBlick, startServer, tempDir, until, listAll } from './fixtures/blick.js';

const BAD = `data_dir: /tmp/never-used
server:
  http: "not a host port"
  retention: 5 parsecs
agent:
  heartbeat: 10s
  upstreams: [tcp://127.0.0.1:5556]
  bogus_key: 1
`;

test('check-config: a bad file exits 2 and names the file, the line and the key of each problem', async (t) => {
  const defer = deferrals(t);
  const { dir, cleanup } = tempDir();
  defer(cleanup);
  const file = join(dir, 'bad.yaml');
  writeFileSync(file, BAD);
  const r = await runBlick(['check-config', file]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, new RegExp(`${file}:3: key server\\.http: must be host:port`));
  assert.match(r.stderr, new RegExp(`${file}:4: key server\\.retention: "5 parsecs" is not a duration`));
  assert.match(r.stderr, new RegExp(`${file}:8: key agent(\\.bogus_key)?: unknown key "bogus_key"`));
});

test('the example configuration in docs/ is valid', async () => {
  const r = await runBlick(['check-config', join(ROOT, 'docs', 'blick.example.yaml')]);
  assert.equal(r.code, 0, r.stderr);
});

test('a daemon started with a bad file stops with exit 2 and the same message', async (t) => {
  const defer = deferrals(t);
  const { dir, cleanup } = tempDir();
  defer(cleanup);
  const file = join(dir, 'bad.yaml');
  writeFileSync(file, BAD);
  const r = await runBlick(['server', '--config', file]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /bad\.yaml:3: key server\.http/);
});

test('YAML syntax errors and unreadable files exit 2 with the line', async (t) => {
  const defer = deferrals(t);
  const { dir, cleanup } = tempDir();
  defer(cleanup);
  const file = join(dir, 'broken.yaml');
  writeFileSync(file, 'server:\n  http: 127.0.0.1:8080\n   ingest: [unclosed\n');
  const r = await runBlick(['check-config', file]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /broken\.yaml:\d+: YAML syntax error/);
  const missing = await runBlick(['check-config', join(dir, 'nope.yaml')]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /nope\.yaml: cannot read the configuration file/);
});

test('check-config: a YAML alias bomb exits 2 with FILE:LINE, not a stack trace', async (t) => {
  const defer = deferrals(t);
  const { dir, cleanup } = tempDir();
  defer(cleanup);
  const file = join(dir, 'bomb.yaml');
  const lines = ['a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
  for (let i = 1; i < 9; i++) lines.push(`${'abcdefghi'[i]}: &${'abcdefghi'[i]} [${Array(9).fill('*' + 'abcdefghi'[i - 1]).join(', ')}]`);
  writeFileSync(file, lines.join('\n') + '\n');
  const r = await runBlick(['check-config', file]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, new RegExp(`${file}:2: YAML aliases expand beyond \\d+ references`));
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
});

test('BLICK_* environment variables override the file, and a bad override names the variable', async (t) => {
  const defer = deferrals(t);
  const { dir, cleanup } = tempDir();
  defer(cleanup);
  const file = join(dir, 'ok.yaml');
  writeFileSync(file, 'server:\n  retention: 1d\nagent:\n  heartbeat: 5s\n');
  const ok = await runBlick(['check-config', file], { env: { BLICK_SERVER_RETENTION: '2h', BLICK_AGENT_BATCH_MAX_EVENTS: '10' } });
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /ok/);
  const bad = await runBlick(['check-config', file], { env: { BLICK_SERVER_RETENTION: 'forever' } });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /key server\.retention \(from environment BLICK_SERVER_RETENTION\): "forever" is not a duration/);
});

test('SIGTERM: an agent whose server is away spools its events and exits 0; restarted, it delivers them', async (t) => {
  const defer = deferrals(t);
  const { dir, cleanup } = tempDir();
  defer(cleanup);
  // reserve a port for the server by starting and stopping one
  let server = await startServer({ dataDir: join(dir, 'server') });
  const ingest = server.receiver.endpoint;
  await server.stop();
  const file = join(dir, 'agent.yaml');
  writeFileSync(file, [
    `data_dir: ${join(dir, 'agent-data')}`,
    'agent:',
    '  host: sigterm-host',
    `  upstreams: [${ingest}]`,
    '  heartbeat: 0',
    '  checks:',
    `    - { name: tick, command: ["/bin/echo", "OK - tick"], interval: 200ms }`,
    '',
  ].join('\n'));
  const agent = spawnBlick(['agent', '--config', file]);
  defer(() => agent.kill('SIGKILL'));
  const spool = join(dir, 'agent-data', 'spool', 'agent');
  await until(() => { try { return readdirSync(spool).filter((f) => f.endsWith('.pb')).length >= 3; } catch { return false; } }, 'batches in the spool', 15_000);
  agent.kill('SIGTERM');
  const code = await Promise.race([exited(agent), new Promise((r) => setTimeout(() => r('timeout'), 8000))]);
  assert.equal(code, 0, `agent exits cleanly on SIGTERM: ${agent.output().slice(-2000)}`);
  const spooled = readdirSync(spool).filter((f) => f.endsWith('.pb')).length;
  assert.ok(spooled >= 3, 'unacknowledged batches stay in the spool');

  server = await startServer({ dataDir: join(dir, 'server'), config: { ingest } });
  defer(() => server.stop());
  const again = spawnBlick(['agent', '--config', file]);
  defer(async () => { again.kill('SIGTERM'); await exited(again); });
  await until(async () => (await listAll<any>(server.url, '/api/v1/events?host=sigterm-host&service=tick&limit=1000')).length >= spooled, 'spooled events delivered after restart', 15_000);
  await until(() => readdirSync(spool).filter((f) => f.endsWith('.pb')).length <= 1, 'the spool to empty');
});
