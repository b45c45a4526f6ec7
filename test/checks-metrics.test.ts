import { test } from 'node:test';
import assert from 'node:assert/strict';
import { api, runBlick, serverForTest } from './fixtures/blick.js';

test('GET /api/v1/hosts counts checks (a state of their own) and metric series (no state) apart; blick hosts shows both', async (t) => {
  const { server: s } = await serverForTest(t);
  const events = [
    { host: 'web-1', service: 'disk', state: 'ok', description: 'DISK OK' },
    { host: 'web-1', service: 'check disk /', metric: 52_000_000 },
    { host: 'web-1', service: 'check disk /var', metric: 12_000_000 },
    ...['rx_bytes', 'tx_bytes', 'rx_packets'].map((k) => ({ host: 'web-1', service: `network eth0 ${k}`, metric: 10 })),
    { host: 'web-1', service: 'load', state: 'warning', metric: 4.2 },
  ];
  assert.equal((await api(s.url, '/api/v1/events', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ events }) })).status, 202);
  const [h] = (await api(s.url, '/api/v1/hosts')).body;
  assert.deepEqual({ checks: h.checks, metrics: h.metrics, counts: h.counts }, { checks: 2, metrics: 5, counts: { ok: 1, warning: 1, critical: 0, unknown: 0 } });
  const one = (await api(s.url, '/api/v1/hosts/web-1')).body;
  assert.deepEqual([one.checks, one.metrics, one.checks_detail.length], [2, 5, 7]);
  const cli = await runBlick(['hosts', '--url', s.url]);
  assert.equal(cli.code, 0, cli.stderr);
  assert.match(cli.stdout, /CHECKS\s+METRICS/i);
  assert.match(cli.stdout, /web-1\s+warning\s+2\s+5\s/);
});
