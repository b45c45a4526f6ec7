import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import { RateLimitedLog } from '../../core/log.js';
import type { Counter, Registry } from '../../core/metrics.js';
import type { DerivedCheck } from '../../server/classification/types.js';
import { checkConfigSchema, type CheckConfig } from '../checks/index.js';
import type { Listener, MonitorContext } from '../monitor.js';
import { Backoff } from './backoff.js';
import { ApiUnreachable, apiErrorText, type ApiClient } from './http.js';

const SOURCES = ['puppet-catalog', 'puppetdb', 'chef'] as const;

/** A derived check as the server sends it (DerivedCheck; unknown fields are dropped). */
export const derivedCheckSchema = z.object({
  kind: z.enum(['service-running', 'service-stopped', 'mount', 'file', 'package']),
  target: z.string().min(1).max(4096),
  service: z.string().min(1).max(4096),
  origin: z.object({
    source: z.enum(SOURCES),
    catalog: z.string().optional(),
    version: z.string().optional(),
    resource: z.string().min(1).max(4096),
    file: z.string().optional(),
    line: z.number().int().optional(),
  }),
});

/** A `server.checks` entry: the agent's own check shape plus where it came from. */
export const serverCheckSchema = checkConfigSchema.extend({
  origin: z.object({ source: z.string(), subscription: z.string().optional() }).optional(),
});
export type ServerCheck = CheckConfig & { origin?: { source: string; subscription?: string | undefined } | undefined };

/** A host's check set: what `GET /api/v1/hosts/:host/checkset` answers. */
export interface CheckSet {
  host: string;
  version: string;
  subscriptions: string[];
  checks: ServerCheck[];
  derived: DerivedCheck[];
}

const checkSetShape = z.object({
  host: z.string(),
  version: z.string().min(1).max(256),
  subscriptions: z.array(z.string()).default([]),
  checks: z.array(z.unknown()).default([]),
  derived: z.array(z.unknown()).default([]),
});

/**
 * Parses a check set. The envelope must be right (else it throws); a single
 * entry the agent cannot run is left out and reported in `skipped`, so one bad
 * check on the server does not take the others away.
 */
export function parseCheckSet(text: string): { set: CheckSet; skipped: string[] } {
  const doc = checkSetShape.parse(JSON.parse(text));
  const skipped: string[] = [];
  const checks: ServerCheck[] = [];
  for (const [i, c] of doc.checks.entries()) {
    const r = serverCheckSchema.safeParse(c);
    if (r.success) checks.push(r.data as ServerCheck);
    else skipped.push(`checks[${i}]${typeof (c as { name?: unknown })?.name === 'string' ? ` (${(c as { name: string }).name})` : ''}: ${r.error.issues[0]?.path.join('.')} ${r.error.issues[0]?.message}`);
  }
  const derived: DerivedCheck[] = [];
  for (const [i, d] of doc.derived.entries()) {
    const r = derivedCheckSchema.safeParse(d);
    if (r.success) derived.push(r.data as DerivedCheck);
    else skipped.push(`derived[${i}]: ${r.error.issues[0]?.path.join('.')} ${r.error.issues[0]?.message}`);
  }
  return { set: { host: doc.host, version: doc.version, subscriptions: doc.subscriptions, checks, derived }, skipped };
}

/** Options of {@link CheckSetClient}. */
export interface CheckSetOptions {
  /** the file the last set is kept in */
  file: string;
  subscriptions: string[];
  /** how long the server holds a long-poll */
  waitMs: number;
  /** called with each new set (the one from disk at start included); must not throw */
  apply(set: CheckSet, from: 'server' | 'disk'): Promise<void>;
  backoffMs?: number;
  maxBackoffMs?: number;
  metrics?: Registry;
}

/**
 * Keeps the agent's check set in step with the server: one GET at start, then a
 * long-poll (`If-None-Match` + `wait`) that the server answers as soon as the
 * set changes; each new set is applied without a restart and written to disk.
 * When the server cannot be reached at start, the set kept on disk is applied,
 * and the client keeps trying with backoff.
 */
export class CheckSetClient implements Listener {
  readonly kind = 'listener' as const;
  readonly name = 'check set';
  private ctx: MonitorContext | undefined;
  private warn: RateLimitedLog | undefined;
  private stopped = true;
  private loop: Promise<void> | undefined;
  private abort: AbortController | undefined;
  private readonly backoff: Backoff;
  private readonly errors: Counter | undefined;
  private readonly updates: Counter | undefined;
  /** the set applied now */
  current: CheckSet | undefined;
  /** where the current set came from */
  currentFrom: 'server' | 'disk' | undefined;

  constructor(private readonly api: ApiClient, private readonly o: CheckSetOptions) {
    this.errors = o.metrics?.counter('blick_agent_checkset_errors_total', 'Check-set fetches that failed (reason: unreachable, status, invalid, skipped = entries left out of a set, disk)');
    this.updates = o.metrics?.counter('blick_agent_checkset_updates_total', 'Check sets applied (from: server, disk)');
    this.backoff = new Backoff(o.backoffMs ?? 1000, o.maxBackoffMs ?? 30_000);
  }

