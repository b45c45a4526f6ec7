// The filters a user types: globs on every list, and `since=` in the forms people write times in.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { api, runBlick, serverForTest } from './fixtures/blick.js';

const json = { 'content-type': 'application/json' };
const post = async (url: string, events: unknown[]) => {
  const r = await api(url, '/api/v1/events', { method: 'POST', headers: json, body: JSON.stringify({ events }) });
  assert.equal(r.status, 202, JSON.stringify(r.body));
};
const noConfig = { XDG_CONFIG_HOME: '/nonexistent', BLICK_TOKEN: '', BLICK_CLIENT_CONFIG: '' };

test('host and service globs filter GET /api/v1/checks, blick checks and GET /api/v1/alerts as they filter events', async (t) => {
  const { server: s } = await serverForTest(t, { rules: [{ name: 'http-down', match: { service: 'http' }, when: 'state == "critical"', severity: 'critical' }] });
  await post(s.url, [
    { host: 'web-1', service: 'http', state: 'critical' },
    { host: 'web-2', service: 'http', state: 'ok' },
    { host: 'web-2', service: 'disk /var', state: 'ok' },
    { host: 'db-1', service: 'http', state: 'critical' },
  ]);
  const pairs = (rows: any[]) => rows.map((c) => `${c.host} ${c.service}`).sort();
  assert.deepEqual(pairs((await api(s.url, '/api/v1/events?host=web-*')).body), ['web-1 http', 'web-2 disk /var', 'web-2 http'], 'events (already right)');
  assert.deepEqual(pairs((await api(s.url, '/api/v1/checks?host=web-*')).body), ['web-1 http', 'web-2 disk /var', 'web-2 http']);
  assert.deepEqual(pairs((await api(s.url, '/api/v1/checks?host=web-?&service=disk%20*')).body), ['web-2 disk /var']);
  assert.deepEqual(pairs((await api(s.url, '/api/v1/checks?service=*t*&state=critical')).body), ['db-1 http', 'web-1 http']);
  assert.deepEqual(pairs((await api(s.url, '/api/v1/checks?host=web-2')).body), ['web-2 disk /var', 'web-2 http'], 'a plain name still names one host');
  assert.deepEqual((await api(s.url, '/api/v1/checks?host=web-')).body, [], 'no prefix matching without a star');

  const cli = await runBlick(['checks', '--host', 'web-*', '--json', '--url', s.url], { env: noConfig });
  assert.equal(cli.code, 0, cli.stderr);
  assert.deepEqual(pairs(JSON.parse(cli.stdout)), ['web-1 http', 'web-2 disk /var', 'web-2 http']);
  const tableRun = await runBlick(['checks', '--host', 'web-*', '--service', 'http', '--url', s.url], { env: noConfig });
  assert.match(tableRun.stdout, /^HOST\s+SERVICE\s+STATE[^\n]*\nweb-1\s+http\s+critical[^\n]*\nweb-2\s+http\s+ok[^\n]*\n$/);

  const alerts = (await api(s.url, '/api/v1/alerts?host=web-*')).body as any[];
  assert.deepEqual(alerts.map((a) => `${a.rule} ${a.host}`), ['http-down web-1']);
  assert.deepEqual(((await api(s.url, '/api/v1/alerts?rule=http-*')).body as any[]).map((a) => a.host).sort(), ['db-1', 'web-1']);
});

test('since= takes unix ms, RFC 3339 (any offset) and durations before the server\'s clock; anything else is a 400 that lists the forms', async (t) => {
  // the server's clock runs two hours behind the wall: a relative since must read the server's
  const T = Math.floor(Date.now() / 1000) * 1000 - 2 * 3_600_000;
  const { server: s } = await serverForTest(t, undefined, { now: () => T });
  const min = 60_000;
  await post(s.url, [
    { host: 'h', service: 'old', state: 'ok', time: T - 20 * min },
    { host: 'h', service: 'recent', state: 'ok', time: T - 10 * min },
    { host: 'h', service: 'new', state: 'ok', time: T - min },
  ]);
  const services = async (since: string) => {
    const r = await api(s.url, `/api/v1/events?since=${encodeURIComponent(since)}`);
    assert.equal(r.status, 200, `${since}: ${JSON.stringify(r.body)}`);
    return (r.body as any[]).map((e) => e.service);
  };
  const at15 = T - 15 * min;
  const iso = new Date(at15).toISOString();
  const plusOne = new Date(at15 + 3_600_000).toISOString().replace('Z', '+01:00');
  const minusFourThirty = new Date(at15 - 4.5 * 3_600_000).toISOString().replace(/\.\d+Z$/, '-04:30');
  for (const since of [String(at15), iso, plusOne, minusFourThirty, '15m', '-15m', '900s', '0.25h']) {
    assert.deepEqual(await services(since), ['new', 'recent'], since);
  }
  assert.deepEqual(await services('5m'), ['new']);
  assert.deepEqual(await services('1h'), ['new', 'recent', 'old']);
  assert.deepEqual(await services('0'), ['new', 'recent', 'old'], 'a bare number is unix ms');

  for (const bad of ['yesterday', '15 minutes', '2026-02-31T10:00:00Z', '2026-12-01T25:00:00Z', '2026-12-01', '1e12', '15x']) {
    const r = await api(s.url, `/api/v1/events?since=${encodeURIComponent(bad)}`);
    assert.equal(r.status, 400, bad);
    assert.equal(r.body.error.code, 'BAD_REQUEST');
    assert.match(r.body.error.message, /^parameter since: expected unix milliseconds \(\d+\), an RFC 3339 time \(2026-12-01T10:00:00Z, 2026-12-01T11:00:00\+01:00\) or a duration before now \(15m, 1h30m, 7d\), got "/, bad);
  }

  const cli = await runBlick(['events', '--since', '15m', '--json', '--url', s.url], { env: noConfig });
  assert.equal(cli.code, 0, cli.stderr);
  assert.deepEqual(JSON.parse(cli.stdout).map((e: any) => e.service), ['new', 'recent']);
  const cliIso = await runBlick(['events', '--since', plusOne, '--url', s.url], { env: noConfig });
  assert.match(cliIso.stdout, /\bnew\b[^\n]*\n[^\n]*\brecent\b/);
  assert.doesNotMatch(cliIso.stdout, /\bold\b/);
  const cliBad = await runBlick(['events', '--since', 'yesterday', '--url', s.url], { env: noConfig });
  assert.equal(cliBad.code, 1);
  assert.match(cliBad.stderr, /since: expected unix milliseconds .* or a duration before now \(15m, 1h30m, 7d\), got "yesterday"/);
});
