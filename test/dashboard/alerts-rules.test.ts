import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serverForTest } from '../fixtures/blick.js';
import { launchChromium, skipWithoutChromium } from './browser.js';

const skip = skipWithoutChromium();

/** issue #12 missing 2: an empty Alerts page must not read as "all is well" when nothing can fire. */
test('the Alerts page says "no alert rules are configured" on a server without rules, and not on one with rules', { skip, timeout: 60_000 }, async (t) => {
  const bare = (await serverForTest(t)).server;
  const { server: ruled, defer } = await serverForTest(t, { rules: [{ name: 'any-critical', when: 'state == "critical"' }] });
  const chromium = await launchChromium();
  defer(() => chromium.close());
  const page = await chromium.context.newPage();
  await page.goto(bare.url + '/#/alerts');
  const notice = page.locator('body[data-view=alerts] [data-no-rules]');
  await notice.waitFor();
  assert.match((await notice.textContent()) ?? '', /No alert rules are configured/);

  await page.goto(ruled.url + '/#/alerts');
  await page.waitForSelector('body[data-view=alerts] [data-section=firing]');
  assert.equal(await page.locator('[data-no-rules]').count(), 0);
});
