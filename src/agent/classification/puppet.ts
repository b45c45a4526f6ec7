import { existsSync, readdirSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { RateLimitedLog } from '../../core/log.js';
import type { Counter, Registry } from '../../core/metrics.js';
import type { Listener, MonitorContext } from '../monitor.js';
import { CatalogError, parseCatalog, type ClassificationUpload } from './catalog.js';
import { Backoff } from './backoff.js';
import { ApiUnreachable, apiErrorText, type ApiClient } from './http.js';
import type { PuppetConfig } from './schema.js';
import { PathWatch } from './watch.js';

/** Where Debian's puppet-agent and Puppet's AIO packages cache the node's catalog. */
export const CATALOG_DIRS = ['/var/lib/puppet/client_data/catalog', '/opt/puppetlabs/puppet/cache/client_data/catalog'];

/**
 * The catalog file `agent.puppet.catalog: auto` means: in the first of `dirs`
 * that exists, `<host>.json`, else the only *.json there; with no directory yet,
 * `<host>.json` in the first (watched until it appears).
 */
export function resolveCatalogPath(catalog: string, host: string, dirs: string[] = CATALOG_DIRS): string {
  if (catalog !== 'auto') return catalog;
  for (const d of dirs) {
    if (!existsSync(d)) continue;
    if (existsSync(join(d, `${host}.json`))) return join(d, `${host}.json`);
    let json: string[] = [];
    try { json = readdirSync(d).filter((n) => n.endsWith('.json')); } catch { /* unreadable: use the host's name */ }
    return join(d, json.length === 1 ? json[0]! : `${host}.json`);
  }
  return join(dirs[0]!, `${host}.json`);
}

/** Options of {@link PuppetCatalogSender} (tests shorten the backoff). */
export interface PuppetSenderOptions {
  backoffMs?: number;
  maxBackoffMs?: number;
  /** the directories `auto` looks in */
  dirs?: string[];
  metrics?: Registry;
  /** the agent's facts, sent with each catalog */
  facts?: () => Record<string, string>;
}

/**
 * Sends the node's cached Puppet catalog (classes and Service, Package, File,
 * Mount, Cron resources) to the server as its desired state: at start and each
 * time Puppet rewrites the file (inotify through the files listener's
 * machinery, no polling). A catalog that cannot be read or parsed is logged
 * (rate limited) and counted, and the last good one stays what the server has.
 * While the server is away the upload is retried with backoff; a newer catalog
 * replaces the one waiting.
 */
export class PuppetCatalogSender implements Listener {
  readonly kind = 'listener' as const;
  readonly name = 'puppet catalog';
  private ctx: MonitorContext | undefined;
  private watch: PathWatch | undefined;
  private warn: RateLimitedLog | undefined;
  private path = '';
  private stopped = true;
  /** the upload waiting to be sent (the newest good catalog not yet accepted) */
  private pending: ClassificationUpload | undefined;
  private sending: Promise<void> | undefined;
  private readonly backoff: Backoff;
  private reading: Promise<void> = Promise.resolve();
  private readonly refused: Counter | undefined;
  private readonly sent: Counter | undefined;
  /** the last catalog the server accepted */
  lastSent: ClassificationUpload | undefined;

  constructor(private readonly config: PuppetConfig, private readonly api: ApiClient, private readonly options: PuppetSenderOptions = {}) {
    this.refused = options.metrics?.counter('blick_agent_puppet_catalog_refused_total', 'Puppet catalogs the agent could not use (reason: json, shape, too-large, too-many-resources, read; server = the server answered 4xx)');
    this.sent = options.metrics?.counter('blick_agent_puppet_catalog_sent_total', 'Puppet catalogs the server accepted');
    this.backoff = new Backoff(options.backoffMs ?? 1000, options.maxBackoffMs ?? 60_000);
  }

  /** The catalog file watched. */
  get catalogPath(): string { return this.path; }

  async start(ctx: MonitorContext): Promise<void> {
    this.ctx = ctx;
    this.warn = new RateLimitedLog(ctx.log);
    this.stopped = false;
    this.path = resolveCatalogPath(this.config.catalog, ctx.host, this.options.dirs);
    this.watch = new PathWatch(this.path, (change) => { if (change !== 'deleted') this.reload(); });
    await this.watch.start(ctx);
    ctx.log.info({ catalog: this.path }, 'puppet: watching the catalog');
    this.reload();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.watch?.stop();
    this.backoff.cancel();
    await this.reading;
    await this.sending;
  }

  /** Reads the catalog again and queues it (reads run one after another). */
  private reload(): void {
    this.reading = this.reading.then(() => this.read()).catch(() => {});
  }

  private async read(): Promise<void> {
    if (this.stopped) return;
    let upload: ClassificationUpload;
    try {
      const fh = await open(this.path, 'r');
      try {
        const st = await fh.stat();
        if (st.size > this.config.max_bytes) throw new CatalogError('too-large', `${st.size} bytes, more than agent.puppet.max_bytes (${this.config.max_bytes})`);
        // read at most max_bytes + 1: a file that grew since the stat is still bounded
        const buf = Buffer.alloc(Math.min(st.size, this.config.max_bytes) + 1);
        const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
        if (bytesRead > this.config.max_bytes) throw new CatalogError('too-large', `more than agent.puppet.max_bytes (${this.config.max_bytes})`);
        upload = parseCatalog(buf.subarray(0, bytesRead).toString('utf8'), { path: this.path, mtimeMs: st.mtimeMs, maxResources: this.config.max_resources });
      } finally { await fh.close(); }
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') { this.ctx?.log.info({ catalog: this.path }, 'puppet: no catalog yet'); return; }
      const reason = err instanceof CatalogError ? err.reason : 'read';
      this.refused?.inc(1, { reason });
      this.warn?.warn('puppet:catalog', { catalog: this.path, reason, error: (err as Error).message }, 'puppet: cannot use the catalog; the last good one stays');
      return;
    }
    if (this.options.facts) upload.facts = this.options.facts();
    this.pending = upload;
    this.sending ??= this.sendLoop().finally(() => { this.sending = undefined; });
  }

  private async sendLoop(): Promise<void> {
    while (this.pending && !this.stopped) {
      const upload = this.pending;
      const host = this.ctx!.host;
      let retry: string | undefined;
      try {
        const r = await this.api.request('PUT', `/api/v1/hosts/${encodeURIComponent(host)}/classification`, { body: upload, timeoutMs: 30_000 });
        if (r.status === 200) {
          if (this.pending === upload) this.pending = undefined;
          this.lastSent = upload;
          this.sent?.inc();
          let derived: number | undefined;
          try { derived = (JSON.parse(r.body) as { derived?: unknown[] }).derived?.length; } catch { /* the count is only logged */ }
          this.ctx?.log.info({ catalog: this.path, version: upload.origin.version, classes: upload.classes.length, resources: upload.resources.length, derived }, 'puppet: catalog sent');
          this.backoff.reset();
          continue;
        }
        if (r.status === 400 || r.status === 413) {
          // the server will refuse this catalog again: wait for the next one
          if (this.pending === upload) this.pending = undefined;
          this.refused?.inc(1, { reason: 'server' });
          this.warn?.warn('puppet:refused', { catalog: this.path, error: apiErrorText(r) }, 'puppet: the server refused the catalog');
          continue;
        }
        retry = apiErrorText(r);
      } catch (err) {
        retry = err instanceof ApiUnreachable ? err.message : String(err);
      }
      this.warn?.warn('puppet:send', { server: this.api.url, error: retry, retryMs: this.backoff.nextMs }, 'puppet: cannot send the catalog; retrying');
      await this.backoff.sleep();
    }
  }
}
