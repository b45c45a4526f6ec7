import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { api, deferrals, startServer, tempDir, until } from '../fixtures/blick.js';

const ADMIN = 'cli-admin-token-0123456789';
const READER = 'cli-read-token-0123456789';
/** the CLI compiled beside this test (dist/ or another outDir), not whatever bin/blick.js points at */
const MAIN = pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'main.js')).href;

interface Run { code: number | null; stdout: string; stderr: string }

function blick(args: string[], env: Record<string, string> = {}, opts: { until?: (out: string) => boolean; timeoutMs?: number; onStart?: () => void } = {}): Promise<Run> {
  return new Promise((resolve) => {
    const cleanEnv = { ...process.env };
    delete cleanEnv.BLICK_URL; delete cleanEnv.BLICK_TOKEN; delete cleanEnv.BLICK_CLIENT_CONFIG;
    const child = spawn(process.execPath, ['--input-type=module', '-e', `import(${JSON.stringify(MAIN)}).then((m) => m.main(process.argv.slice(1)))`, ...args], { env: { ...cleanEnv, ...env } });
    let stdout = '', stderr = '';
    child.stdout.on('data', (b) => { stdout += b; if (opts.until?.(stdout)) child.kill('SIGTERM'); });
    child.stderr.on('data', (b) => { stderr += b; });
    const t = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 20_000);
    child.on('spawn', () => opts.onStart?.());
    child.on('close', (code) => { clearTimeout(t); resolve({ code, stdout, stderr }); });
  });
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => { const s = createServer().listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => resolve(p)); }); });
}

async function setup(t: { after(fn: () => unknown): void }) {
  const defer = deferrals(t);
  const tmp = tempDir();
  defer(tmp.cleanup);
  const server = await startServer({ dataDir: tmp.dir, config: { tokens: [{ token: ADMIN, role: 'admin' }, { token: READER, role: 'read' }], rules: [{ name: 'disk-full', match: { service: 'disk *' }, when: 'metric > 90', severity: 'critical' }] } });
  defer(() => server.stop());
  const post = async (events: unknown[]) => {
    const r = await api(server.url, '/api/v1/events', { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: JSON.stringify({ events }) });
    assert.equal(r.status, 202);
  };
  // an empty config home: the user's own ~/.config/blick/client.yaml must not leak in
  const env = { XDG_CONFIG_HOME: tmp.dir, BLICK_URL: server.url, BLICK_TOKEN: READER };
  return { server, post, env, dir: tmp.dir };
}

test('hosts, checks and events print tables, and JSON with --json', async (t) => {
  const { post, env } = await setup(t);
  await post([
    { host: 'web-1', service: 'disk /', state: 'critical', metric: 97, description: 'disk full', time: 1_700_000_000_000 },
    { host: 'web-2', service: 'http', state: 'ok', metric: 0.2, description: 'fine', time: 1_700_000_001_000 },
  ]);
  const hosts = await blick(['hosts'], env);
  assert.equal(hosts.code, 0, hosts.stderr);
  assert.match(hosts.stdout, /^HOST\s+STATE\s+CHECKS\s+METRICS\s+LAST_SEEN\n/);
  assert.match(hosts.stdout, /web-1\s+critical\s+1\s+0\s+2023-11-14 22:13:20Z\n/);
  assert.ok(hosts.stdout.indexOf('web-1') < hosts.stdout.indexOf('web-2'), 'worst first');
  const checks = await blick(['checks'], env);
  assert.match(checks.stdout, /^HOST\s+SERVICE\s+STATE\s+METRIC\s+DESCRIPTION\s+LAST_CHANGE\n/);
  assert.match(checks.stdout, /web-1\s+disk \/\s+critical\s+97\s+disk full/);
  const events = await blick(['events', '--host', 'web-2'], env);
  assert.match(events.stdout, /^TIME\s+HOST\s+SERVICE\s+STATE\s+METRIC\s+DESCRIPTION\n2023-11-14 22:13:21Z\s+web-2\s+http\s+ok\s+0.2\s+fine\n$/);
  const json = await blick(['checks', '--json'], env);
  const parsed = JSON.parse(json.stdout);
  assert.deepEqual(parsed.map((c: any) => [c.host, c.service, c.state]), [['web-1', 'disk /', 'critical'], ['web-2', 'http', 'ok']]);
  const hj = JSON.parse((await blick(['hosts', '--json'], env)).stdout);
  assert.equal(hj[0].host, 'web-1');
  assert.equal(hj[0].counts.critical, 1);
});

