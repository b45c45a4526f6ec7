import { test } from 'node:test';
import assert from 'node:assert/strict';
import { api, deferrals, startServer, tempDir } from '../fixtures/blick.js';
import { launchChromium, skipWithoutChromium } from './browser.js';

const skip = skipWithoutChromium();

test('a host whose ttl ran out is not shown as "last seen just now": the host page and the overview keep its own last event', { skip, timeout: 60_000 }, async (t) => {
  const defer = deferrals(t);
  const tmp = tempDir();
  defer(tmp.cleanup);
  let ahead = 0; // the server's clock, moved forward to run the ttl out
  const server = await startServer({ dataDir: tmp.dir, deps: { now: () => Date.now() + ahead } });
  defer(() => server.stop());
  const lastOwn = Date.now() - 10 * 60_000;
  const posted = await api(server.url, '/api/v1/events', {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ events: [{ host: 'gone-01', service: 'heartbeat', state: 'ok', ttl: 5, time: lastOwn }] }),
  });
  assert.equal(posted.status, 202);

  const chromium = await launchChromium();
  defer(() => chromium.close());
  const page = await chromium.context.newPage();
  const tenMinutes = /^10m( \d+s)? ago$/;
  const tile = page.locator('.tile[data-host="gone-01"]');
  await page.goto(`${server.url}/#/`);
  await tile.waitFor();
  await page.evaluate("location.hash = '#/host/gone-01'");
  const seen = page.locator('tr[data-service=heartbeat] td.seen');
  await seen.waitFor();
  assert.match((await seen.textContent()) ?? '', tenMinutes);

  ahead = 6000; // the expiry reaches the open page through the live stream
  await page.waitForSelector('tr[data-service=heartbeat] .state.critical', { timeout: 10_000 });
  assert.match((await seen.textContent()) ?? '', tenMinutes, 'the check row keeps the host\'s own last event');
  // back to the overview without reloading: its tiles come from what the stream told the page
  await page.evaluate("location.hash = '#/'");
  await page.waitForSelector('.tile[data-host="gone-01"][data-state=critical]');
  assert.match((await tile.getAttribute('title')) ?? '', /last seen 10m( \d+s)? ago/);

  // a fresh page load asks the API
  await page.goto(`${server.url}/#/host/gone-01`);
  await page.reload();
  await page.waitForSelector('body[data-view=host] tr[data-service=heartbeat] .state.critical');
  assert.match((await page.locator('main p.muted').first().textContent()) ?? '', /last seen 10m( \d+s)? ago/);
});
