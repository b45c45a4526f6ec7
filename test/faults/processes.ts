import { createServer } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { exited, spawnBlick, until } from '../fixtures/blick.js';

/** A TCP port that was free a moment ago (for daemons that must come back on the same address). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => resolve(p)); });
  });
}

/** A deterministic PRNG (mulberry32), so "random moments" are the same in every run. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * `blick server` as its own process on fixed loopback ports (so producers find it
 * again after a restart): writes DIR/server.yaml; `start()` spawns it and waits for
 * /healthz; `kill()` sends SIGKILL; a clean-up kills whatever still runs.
 */
export async function serverProcess(defer: (fn: () => unknown) => void, dir: string, lines: string[] = []): Promise<{
  ingest: string; url: string; dbFile: string; start: () => Promise<ChildProcess & { output: () => string }>; kill: () => Promise<void>; stop: () => Promise<number | null>;
}> {
  const ingestPort = await freePort();
  const httpPort = await freePort();
  const file = join(dir, 'server.yaml');
  writeFileSync(file, [
    `data_dir: ${JSON.stringify(join(dir, 'server'))}`,
    'server:',
    `  ingest: tcp://127.0.0.1:${ingestPort}`,
    `  http: 127.0.0.1:${httpPort}`,
    ...lines,
  ].join('\n') + '\n');
  const url = `http://127.0.0.1:${httpPort}`;
  let child: (ChildProcess & { output: () => string }) | undefined;
  defer(async () => { if (child && child.exitCode === null && child.signalCode === null) { child.kill('SIGKILL'); await exited(child); } });
  return {
    ingest: `tcp://127.0.0.1:${ingestPort}`,
    url,
    dbFile: join(dir, 'server', 'blick.db'),
    start: async () => {
      const c = spawnBlick(['server', '--config', file], { env: { BLICK_LOG_LEVEL: 'warn' } });
      child = c;
      await until(async () => {
        if (c.exitCode !== null) throw new Error(`blick server exited ${c.exitCode}: ${c.output()}`);
        try { return (await fetch(`${url}/healthz`)).ok; } catch { return false; }
      }, 'the server to answer /healthz', 20_000, 25);
      return c;
    },
    kill: async () => { if (child && child.exitCode === null && child.signalCode === null) { child.kill('SIGKILL'); await exited(child); } },
    stop: async () => { if (!child || child.exitCode !== null || child.signalCode !== null) return child?.exitCode ?? null; child.kill('SIGTERM'); return exited(child); },
  };
}
