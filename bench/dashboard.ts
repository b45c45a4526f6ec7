/**
 * Dashboard benchmark (issue #6): a server holding 2,000 hosts × 20 checks, the
 * overview in headless chromium: first render, then bursts of 1,000 live
 * events (each flips a check's state, so tiles recolour and re-sort), timed
 * with performance marks inside the page; the server's RSS for that state.
 * Standalone: `node dist/bench/dashboard.js`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromiumMissing, launchChromium } from '../test/dashboard/browser.js';

const HOSTS = 2000;
const CHECKS = 20;
const BURST = 1000;
const BURSTS = 5;
const here = dirname(fileURLToPath(import.meta.url));
const MAIN = pathToFileURL(join(here, '..', 'src', 'cli', 'main.js')).href;

async function freePort(): Promise<number> {
  return new Promise((resolve) => { const s = createServer().listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => resolve(p)); }); });
}

function rssMB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function post(url: string, events: unknown[]): Promise<void> {
  const res = await fetch(url + '/api/v1/events', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ events }) });
  if (res.status !== 202) throw new Error(`POST /api/v1/events: ${res.status} ${await res.text()}`);
}

const host = (i: number) => `host-${String(i).padStart(4, '0')}.dc1`;
const SERVICES = Array.from({ length: CHECKS }, (_, j) => (j < 4 ? ['cpu', 'load', 'memory', 'disk /'][j]! : `check ${String(j).padStart(2, '0')}`));

export async function run(log: (s: string) => void = () => undefined): Promise<string> {
  const missing = chromiumMissing();
  if (missing) return `## Dashboard (issue #6)\n\nNot run: ${missing}.\n`;
  const dir = mkdtempSync(join(tmpdir(), 'blick-bench-dash-'));
  const port = await freePort();
  const ingest = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const cfg = join(dir, 'blick.yaml');
  writeFileSync(cfg, `data_dir: ${dir}\nserver:\n  http: 127.0.0.1:${port}\n  ingest: tcp://127.0.0.1:${ingest}\n`);
  const server: ChildProcess = spawn(process.execPath, ['--input-type=module', '-e', `import(${JSON.stringify(MAIN)}).then((m) => m.main(process.argv.slice(1)))`, 'server', '--config', cfg], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, BLICK_LOG_LEVEL: 'warn' } });
  let stderr = '';
  server.stderr!.on('data', (b) => { stderr += b; });
  let chromium: Awaited<ReturnType<typeof launchChromium>> | undefined;
  try {
    for (let i = 0; ; i++) {
      try { if ((await fetch(url + '/readyz')).ok) break; } catch { /* not yet */ }
      if (i > 200 || server.exitCode !== null) throw new Error(`server did not start: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const rss0 = rssMB(server.pid!);
    // 2,000 hosts × 20 checks; ~2 % warning, ~1 % critical
    const t0 = performance.now();
    let batch: unknown[] = [];
    const now = Date.now();
    for (let i = 0; i < HOSTS; i++) {
      for (let j = 0; j < CHECKS; j++) {
        const r = (i * 31 + j * 17) % 100;
        const state = r === 0 ? 'critical' : r < 3 ? 'warning' : 'ok';
        batch.push({ host: host(i), service: SERVICES[j], state, metric: (i + j) % 100, description: `${SERVICES[j]} is ${state}`, time: now - 60_000 });
        if (batch.length === 10_000) { await post(url, batch); batch = []; }
      }
    }
    if (batch.length) await post(url, batch);
    const loadS = (performance.now() - t0) / 1000;
    const rssLoaded = rssMB(server.pid!);
    log(`${HOSTS * CHECKS} checks loaded in ${loadS.toFixed(1)} s; server RSS ${rssLoaded.toFixed(0)} MB`);

    chromium = await launchChromium();
    const page = await chromium.context.newPage();
    const firstRenders: { total: number; render: number; hostsLoaded: number }[] = [];
    for (let k = 0; k < 3; k++) {
      await page.goto(url + '/#/', { waitUntil: 'commit' });
      await page.waitForFunction(() => performance.getEntriesByName('blick:rendered:overview').length > 0, undefined, { timeout: 30_000 });
      // one more frame so that style and layout of the first render are included
      const r = await page.evaluate(() => new Promise<{ total: number; render: number; hostsLoaded: number }>((resolve) => (globalThis as any).requestAnimationFrame(() => setTimeout(() => {
        const m = performance.getEntriesByName('blick:rendered:overview')[0] as any;
        const h = performance.getEntriesByName('blick:hosts-loaded')[0] as any;
        resolve({ total: m.startTime, render: (m.detail as { ms: number }).ms, hostsLoaded: h.startTime });
      }, 0))));
      firstRenders.push(r);
    }
    const tiles = await page.locator('.tile').count();
    if (tiles !== HOSTS) throw new Error(`the overview shows ${tiles} tiles, not ${HOSTS}`);

    const bursts: { ms: number; flushes: number; items: number }[] = [];
    for (let b = 0; b < BURSTS; b++) {
      const base = await page.evaluate(() => { const s = (globalThis as any).__blick.stats; performance.clearMarks('blick:applied'); return s.received as number; });
      const events = [];
      for (let i = 0; i < BURST; i++) {
        const h = (i * 2 + b) % HOSTS;
        events.push({ host: host(h), service: SERVICES[(b + 5) % CHECKS], state: b % 2 === 0 ? 'critical' : 'ok', metric: b, description: `burst ${b}` });
      }
      await post(url, events);
      const r = await page.waitForFunction(({ base, want }) => {
        const s = (globalThis as any).__blick.stats;
        if (s.received - base < want || s.applied < s.received) return false;
        const marks = performance.getEntriesByName('blick:applied') as any[];
        if (marks.length === 0) return false;
        const first = Math.min(...marks.map((m) => (m.detail as { firstReceivedAt: number }).firstReceivedAt));
        const last = Math.max(...marks.map((m) => m.startTime));
        return { ms: last - first, flushes: marks.length, items: s.received - base };
      }, { base, want: BURST }, { timeout: 30_000, polling: 50 });
      bursts.push(await r.jsonValue() as { ms: number; flushes: number; items: number });
      await page.waitForTimeout(300);
    }
    const rssAfter = rssMB(server.pid!);
    const med = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]!; };
    const first = med(firstRenders.map((f) => f.total));
    const burstMed = med(bursts.map((b) => b.ms));
    const burstMax = Math.max(...bursts.map((b) => b.ms));
    log(`first render ${first.toFixed(0)} ms; burst median ${burstMed.toFixed(0)} ms, max ${burstMax.toFixed(0)} ms`);
    return [
      '## Dashboard: overview with 2,000 hosts × 20 checks (issue #6)',
      '',
      `Server in its own process (SQLite), ${HOSTS * CHECKS} checks POSTed through the API (${loadS.toFixed(1)} s); headless Debian chromium via playwright-core, 1440×900; ${cpus().length} cores (${cpus()[0]?.model ?? '?'}); Node ${process.version}. Times from performance marks inside the page.`,
      '',
      '| measure | result | target |',
      '|---|---:|---|',
      `| overview first render: navigation start → ${HOSTS} tiles in the DOM (median of 3 loads) | ${first.toFixed(0)} ms | < 1 s |`,
      `| … of which GET /api/v1/hosts done at | ${med(firstRenders.map((f) => f.hostsLoaded)).toFixed(0)} ms | |`,
      `| … of which building the tiles | ${med(firstRenders.map((f) => f.render)).toFixed(0)} ms | |`,
      `| burst of ${BURST} events (each flips a check on its own host: ${BURST} tiles recolour and re-sort): first item received → last applied, median of ${BURSTS} | ${burstMed.toFixed(0)} ms | < 200 ms |`,
      `| … worst burst | ${burstMax.toFixed(0)} ms | |`,
      `| … stream items per burst (events + state changes), DOM updates (animation frames) | ${bursts[0]!.items}, ${med(bursts.map((b) => b.flushes))} | |`,
      `| server RSS: started, empty | ${rss0.toFixed(0)} MB | |`,
      `| server RSS: ${HOSTS * CHECKS} checks loaded | ${rssLoaded.toFixed(0)} MB | |`,
      `| server RSS: after the bursts, one dashboard connected | ${rssAfter.toFixed(0)} MB | |`,
      '',
      'The burst time covers the browser side (parse, apply to the model, recolour, re-sort, counts); the server sends the burst as one write per client.',
      '',
    ].join('\n');
  } finally {
    await chromium?.close();
    server.kill('SIGTERM');
    await new Promise((r) => (server.exitCode !== null ? r(null) : server.once('exit', r)));
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  run((s) => process.stderr.write(`  ${s}\n`)).then((s) => process.stdout.write(s + '\n'), (err) => { console.error(err); process.exit(1); });
}
