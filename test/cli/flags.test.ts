// The command line as a user types it: flags each command knows, --help, and output that keeps names apart.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { COMMANDS } from '../../src/cli/commands.js';
import { api, runBlick, serverForTest, tempDir, until } from '../fixtures/blick.js';

// no server at this address: a client command that ran instead of refusing would say it cannot
// reach it; a daemon that ran would hold only ephemeral loopback ports and a directory under /tmp
const scratch = tempDir('blick-flags-');
after(scratch.cleanup);
const env = {
  XDG_CONFIG_HOME: '/nonexistent', BLICK_URL: 'http://127.0.0.1:9', BLICK_TOKEN: '', BLICK_CLIENT_CONFIG: '',
  BLICK_DATA_DIR: scratch.dir, BLICK_SERVER_HTTP: '127.0.0.1:0', BLICK_SERVER_INGEST: 'tcp://127.0.0.1:0',
  BLICK_STATSD_UDP: '127.0.0.1:0', BLICK_STATSD_TCP: '127.0.0.1:0', BLICK_STATSD_ADMIN: '127.0.0.1:0', BLICK_LOG_LEVEL: 'silent',
};
const argvOf = (key: string) => key.split(' ');

test('every command refuses a flag it does not know: exit 1, naming the flag, before doing anything', async () => {
  assert.ok(Object.keys(COMMANDS).length >= 14, 'the table lists every command');
  for (const key of Object.keys(COMMANDS)) {
    const r = await runBlick([...argvOf(key), '--hots', 'web-1'], { env, timeoutMs: 10_000 });
    assert.equal(r.code, 1, `${key}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`^blick ${key.split(' ')[0]}: unknown flag --hots; blick ${key} takes .*\\(see blick ${key} --help\\)\\n$`), key);
    assert.equal(r.stdout, '', key);
  }
  // a typo no longer lists everything, and a switch does not swallow what follows it
  const typo = await runBlick(['checks', '--hsot', 'web-1'], { env });
  assert.equal(typo.code, 1);
  assert.match(typo.stderr, /unknown flag --hsot; blick checks takes --host, --service, --state, --json, --url/);
  const noValue = await runBlick(['events', '--host'], { env });
  assert.equal(noValue.code, 1);
  assert.match(noValue.stderr, /blick events: --host needs a value \(H\)/);
  const switchValue = await runBlick(['checks', '--json=yes'], { env });
  assert.equal(switchValue.code, 1);
  assert.match(switchValue.stderr, /--json takes no value/);
  const followSince = await runBlick(['events', '--follow', '--since', '15m'], { env });
  assert.equal(followSince.code, 1);
  assert.match(followSince.stderr, /blick events: --since does not apply to --follow/);
  const daemon = await runBlick(['server', '--config', 'x.yaml', '--port', '80'], { env });
  assert.equal(daemon.code, 1);
  assert.match(daemon.stderr, /blick server: unknown flag --port; blick server takes --config/);
});

test('COMMAND --help prints that command\'s usage and flags and exits 0 instead of running it', async () => {
  for (const key of Object.keys(COMMANDS)) {
    const r = await runBlick([...argvOf(key), '--help'], { env, timeoutMs: 10_000 });
    assert.equal(r.code, 0, `${key}: ${r.stderr}`);
    assert.equal(r.stderr, '', key);
    assert.ok(r.stdout.startsWith(`usage: blick ${COMMANDS[key]!.synopsis}\n`), `${key}: ${r.stdout}`);
    for (const flag of Object.keys(COMMANDS[key]!.flags)) assert.match(r.stdout, new RegExp(`\\n  --${flag}\\b`), `${key} --help lists --${flag}`);
  }
  const checks = await runBlick(['checks', '--help'], { env });
  assert.match(checks.stdout, /--host H +a host name or glob \(web-\*\)/);
  assert.match(checks.stdout, /--url URL +the server/, 'client flags too');
  assert.doesNotMatch(checks.stdout + checks.stderr, /cannot reach|HOST\s+SERVICE/, 'nothing was fetched');
  assert.equal((await runBlick(['help', 'checks'], { env })).stdout, checks.stdout);
  const silence = await runBlick(['silence', '--help'], { env });
  assert.match(silence.stdout, /usage: blick silence add[^]*usage: blick silence list[^]*usage: blick silence rm/);
  const all = await runBlick(['--help'], { env });
  assert.equal(all.code, 0);
  for (const c of Object.values(COMMANDS)) assert.ok(all.stdout.includes(`blick ${c.synopsis}`), c.synopsis);
});

test('events --follow and checks print names whole: two services that share a long prefix stay two rows that differ', async (t) => {
  const { server } = await serverForTest(t);
  const prefix = 'disk /var/lib/docker/overlay2/3f9a1c0e7b2d4a58b6e1c9f0d2a7b3e4c5d6e7f8a9b0c1d2e3f4a5b6';
  const [a, b] = [`${prefix}/merged`, `${prefix}/diff`];
  const host = 'kubernetes-worker-node-17.eu-central-1.compute.internal';
  const follow = runBlick(['events', '--follow', '--url', server.url], { env, until: (o) => o.includes('second') });
  await until(async () => /blick_stream_clients 1/.test((await api(server.url, '/metrics')).body), 'the follower connected');
  const post = (events: unknown[]) => api(server.url, '/api/v1/events', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ events }) });
  await post([{ host, service: a, state: 'ok', metric: 41, description: 'first', time: 1_700_000_000_000 }]);
  await post([{ host, service: b, state: 'warning', metric: 93, description: 'second', time: 1_700_000_001_000 }]);
  const f = await follow;
  const rows = f.stdout.split('\n').filter((l) => l.includes(host));
  assert.equal(rows.length, 2, f.stdout);
  assert.equal(rows[0], `2023-11-14 22:13:20Z  ${host}  ${a}  ok        41          first`);
  assert.equal(rows[1], `2023-11-14 22:13:21Z  ${host}  ${b}  warning   93          second`);

  const checks = await runBlick(['checks', '--url', server.url], { env });
  assert.equal(checks.code, 0, checks.stderr);
  assert.ok(checks.stdout.includes(`${host}  ${b}  warning`), checks.stdout);
  assert.ok(checks.stdout.includes(`${host}  ${a}  ok`), checks.stdout);
  assert.doesNotMatch(checks.stdout, /…/);
});
