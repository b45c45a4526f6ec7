import type { Component } from '../../../core/component.js';
import { isBlickError } from '../../../core/errors.js';
import { RateLimitedLog, type Logger } from '../../../core/log.js';
import type { Registry } from '../../../core/metrics.js';
import { DERIVING_TYPES, type DesiredState, type DesiredStateSink } from '../types.js';
import { loadPuppetdbTls, PuppetdbClient, PuppetdbRequestError } from './client.js';
import type { PuppetdbConfig } from './config.js';
import { desiredStateOf, nodeRow, type NodeRow } from './rows.js';

export { puppetdbConfigSchema, type PuppetdbConfig } from './config.js';

export interface PuppetdbPollerDeps {
  sink: DesiredStateSink;
  metrics: Registry;
  log: Logger;
  /** the PEM material; read from the config's files when absent */
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer };
  now?: () => number;
}

/** What one poll did. */
export interface PollSummary {
  /** nodes PuppetDB listed (active, deactivated and expired) */
  nodes: number;
  updated: number;
  /** nodes whose catalog and facts were as at the last poll */
  unchanged: number;
  forgotten: number;
  /** nodes left as they were: over max_resources, a malformed row */
  skipped: number;
  /** more nodes than max_nodes: the rest were not read, and no node was forgotten for being absent */
  truncated: boolean;
}

/**
 * Polls PuppetDB (`/pdb/query/v4`: nodes, then per node its Service,
 * Package, File, Mount, Cron and Class resources, with file and line, and its
 * facts) every `interval`, and hands each node's desired state to the sink as
 * source `puppetdb`. A node is read again only when its catalog or facts
 * timestamp moved. Deactivated and expired nodes, and nodes PuppetDB no
 * longer lists, are forgotten. A failed poll (TLS refused, PuppetDB down, a
 * malformed answer) is counted and logged, rate-limited, and changes
 * nothing: the last good state stays until a poll succeeds. PuppetDB being
 * away does not stop the server, so the poller has no failure signal.
 */
export class PuppetdbPoller implements Component {
  readonly name = 'puppetdb';
  private readonly client: PuppetdbClient;
  private readonly warn: RateLimitedLog;
  /** nodes the sink has from this poller, with the catalog|facts timestamps they were read at */
  private readonly known = new Map<string, string>();
  /**
   * inactive nodes the sink was told to forget since this process started: the
   * book outlives a restart, `known` does not, so each inactive node is
   * forgotten once per process whether or not this process classified it
   */
  private readonly told = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private abort = new AbortController();
  private running: Promise<unknown> | undefined;
  private readonly m;

  constructor(private readonly config: PuppetdbConfig, private readonly deps: PuppetdbPollerDeps) {
    this.client = new PuppetdbClient(config, deps.tls ?? loadPuppetdbTls(config));
    this.warn = new RateLimitedLog(deps.log);
    const r = deps.metrics;
    this.m = {
      polls: r.counter('blick_puppetdb_polls_total', 'PuppetDB polls (by result: ok, failed)'),
      failures: r.counter('blick_puppetdb_poll_failures_total', 'PuppetDB polls that failed (by reason: tls, connect, timeout, http, invalid, too_large)'),
      updated: r.counter('blick_puppetdb_nodes_updated_total', 'Nodes whose desired state was read from PuppetDB and handed on'),
      forgotten: r.counter('blick_puppetdb_nodes_forgotten_total', 'Nodes forgotten because PuppetDB deactivated, expired or no longer lists them'),
      skipped: r.counter('blick_puppetdb_nodes_skipped_total', 'Nodes left as they were (by reason: max_nodes, max_resources, invalid, refused)'),
      known: r.gauge('blick_puppetdb_nodes', 'Nodes whose desired state came from PuppetDB').collectWith(() => this.known.size),
      lastOk: r.gauge('blick_puppetdb_last_success_seconds', 'Unix time of the last PuppetDB poll that succeeded'),
    };
  }

  async start(): Promise<void> {
    this.abort = new AbortController();
    // the first poll runs now but is not awaited: PuppetDB being slow or away must not hold up the server's start
    this.schedule(0);
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.abort.abort();
    await this.running?.catch(() => undefined);
    this.client.close();
  }

