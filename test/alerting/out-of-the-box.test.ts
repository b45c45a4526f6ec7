import { test } from 'node:test';
import assert from 'node:assert/strict';
import { api, deferrals, exited, runBlick, spawnBlick, tempDir, until, upEnv, serverForTest } from '../fixtures/blick.js';
import { freeTcpPort } from '../statsd/fixtures.js';

/**
 * issue #12 missing 2: `blick up` alerts out of the box. Its default rules go to
 * the log notifier; a host whose heartbeat stops (here a ttl of 1 s, so the
 * test waits on the default host-gone rule, not on check-critical's minute)
 * shows on GET /api/v1/alerts, in `blick alerts` and as a line in the log.
 */
test('`blick up` in a fresh directory fires its default host-gone rule: the alert is in the API and in `blick alerts`, and the log notifier writes it', { timeout: 60_000 }, async (t) => {
  const defer = deferrals(t);
  const { dir, cleanup } = tempDir();
  defer(cleanup);
  const ingest = await freeTcpPort();
  const up = spawnBlick(['up'], { cwd: dir, env: upEnv(dir, ingest) });
  defer(async () => { if (up.exitCode === null && up.signalCode === null) { up.kill('SIGKILL'); await exited(up); } });
  const url = (await until(() => /dashboard\s+(http:\/\/\S+?)\/\n/.exec(up.output())?.[1], `the banner (output: ${up.output()})`, 30_000));
  assert.match(up.output(), /alerts\s+3 rules → log/);

  const before = await api<any[]>(url, '/api/v1/alerts');
  assert.equal(before.status, 200);
  assert.equal(before.headers.get('x-blick-rules'), '3');

  const posted = await api(url, '/api/v1/events', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ events: [{ host: 'gone-01', service: 'heartbeat', state: 'ok', ttl: 1 }] }) });
  assert.equal(posted.status, 202);
  const alert = await until(async () => (await api<any[]>(url, '/api/v1/alerts?host=gone-01')).body.find((a) => a.rule === 'host-gone' && a.status === 'firing'), 'the host-gone alert', 20_000);
  assert.equal(alert.severity, 'critical');
  assert.equal(alert.service, 'heartbeat');

  const line = await until(() => up.output().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)).find((o) => o.msg === 'alert firing' && o.host === 'gone-01'), `the log notifier's line (output: ${up.output()})`, 20_000);
  assert.deepEqual({ notifier: line.notifier, rule: line.rule, service: line.service, severity: line.severity, status: line.status }, { notifier: 'log', rule: 'host-gone', service: 'heartbeat', severity: 'critical', status: 'firing' });

  const cli = await runBlick(['alerts', '--url', url]);
  assert.equal(cli.code, 0, cli.stderr);
  assert.match(cli.stdout, /firing\s+critical\s+host-gone\s+gone-01\s+heartbeat/);
  assert.doesNotMatch(cli.stderr, /no alert rules/);

  up.kill('SIGTERM');
  assert.equal(await exited(up), 0, up.output());
});

test('a server without rules says so: X-Blick-Rules: 0 on GET /api/v1/alerts, and `blick alerts` prints "no alert rules are configured"', async (t) => {
  const { server } = await serverForTest(t);
  const r = await api<any[]>(server.url, '/api/v1/alerts');
  assert.equal(r.status, 200);
  assert.deepEqual(r.body, [], 'the list keeps its shape');
  assert.equal(r.headers.get('x-blick-rules'), '0');
  const cli = await runBlick(['alerts', '--url', server.url]);
  assert.equal(cli.code, 0, cli.stderr);
  assert.match(cli.stderr, /no alert rules are configured/);
  const json = await runBlick(['alerts', '--json', '--url', server.url]);
  assert.deepEqual(JSON.parse(json.stdout), [], '--json stays the list');
});
