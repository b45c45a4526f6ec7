import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { agentProcess, exited, spawnBlick, until } from '../fixtures/blick.js';
import { freeTcpPort } from '../statsd/fixtures.js';

/**
 * `blick agent` as its own process, following DIR/app.log (a line `ERROR <n>` is an
 * event of service "app errors" with attribute n) toward `upstream`, by default
 * tcp://127.0.0.1:<port> where no server listens yet. `start()` resolves once the
 * agent says it has started (its log follower is then at the end of the file).
 */
export async function logAgent(defer: (fn: () => unknown) => void, dir: string, host: string, upstream?: string): Promise<{
  port: number; log: string; dataDir: string;
  start: (o?: { wrapper?: string[]; env?: NodeJS.ProcessEnv }) => Promise<ChildProcess & { output: () => string }>;
}> {
  const port = await freeTcpPort();
  const log = join(dir, 'app.log');
  writeFileSync(log, 'started\n');
  const a = agentProcess(defer, dir, {
    host, upstream: upstream ?? `tcp://127.0.0.1:${port}`,
    lines: ['  log_patterns:', `    - { path: ${JSON.stringify(log)}, pattern: "ERROR (?<n>\\\\d+)", service: app errors, state: critical }`],
  });
  const start = async (o: { wrapper?: string[]; env?: NodeJS.ProcessEnv } = {}) => {
    const agent = a.start({ BLICK_LOG_LEVEL: 'info', ...o.env }, o.wrapper);
    await until(() => /agent started/.test(agent.output()), `the agent to start (output: ${agent.output()})`, 20_000);
    return agent;
  };
  return { port, log, dataDir: a.dataDir, start };
}

/** Appends `count` lines `… ERROR <n> …` to a log (n from `from` + 1), `perTick` every 10 ms; resolves with the last n. */
export function writeLines(file: string, from: number, count: number, perTick = 5): Promise<number> {
  let n = from;
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      for (let i = 0; i < perTick && n < from + count; i++) appendFileSync(file, `${new Date().toISOString()} ERROR ${++n} ${'x'.repeat(200)}\n`);
      if (n >= from + count) { clearInterval(timer); resolve(n); }
    }, 10);
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
  const ingestPort = await freeTcpPort();
  const httpPort = await freeTcpPort();
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