  async start(ctx: MonitorContext): Promise<void> {
    this.ctx = ctx;
    this.warn = new RateLimitedLog(ctx.log);
    this.stopped = false;
    // the agent does not wait for the server: its local monitors start at once
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort?.abort();
    this.backoff.cancel();
    await this.loop;
  }

  private path(): string {
    const q = this.o.subscriptions.length > 0 ? `?subscriptions=${encodeURIComponent(this.o.subscriptions.join(','))}` : '';
    return `/api/v1/hosts/${encodeURIComponent(this.ctx!.host)}/checkset${q}`;
  }

  private async run(): Promise<void> {
    let first = true;
    while (!this.stopped) {
      const waiting = this.current !== undefined && this.currentFrom === 'server';
      const headers: Record<string, string> = {};
      if (this.current) headers['if-none-match'] = `"${this.current.version}"`;
      const path = waiting ? `${this.path()}${this.path().includes('?') ? '&' : '?'}wait=${Math.round(this.o.waitMs / 1000)}s` : this.path();
      let problem: { reason: string; error: string } | undefined;
      try {
        this.abort = new AbortController();
        const r = await this.api.request('GET', path, { headers, timeoutMs: waiting ? this.o.waitMs + 15_000 : 15_000, signal: this.abort.signal });
        if (r.status === 304) {
          if (this.currentFrom === 'disk') { this.currentFrom = 'server'; this.ctx?.log.info({ version: this.current?.version }, 'check set: the server has the set kept on disk'); }
          this.backoff.reset();
          first = false;
          continue;
        }
        if (r.status === 200) {
          const { set, skipped } = parseCheckSet(r.body);
          if (skipped.length > 0) {
            this.errors?.inc(skipped.length, { reason: 'skipped' });
            this.warn?.warn('checkset:skipped', { skipped: skipped.slice(0, 10), count: skipped.length }, 'check set: entries the agent cannot run were left out');
          }
          await this.use(set, 'server');
          await this.save(r.body);
          this.backoff.reset();
          first = false;
          continue;
        }
        problem = { reason: 'status', error: apiErrorText(r) };
      } catch (err) {
        if (this.stopped) break;
        problem = err instanceof ApiUnreachable || (err as Error).name === 'AbortError'
          ? { reason: 'unreachable', error: (err as Error).message }
          : { reason: 'invalid', error: (err as Error).message };
      }
      this.errors?.inc(1, { reason: problem.reason });
      this.warn?.warn(`checkset:${problem.reason}`, { server: this.api.url, error: problem.error, retryMs: this.backoff.nextMs }, 'check set: cannot fetch it from the server; retrying');
      if (first) { first = false; await this.loadFromDisk(); }
      // a server that was reached and is now gone: the next successful fetch is a plain GET again
      if (this.currentFrom === 'server' && problem.reason === 'unreachable') this.currentFrom = 'disk';
      await this.backoff.sleep();
    }
  }

  private async use(set: CheckSet, from: 'server' | 'disk'): Promise<void> {
    if (this.current?.version === set.version && this.currentFrom !== undefined) { this.currentFrom = from; return; }
    this.current = set;
    this.currentFrom = from;
    this.updates?.inc(1, { from });
    this.ctx?.log.info({ version: set.version, from, checks: set.checks.length, derived: set.derived.length, subscriptions: set.subscriptions }, 'check set applied');
    await this.o.apply(set, from);
  }

  private async loadFromDisk(): Promise<void> {
    if (this.current) return;
    let text: string;
    try { text = await readFile(this.o.file, 'utf8'); } catch { return; }
    try {
      const { set } = parseCheckSet(text);
      if (set.host !== this.ctx!.host) { this.ctx?.log.info({ file: this.o.file, host: set.host }, 'check set: the set on disk is another host\'s; not used'); return; }
      await this.use(set, 'disk');
    } catch (err) {
      this.errors?.inc(1, { reason: 'disk' });
      this.warn?.warn('checkset:disk', { file: this.o.file, error: (err as Error).message }, 'check set: the set kept on disk is unreadable; not used');
    }
  }

  /** Writes the set (the server's text as it came) next to the old one, then renames it over. */
  private async save(text: string): Promise<void> {
    try {
      await mkdir(dirname(this.o.file), { recursive: true });
      const tmp = `${this.o.file}.tmp`;
      await writeFile(tmp, text, { mode: 0o600 });
      await rename(tmp, this.o.file);
    } catch (err) {
      this.errors?.inc(1, { reason: 'disk' });
      this.warn?.warn('checkset:save', { file: this.o.file, error: (err as Error).message }, 'check set: cannot keep it on disk');
    }
  }
}