test('alerts and silence add|list|rm against the server', async (t) => {
  const { post, env } = await setup(t);
  await post([{ host: 'db-1', service: 'disk /var', state: 'warning', metric: 95, description: '95% used' }]);
  const alerts = await blick(['alerts'], env);
  assert.equal(alerts.code, 0, alerts.stderr);
  assert.match(alerts.stdout, /^STATUS\s+SEVERITY\s+RULE\s+HOST/);
  assert.match(alerts.stdout, /firing\s+critical\s+disk-full\s+db-1\s+disk \/var/);
  const refused = await blick(['silence', 'add', '--host', 'db-1', '--for', '1h', '--reason', 'disk swap'], env);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /needs a token with the write role; yours has read/);
  const added = await blick(['silence', 'add', '--host', 'db-1', '--for', '1h', '--reason', 'disk swap', '--author', 'ops'], { ...env, BLICK_TOKEN: ADMIN });
  assert.equal(added.code, 0, added.stderr);
  const id = added.stdout.trim();
  const list = JSON.parse((await blick(['silence', 'list', '--json'], env)).stdout);
  assert.deepEqual(list.map((s: any) => [s.id, s.matchers.host, s.status, s.author]), [[id, 'db-1', 'active', 'ops']]);
  const table = await blick(['silence', 'list'], env);
  assert.match(table.stdout, new RegExp(`${id}\\s+active\\s+host=db-1`));
  const rm = await blick(['silence', 'rm', id], { ...env, BLICK_TOKEN: ADMIN });
  assert.equal(rm.stdout, `expired ${id}\n`);
});

test('events --follow prints new events as they arrive (table and --json lines), with filters', async (t) => {
  const { server, post, env } = await setup(t);
  let started = false;
  const tableRun = blick(['events', '--follow', '--state', 'critical'], env, { until: (o) => o.includes('second failure'), onStart: () => { started = true; } });
  const jsonRun = blick(['events', '--follow', '--json', '--host', 'web-9'], env, { until: (o) => o.split('\n').filter(Boolean).length >= 2 });
  await until(() => started, 'the follower started');
  // wait until both followers are connected (the stream's client gauge)
  await until(async () => /blick_stream_clients 2/.test((await api(server.url, '/metrics', { headers: { authorization: `Bearer ${READER}` } })).body), 'two stream clients');
  await post([{ host: 'web-9', service: 'http', state: 'critical', description: 'first failure', time: 1_700_000_000_000 }, { host: 'web-8', service: 'http', state: 'ok', description: 'fine' }]);
  await post([{ host: 'web-9', service: 'db', state: 'critical', metric: 3, description: 'second failure', time: 1_700_000_002_000 }]);
  const [tb, js] = await Promise.all([tableRun, jsonRun]);
  assert.equal(tb.stdout, [
    'TIME                  HOST                SERVICE                     STATE     METRIC      DESCRIPTION',
    '2023-11-14 22:13:20Z  web-9               http                        critical              first failure',
    '2023-11-14 22:13:22Z  web-9               db                          critical  3           second failure',
    '',
  ].join('\n'));
  const lines = js.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((e) => [e.host, e.service, e.description]), [['web-9', 'http', 'first failure'], ['web-9', 'db', 'second failure']]);
});

test('an unreachable server and a refused token give clear messages and exit 1', async (t) => {
  const { server, dir } = await setup(t);
  const port = await freePort();
  for (const args of [['hosts'], ['events', '--follow'], ['alerts']]) {
    const r = await blick(args, { XDG_CONFIG_HOME: dir, BLICK_URL: `http://127.0.0.1:${port}` });
    assert.equal(r.code, 1, args.join(' '));
    assert.match(r.stderr, new RegExp(`cannot reach the Blick server at http://127.0.0.1:${port} \\(.*ECONNREFUSED.*\\); set --url or BLICK_URL`), args.join(' '));
  }
  for (const args of [['checks'], ['events', '--follow'], ['silence', 'list']]) {
    const r = await blick([...args, '--url', server.url, '--token', 'wrong-token-0123456789'], { XDG_CONFIG_HOME: dir });
    assert.equal(r.code, 1, args.join(' '));
    assert.match(r.stderr, /the token is not known to this server/, args.join(' '));
    const none = await blick([...args, '--url', server.url], { XDG_CONFIG_HOME: dir });
    assert.match(none.stderr, /send Authorization: Bearer <token>/);
  }
});

