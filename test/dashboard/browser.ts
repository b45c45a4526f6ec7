import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { ROOT } from '../fixtures/blick.js';
import { inCI } from '../fixtures/ci.js';

/** Debian's chromium (REAL-PARTS.md, Browser); `npx playwright install` cannot download one here. */
export const CHROMIUM = process.env.BLICK_CHROMIUM ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

/**
 * Why browser tests cannot run, or undefined when they can. In CI a missing
 * chromium is a failure (the caller throws), elsewhere a skip with this reason.
 */
export function chromiumMissing(): string | undefined {
  return existsSync(CHROMIUM) ? undefined : `chromium not found at ${CHROMIUM} (apt-get install chromium, or set BLICK_CHROMIUM)`;
}

/** The `skip` option for node:test: fails loudly in CI, skips with the reason elsewhere. */
export function skipWithoutChromium(): string | false {
  const why = chromiumMissing();
  if (!why) return false;
  if (inCI()) throw new Error(`browser tests need chromium in CI: ${why}`);
  return why;
}

/** A headless chromium with a fresh profile; `close` ends it and removes the profile. */
export async function launchChromium(): Promise<{ browser: Browser | BrowserContext; context: BrowserContext; close: () => Promise<void> }> {
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'blick-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true,
    viewport: { width: 1440, height: 900 }, deviceScaleFactor: 1,
  });
  return {
    browser: context, context,
    close: async () => {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Where screenshots go: every run writes test-results/screenshots/ (ignored by git);
 * BLICK_UPDATE_SCREENSHOTS=1 writes docs/screenshots/, the copies the docs link to.
 */
export const SCREENSHOTS = process.env.BLICK_UPDATE_SCREENSHOTS === '1' ? join(ROOT, 'docs', 'screenshots') : join(ROOT, 'test-results', 'screenshots');

/** A page in a fresh chromium (closed by `defer`) that collects its page errors; SCREENSHOTS exists. */
export async function pageForTest(defer: (fn: () => unknown) => void): Promise<{ page: Page; errors: string[]; context: BrowserContext }> {
  const chromium = await launchChromium();
  defer(() => chromium.close());
  mkdirSync(SCREENSHOTS, { recursive: true });
  const page = await chromium.context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  return { page, errors, context: chromium.context };
}

/** Log in on the dashboard's login page with a token; resolves once the overview shows its tiles. */
export async function login(page: Page, url: string, token: string): Promise<void> {
  await page.goto(url + '/');
  await page.waitForSelector('input[name=token]');
  await page.fill('input[name=token]', token);
  await page.click('form[aria-label="Log in"] button[type=submit]');
  await page.waitForSelector('body[data-view=overview] .tiles');
}
