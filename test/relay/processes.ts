import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import Database from 'better-sqlite3';
import { exited, listAll, metric, spawnBlick, until } from '../fixtures/blick.js';
import { freeTcpPort } from '../statsd/fixtures.js';

/** A `blick relay` process on fixed loopback ports (producers find it again after a restart). */
export interface RelayProcess {
  ingest: string;
  url: string;
  dataDir: string;
  /** spawn it and wait for /readyz */
  start: () => Promise<ChildProcess & { output: () => string }>;
  kill: () => Promise<void>;
  stop: () => Promise<number | null>;
  /** one figure of its /metrics (0 when absent) */
  figure: (name: string) => Promise<number>;
}

/**
 * `blick relay` as its own process: writes DIR/<name>.yaml (data under
 * DIR/<name>, heartbeat every second, `lines` under `relay:`, then `top`
 * lines such as a `curve:` section), forwarding to
 * `upstream`. A clean-up SIGKILLs whatever still runs.
 */
export async function relayProcess(defer: (fn: () => unknown) => void, dir: string, name: string, upstream: string, lines: string[] = [], top: string[] = []): Promise<RelayProcess> {
  const ingestPort = await freeTcpPort();
  const httpPort = await freeTcpPort();
  const file = join(dir, `${name}.yaml`);
  const dataDir = join(dir, name);
  writeFileSync(file, [
    `data_dir: ${JSON.stringify(dataDir)}`,
    'relay:',
    `  host: ${name}`,
    `  ingest: tcp://127.0.0.1:${ingestPort}`,
    `  upstreams: [${JSON.stringify(upstream)}]`,
    `  http: 127.0.0.1:${httpPort}`,
    '  heartbeat: 1s',
    ...lines,
    ...top,
  ].join('\n') + '\n');
  const url = `http://127.0.0.1:${httpPort}`;
  const token = /^\s*http_token:\s*"?([^"\s]+)"?/m.exec(lines.join('\n'))?.[1];
  let child: (ChildProcess & { output: () => string }) | undefined;
  defer(async () => { if (child && child.exitCode === null && child.signalCode === null) { child.kill('SIGKILL'); await exited(child); } });
  return {
    ingest: `tcp://127.0.0.1:${ingestPort}`,
    url,
    dataDir,
    start: async () => {
      const c = spawnBlick(['relay', '--config', file], { env: { BLICK_LOG_LEVEL: 'warn' } });
      child = c;
      await until(async () => {
        if (c.exitCode !== null) throw new Error(`blick relay exited ${c.exitCode}: ${c.output()}`);
        try { return (await fetch(`${url}/readyz`)).ok; } catch { return false; }
      }, `relay ${name} to answer /readyz`, 20_000, 25);
      return c;
    },
    kill: async () => { if (child && child.exitCode === null && child.signalCode === null) { child.kill('SIGKILL'); await exited(child); } },
    stop: async () => { if (!child || child.exitCode !== null || child.signalCode !== null) return child?.exitCode ?? null; child.kill('SIGTERM'); return exited(child); },
    figure: async (name: string) => metric(await (await fetch(`${url}/metrics`, { headers: token ? { authorization: `Bearer ${token}` } : {} })).text(), name),
  };
}

/** The `n` attribute of every `app errors` event of `host` in the server's database, in the order they were stored. */
export function storedNumbers(dbFile: string, host: string): number[] {
  const db = new Database(dbFile, { readonly: true, fileMustExist: true });
  try {
    const rows = db.prepare("SELECT e.attributes FROM events e JOIN series s ON s.sid = e.sid WHERE s.host = ? AND s.service = 'app errors' ORDER BY e.seq").pluck().all(host) as string[];
    return rows.map((a) => Number((JSON.parse(a) as Record<string, string>).n));
  } finally {
    db.close();
  }
}

/** The same through the API (every page, following the Link headers). */
export async function apiNumbers(url: string, host: string): Promise<number[]> {
  const events = await listAll<{ attributes: Record<string, string> }>(url, `/api/v1/events?host=${encodeURIComponent(host)}&service=app%20errors&limit=10000`);
  return events.map((e) => Number(e.attributes.n));
}

/** 1..n */
export const oneTo = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);
