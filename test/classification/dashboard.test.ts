import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { api, deferrals, startServer, tempDir } from '../fixtures/blick.js';
import { login, pageForTest, SCREENSHOTS, skipWithoutChromium } from '../dashboard/browser.js';

const ADMIN = 'dashboard-admin-token-0123456789';
const SITE_PP = '/etc/puppet/code/environments/production/manifests/site.pp';
const skip = skipWithoutChromium();

test('the host page shows each source\'s classification and the derived checks with their origin and state', { skip, timeout: 120_000 }, async (t) => {
  const defer = deferrals(t);
  const tmp = tempDir();
  defer(tmp.cleanup);
  const server = await startServer({ dataDir: join(tmp.dir, 'server'), config: { tokens: [{ token: ADMIN, role: 'admin' }] } });
  defer(() => server.stop());
  const headers = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };
  const put = await api(server.url, '/api/v1/hosts/web-01/classification', {
    method: 'PUT', headers, body: JSON.stringify({
      source: 'puppet-catalog', origin: { catalog: '/var/lib/puppet/client_data/catalog/web-01.json', version: '1700000000', environment: 'production', time: Date.now() },
      classes: ['nginx', 'profile::web'], roles: [],
      resources: [
        { type: 'Service', title: 'demo', parameters: { ensure: 'running' }, file: SITE_PP, line: 3 },
        { type: 'File', title: '/etc/motd', parameters: { ensure: 'file' }, file: SITE_PP, line: 7 },
      ],
    }),
  });
  assert.equal(put.status, 200);
  const posted = await api(server.url, '/api/v1/events', { method: 'POST', headers, body: JSON.stringify({ events: [
    { host: 'web-01', service: 'systemd demo.service', state: 'critical', description: 'demo.service is inactive (dead)', attributes: { derived_from: 'Service[demo]' } },
  ] }) });
  assert.equal(posted.status, 202);

  const { page, errors } = await pageForTest(defer);
  await login(page, server.url, ADMIN);
  await page.goto(`${server.url}/#/host/web-01`);
  await page.waitForSelector('table[data-section=derived]');
  const source = await page.textContent('dl[data-section=classification] [data-source=puppet-catalog]');
  assert.match(source!, /puppet-catalog/);
  assert.match(source!, /web-01\.json · version 1700000000 · production/);
  assert.match(source!, /classes: nginx, profile::web/);
  const rows = await page.$$eval('table[data-section=derived] tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
  assert.deepEqual(rows.map((r) => r.slice(0, 4)), [
    ['critical', 'systemd demo.service', 'service-running', `Service[demo] (${SITE_PP}:3)`],
    ['no event yet', 'file /etc/motd', 'file', `File[/etc/motd] (${SITE_PP}:7)`],
  ]);
  await page.screenshot({ path: join(SCREENSHOTS, 'host-classification.png'), fullPage: true });
  assert.deepEqual(errors, []);
});
