import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { api, deferrals, serverForTest, until } from '../fixtures/blick.js';
import { pageForTest, SCREENSHOTS as SHOTS, skipWithoutChromium } from './browser.js';

const skip = skipWithoutChromium();
const SERIES = 'check mysql connections';

/** What the page's chart should hold: one point per step with a value, from the range the page asked for. */
async function expectedPoints(page: Page, times: number[]): Promise<{ points: number; step: number }> {
  const d = await page.locator('.graph').evaluate((el) => ({ ...(el as any).dataset }));
  const from = Number(d.from), to = Number(d.to), step = Number(d.step);
  const steps = new Set(times.filter((t) => t >= from && t < to).map((t) => Math.floor((t - from) / step)));
  return { points: steps.size, step };
}

test('the host page charts a series with time and value axes, hover values and a range picker, checks and metrics apart', { skip, timeout: 120_000 }, async (t) => {
  const defer = deferrals(t);
  const { server } = await serverForTest(t);
  const now = Date.now();
  // 60 values three minutes apart: 20 in the last hour, all 60 in the last six
  const times = Array.from({ length: 60 }, (_, k) => now - 30_000 - k * 180_000).reverse();
  const events: Record<string, unknown>[] = times.map((time, k) => ({ host: 'db-01', service: SERIES, metric: 40 + 30 * Math.sin(k / 6), time }));
  events.push(
    { host: 'db-01', service: 'mysql', state: 'ok', description: 'OK - 61 connections', time: now - 30_000 },
    { host: 'db-01', service: 'disk /', state: 'warning', metric: 91, description: 'disk / 91 %', time: now - 30_000 },
    { host: 'db-01', service: 'network eth0 rx_bytes', metric: 12_000, time: now - 30_000 },
  );
  assert.equal((await api(server.url, '/api/v1/events', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ events }) })).status, 202);
  const summary = (await api(server.url, '/api/v1/hosts/db-01')).body;
  assert.deepEqual([summary.checks, summary.metrics], [2, 2]);

  const { page, errors } = await pageForTest(defer);
  await page.goto(`${server.url}/#/host/db-01?service=${encodeURIComponent(SERIES)}`);
  await page.waitForSelector('body[data-view=host] .graph[data-points] canvas');

  // two sections: checks have a state, metric series do not
  assert.match(await page.locator('main p.muted').first().textContent() ?? '', /2 checks · 2 metrics/);
  assert.deepEqual(await page.locator('table[data-section=checks] tr[data-service]').evaluateAll((r) => r.map((e) => e.getAttribute('data-service'))), ['disk /', 'mysql']);
  assert.deepEqual(await page.locator('table[data-section=metrics] tr[data-service]').evaluateAll((r) => r.map((e) => e.getAttribute('data-service'))), [SERIES, 'network eth0 rx_bytes']);

  // 1 h: the 20 newest values, each in its own step
  const hour = await expectedPoints(page, times);
  assert.equal(hour.points, 20);
  assert.equal(await page.locator('.graph').getAttribute('data-points'), String(hour.points));
  assert.equal(await page.locator('.graph').getAttribute('data-service'), SERIES);
  assert.equal(await page.locator('.range button[aria-pressed=true]').textContent(), '1h');

  // axes: uPlot leaves room left of the plot for the value axis and below it for the time axis
  const box = await page.locator('.graph .u-over').evaluate((el) => {
    const o = (el as any).getBoundingClientRect(), w = (el as any).parentElement.getBoundingClientRect();
    return { left: o.left - w.left, below: w.bottom - o.bottom, width: o.width, height: o.height };
  });
  assert.ok(box.left >= 40, `value axis width ${box.left}`);
  assert.ok(box.below >= 20, `time axis height ${box.below}`);

  // hover: the legend shows the values under the cursor
  await page.mouse.move(0, 0);
  const over = (await page.locator('.graph .u-over').boundingBox())!;
  await page.mouse.move(over.x + over.width * 0.9, over.y + over.height / 2);
  const legend = await until(async () => {
    const v = await page.locator('.graph .u-legend .u-series').evaluateAll((rows) => rows.map((r) => r.querySelector('.u-value')?.textContent ?? ''));
    return v.length === 4 && v.slice(1).every((x) => /^-?[\d.,]+$/.test(x)) ? v : undefined;
  }, 'hover values in the legend');
  assert.ok(Number(legend[2]!.replace(/,/g, '')) <= Number(legend[1]!.replace(/,/g, '')), `min ≤ avg: ${legend}`);
  await page.screenshot({ path: join(SHOTS, 'host-graph.png') });

  // the picker refetches: 6 h has every value, in wider steps
  await page.click('.range button[data-range="6h"]');
  await page.waitForSelector('.graph[data-range="6h"][data-step="90000"] canvas');
  const six = await expectedPoints(page, times);
  assert.equal(six.points, 60);
  await until(async () => (await page.locator('.graph').getAttribute('data-points')) === '60', 'the chart of the last 6 h');
  assert.equal(await page.locator('.range button[aria-pressed=true]').textContent(), '6h');

  // a live value in a step that had none: the chart refetches and gains a point
  const late = { host: 'db-01', service: SERIES, metric: 55, time: times[30]! + 90_000 };
  assert.equal((await api(server.url, '/api/v1/events', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify([late]) })).status, 202);
  await until(async () => (await page.locator('.graph').getAttribute('data-points')) === '61', 'the live value charted', 20_000);

  // another row charts that series
  await page.click('tr[data-service="disk /"]');
  await until(async () => (await page.locator('.graph').getAttribute('data-service')) === 'disk /', 'disk / charted');
  assert.equal(await page.locator('.graph').getAttribute('data-points'), '1');
  assert.deepEqual(errors, [], 'no page errors');
});