test('the server URL and token come from flags, then the environment, then the client configuration file', async (t) => {
  const { server, post, dir } = await setup(t);
  await post([{ host: 'cfg-1', service: 'x', state: 'ok' }]);
  const file = join(dir, 'blick', 'client.yaml');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `url: ${server.url}\ntoken: ${READER}\n`);
  const fromDefault = await blick(['hosts'], { XDG_CONFIG_HOME: dir });
  assert.equal(fromDefault.code, 0, fromDefault.stderr);
  assert.match(fromDefault.stdout, /cfg-1/);
  const other = join(dir, 'other.yaml');
  writeFileSync(other, `url: ${server.url}\ntoken: wrong-token-0123456789\n`);
  const named = await blick(['hosts', '--config', other], { XDG_CONFIG_HOME: dir });
  assert.match(named.stderr, /the token is not known/);
  const envWins = await blick(['hosts'], { XDG_CONFIG_HOME: dir, BLICK_CLIENT_CONFIG: other, BLICK_TOKEN: READER });
  assert.equal(envWins.code, 0, envWins.stderr);
  const flagWins = await blick(['hosts', '--token', 'wrong-token-0123456789'], { XDG_CONFIG_HOME: dir, BLICK_TOKEN: READER });
  assert.match(flagWins.stderr, /the token is not known/);
  writeFileSync(other, 'url: [1\n');
  const bad = await blick(['hosts', '--config', other], { XDG_CONFIG_HOME: dir });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, new RegExp(`${other.replace(/[.]/g, '\\.')}: not YAML`));
  writeFileSync(other, 'server: x\n');
  // not a client-only file: read as a daemon's configuration, checked as the daemon checks it
  assert.match((await blick(['hosts', '--config', other], { XDG_CONFIG_HOME: dir })).stderr, /other\.yaml:1: key server: /);
});

/** What a terminal would act on: C0 (but newline) and C1 controls, DEL, bidi overrides and isolates. */
const RAW_CONTROLS = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

test('escape sequences in events, alerts and silences are printed as visible escapes, never raw, by every command', async (t) => {
  const { server, post, env } = await setup(t);
  const description = 'retitled\x1b]0;pwned\x07 cleared\x1b[2J c1\u009b2J bidi\u202egnp.exe';
  // names refuse control characters at the edge; a bidi override is not a control
  const service = 'disk \u202erav/';
  let started = false;
  const follow = blick(['events', '--follow'], env, { until: (o) => o.includes('pwned'), onStart: () => { started = true; } });
  const followJson = blick(['events', '--follow', '--json'], env, { until: (o) => o.includes('pwned') });
  await until(() => started, 'the follower started');
  await until(async () => /blick_stream_clients 2/.test((await api(server.url, '/metrics', { headers: { authorization: `Bearer ${READER}` } })).body), 'two stream clients');
  await post([{ host: 'esc-1', service, state: 'critical', metric: 99, description }]);
  const silence = await blick(['silence', 'add', '--host', 'esc-1', '--for', '1h', '--reason', description, '--author', 'ops\x1b[31m'], { ...env, BLICK_TOKEN: ADMIN });
  assert.equal(silence.code, 0, silence.stderr);
  const runs: Record<string, Run> = { 'events --follow': await follow, 'events --follow --json': await followJson };
  for (const args of [['checks'], ['events'], ['alerts'], ['silence', 'list']]) {
    runs[args.join(' ')] = await blick(args, env);
    runs[[...args, '--json'].join(' ')] = await blick([...args, '--json'], env);
  }
  for (const [cmd, r] of Object.entries(runs)) {
    assert.equal(r.code, cmd.includes('--follow') ? null : 0, `${cmd}: ${r.stderr}`);
    assert.doesNotMatch(r.stdout, RAW_CONTROLS, `${cmd} printed a raw control character: ${JSON.stringify(r.stdout)}`);
    assert.ok(r.stdout.includes('pwned'), `${cmd} shows the text: ${r.stdout}`);
  }
  // tables show the escapes visibly; JSON keeps the exact text
  assert.ok(runs.checks!.stdout.includes('disk \\u202erav/'), runs.checks!.stdout);
  assert.ok(runs['events --follow']!.stdout.includes('retitled\\x1b]0;pwned\\x07 cleared\\x1b[2J c1\\x9b2J bidi\\u202egnp.exe'), runs['events --follow']!.stdout);
  assert.deepEqual(JSON.parse(runs['checks --json']!.stdout).map((c: any) => [c.service, c.description]), [[service, description]]);
  assert.equal(JSON.parse(runs['events --follow --json']!.stdout.trim().split('\n')[0]!).description, description);
  assert.equal(JSON.parse(runs['silence list --json']!.stdout)[0].reason, description);
});

test('blick events --limit that is not a whole number from 1 exits 1 with a clear error instead of printing an empty table', async () => {
  for (const bad of ['abc', '0', '-5', '1.5']) {
    const r = await blick(['events', '--limit', bad, '--url', 'http://127.0.0.1:1']);
    assert.equal(r.code, 1, `--limit ${bad}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, /--limit needs a whole number from 1/);
    assert.equal(r.stdout, '');
  }
});
