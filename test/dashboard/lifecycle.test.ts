import { test } from 'node:test';
import assert from 'node:assert/strict';
import { api, serverForTest, until } from '../fixtures/blick.js';
import { launchChromium, login, skipWithoutChromium } from './browser.js';

const WRITER = 'dashboard-write-token-0123456789';
const READER = 'dashboard-read-token-0123456789';
const skip = skipWithoutChromium();


test('the Alerts page acknowledges a firing alert with a write token and shows the badge; a read token sees the badge and no button', { skip, timeout: 60_000 }, async (t) => {
  const { server, defer } = await serverForTest(t, {
    tokens: [{ token: WRITER, role: 'write' }, { token: READER, role: 'read' }],
    rules: [{ name: 'any-critical', when: 'state == "critical"' }],
  });
  const auth = (token: string) => ({ authorization: `Bearer ${token}`, 'content-type': 'application/json' });
  await api(server.url, '/api/v1/events', { method: 'POST', headers: auth(WRITER), body: JSON.stringify({ events: [{ host: 'web-07', service: 'nginx', state: 'critical' }] }) });
  const [alert] = await until(async () => { const l = (await api<any[]>(server.url, '/api/v1/alerts?status=firing', { headers: auth(READER) })).body; return l.length ? l : undefined; }, 'the alert to fire');

  const chromium = await launchChromium();
  defer(() => chromium.close());
  const page = await chromium.context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('dialog', (d) => { void d.accept('on it, disk replaced tomorrow'); });
  await login(page, server.url, WRITER);
  await page.goto(server.url + '/#/alerts');
  await page.click(`[data-section=firing] button[data-ack="${alert!.id}"]`);
  const badge = page.locator(`[data-section=firing] tr[data-alert="${alert!.id}"] [data-acked]`);
  await badge.waitFor();
  assert.equal(await badge.textContent(), 'Acked by token:write');
  assert.equal(await page.locator('button[data-ack]').count(), 0, 'no second acknowledgement');
  const shown = (await api<any[]>(server.url, '/api/v1/alerts?status=firing', { headers: auth(READER) })).body[0];
  assert.equal(shown.acknowledged.comment, 'on it, disk replaced tomorrow');

  const ro = await chromium.context.newPage();
  await ro.goto(server.url + '/');
  await ro.evaluate(() => (globalThis as any).localStorage.clear());
  await login(ro, server.url, READER);
  await ro.goto(server.url + '/#/alerts');
  await ro.locator('[data-section=firing] [data-acked]').waitFor();
  assert.equal(await ro.locator('button[data-ack]').count(), 0);
  assert.deepEqual(errors, []);
});

test('a host deleted through the API (or deregistered) leaves the overview without a reload', { skip, timeout: 60_000 }, async (t) => {
  const { server, defer } = await serverForTest(t, { tokens: [{ token: WRITER, role: 'write' }] });
  const auth = { authorization: `Bearer ${WRITER}`, 'content-type': 'application/json' };
  await api(server.url, '/api/v1/events', { method: 'POST', headers: auth, body: JSON.stringify({ events: [{ host: 'web-07', service: 'nginx', state: 'ok' }, { host: 'web-08', service: 'nginx', state: 'critical' }] }) });
  const chromium = await launchChromium();
  defer(() => chromium.close());
  const page = await chromium.context.newPage();
  await login(page, server.url, WRITER);
  await page.waitForSelector('.tile[data-host=web-08]');
  assert.equal((await api(server.url, '/api/v1/hosts/web-08', { method: 'DELETE', headers: { authorization: `Bearer ${WRITER}` } })).status, 200);
  await page.waitForSelector('.tile[data-host=web-08]', { state: 'detached' });
  assert.equal(await page.locator('.tile[data-host=web-07]').count(), 1);
  assert.match((await page.locator('[data-filter=critical]').textContent()) ?? '', /Critical 0/);
});