  private schedule(ms: number): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.pollOnce().catch(() => undefined).finally(() => {
        this.running = undefined;
        if (!this.abort.signal.aborted) this.schedule(this.config.interval);
      });
    }, ms);
    this.timer.unref();
  }

  /** One poll; resolves with what it did, or rejects (counted and logged) with the request that failed. */
  async pollOnce(): Promise<PollSummary> {
    try {
      const summary = await this.poll(this.abort.signal);
      this.m.polls.inc(1, { result: 'ok' });
      this.m.lastOk.set(Math.floor((this.deps.now ?? Date.now)() / 1000));
      if (summary.truncated) this.warn.warn('puppetdb-truncated', { url: this.config.url, max_nodes: this.config.max_nodes }, 'PuppetDB lists more nodes than server.puppetdb.max_nodes; the rest are not read');
      return summary;
    } catch (err) {
      if (err instanceof PuppetdbRequestError && err.reason === 'aborted') throw err;
      const reason = err instanceof PuppetdbRequestError ? err.reason : 'failed';
      this.m.polls.inc(1, { result: 'failed' });
      this.m.failures.inc(1, { reason });
      this.warn.warn(`puppetdb-${reason}`, { url: this.config.url, reason, err: (err as Error).message }, reason === 'tls'
        ? 'PuppetDB refused the TLS connection (is server.puppetdb.cert a certificate of the Puppet CA, and its certname in PuppetDB\'s allowlist?); keeping the last state'
        : 'PuppetDB poll failed; keeping the last state');
      throw err;
    }
  }

  private async poll(signal: AbortSignal): Promise<PollSummary> {
    const c = this.config;
    // node_state "any": deactivated and expired nodes too, so that they can be forgotten
    const nodeQuery = c.query ? ['and', c.query, ['=', 'node_state', 'any']] : ['=', 'node_state', 'any'];
    const rows = await this.client.query('nodes', nodeQuery, [{ field: 'certname', order: 'asc' }], c.max_nodes + 1, signal);
    const truncated = rows.length > c.max_nodes;
    if (truncated) this.m.skipped.inc(rows.length - c.max_nodes, { reason: 'max_nodes' });
    const summary: PollSummary = { nodes: Math.min(rows.length, c.max_nodes), updated: 0, unchanged: 0, forgotten: 0, skipped: 0, truncated };
    const listed = new Set<string>();
    for (const raw of rows.slice(0, c.max_nodes)) {
      const node = nodeRow(raw);
      if (!node) { summary.skipped++; this.m.skipped.inc(1, { reason: 'invalid' }); continue; }
      listed.add(node.certname);
      if (node.deactivated !== null || node.expired !== null) {
        if (this.known.has(node.certname) || !this.told.has(node.certname)) {
          if (await this.forget(node.certname)) summary.forgotten++;
          this.told.add(node.certname);
        }
        continue;
      }
      this.told.delete(node.certname);
      if (node.catalog_timestamp === null) continue; // no catalog yet: nothing to derive from
      const stamp = `${node.catalog_timestamp}|${node.facts_timestamp ?? ''}`;
      if (this.known.get(node.certname) === stamp) { summary.unchanged++; continue; }
      const state = await this.read(node, signal);
      if (!state) { summary.skipped++; continue; }
      try { await this.deps.sink.update(state); } catch (err) {
        // the sink refused this node (its bounds, a name it does not take): the others go on
        if (!isBlickError(err)) throw err;
        summary.skipped++;
        this.m.skipped.inc(1, { reason: 'refused' });
        this.warn.warn('puppetdb-refused', { host: node.certname, err: err.message }, 'the server refused a PuppetDB node\'s desired state; keeping its last state');
        continue;
      }
      this.known.set(node.certname, stamp);
      this.m.updated.inc();
      summary.updated++;
    }
    // absent from a complete listing: purged from PuppetDB
    if (!truncated) {
      for (const host of [...this.known.keys()]) if (!listed.has(host) && (await this.forget(host))) summary.forgotten++;
      for (const host of [...this.told]) if (!listed.has(host)) this.told.delete(host);
    }
    return summary;
  }

  /** Tell the sink to forget `host`; true (counted) when this process had classified it. */
  private async forget(host: string): Promise<boolean> {
    await this.deps.sink.forget(host, 'puppetdb');
    if (!this.known.delete(host)) return false;
    this.m.forgotten.inc();
    return true;
  }

  /** One node's resources, classes and facts; undefined (counted) when it has more resources than max_resources. */
  private async read(node: NodeRow, signal: AbortSignal): Promise<DesiredState | undefined> {
    const c = this.config;
    const certname = ['=', 'certname', node.certname];
    const types = ['or', ...[...DERIVING_TYPES, 'Class'].map((t) => ['=', 'type', t])];
    const rows = await this.client.query('resources', ['and', certname, types], [{ field: 'type' }, { field: 'title' }], c.max_resources + 1, signal);
    if (rows.length > c.max_resources) {
      this.m.skipped.inc(1, { reason: 'max_resources' });
      this.warn.warn('puppetdb-max-resources', { host: node.certname, max_resources: c.max_resources }, 'a PuppetDB node has more resources than server.puppetdb.max_resources; keeping its last state');
      return undefined;
    }
    const factRows = c.max_facts === 0 ? [] : await this.client.query('facts', certname, [{ field: 'name' }], c.max_facts, signal);
    return desiredStateOf(node, rows, factRows, { url: c.url, maxFacts: c.max_facts, now: this.deps.now ?? Date.now });
  }
}
