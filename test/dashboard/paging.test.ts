import { test } from 'node:test';
import assert from 'node:assert/strict';
import { api, serverForTest } from '../fixtures/blick.js';
import { launchChromium, skipWithoutChromium } from './browser.js';

const skip = skipWithoutChromium();

test('the overview shows every host when the hosts list comes in several byte-bounded pages', { skip, timeout: 60_000 }, async (t) => {
  const { server, defer } = await serverForTest(t, { limits: { max_page_bytes: 1024 } });
  const events = Array.from({ length: 30 }, (_, i) => ({ host: `web-${String(i).padStart(2, '0')}`, service: 'http', state: i === 7 ? 'critical' : 'ok' }));
  assert.equal((await api(server.url, '/api/v1/events', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(events) })).status, 202);
  const first = await api<any[]>(server.url, '/api/v1/hosts');
  assert.ok(first.body.length < 30 && first.headers.get('link'), 'the first page of /api/v1/hosts holds only some hosts');
  const chromium = await launchChromium();
  defer(() => chromium.close());
  const page = await chromium.context.newPage();
  await page.goto(server.url + '/');
  await page.waitForSelector('body[data-view=overview] .tile[data-host="web-00"]');
  assert.equal(await page.locator('.tile').count(), 30, 'every host has a tile');
  assert.equal(await page.locator('.tile').first().getAttribute('data-host'), 'web-07', 'worst first');
});
