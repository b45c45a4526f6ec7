import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';
import type { FastifyInstance } from 'fastify';
import { Alerting, type Clock } from './alerts/index.js';
import { Classification, withClassificationRules } from './classification/index.js';
import { FailureSignal, part, Supervisor, type Component, type FailureListener } from '../core/component.js';
import type { CurveConfig } from '../core/config.js';
import { BlickError } from '../core/errors.js';
import { createLogger, RateLimitedLog, type Logger } from '../core/log.js';
import { Registry } from '../core/metrics.js';
import { curveServerFromConfig } from '../transport/curve.js';
import { Receiver } from '../transport/receiver.js';
import type { TokenConfig } from './api/auth.js';
import { buildApi, isLoopback, splitHostPort } from './api/index.js';
import type { ServerConfig } from './config.js';
import { edgeRules } from './edge.js';
import { GraphiteForwarder } from './graphite/index.js';
import { Ingest } from './ingest.js';
import { SqliteStore } from './store/sqlite/index.js';
import type { Store } from './store/store.js';

export { serverConfigSchema, type ServerConfig } from './config.js';

export interface ServerDeps {
  dataDir: string;
  curve?: CurveConfig | undefined;
  log?: Logger;
  metrics?: Registry;
  /** a store to use instead of the configured one (tests, other backends) */
  store?: Store;
  now?: () => number;
  /** the clock of the never-seen watch [systemClock] */
  clock?: Clock;
}

function readPem(file: string, key: string): Buffer {
  try { return readFileSync(file); } catch (err) {
    throw new BlickError('CONFIG_UNREADABLE', `${key}: cannot read ${file} (${(err as Error).message})`, { cause: err });
  }
}

/** The PEM files of server.tls, checked now so that a bad pair stops start-up with a config error. */
function tlsFromConfig(c: NonNullable<ServerConfig['tls']>): { cert: Buffer; key: Buffer } {
  const pem = { cert: readPem(c.cert_file, 'server.tls.cert_file'), key: readPem(c.key_file, 'server.tls.key_file') };
  try { createSecureContext(pem); } catch (err) {
    throw new BlickError('CONFIG_INVALID', `server.tls: ${c.cert_file} and ${c.key_file} are not a PEM certificate and its key (${(err as Error).message})`, { cause: err });
  }
  return pem;
}

/** An ingest endpoint only this machine can reach: loopback tcp, ipc, inproc. */
function isLocalEndpoint(endpoint: string): boolean {
  const m = /^tcp:\/\/(?:\[([^\]]+)\]|([^:]+)):[^:]+$/.exec(endpoint);
  if (!m) return !endpoint.startsWith('tcp://');
  return isLoopback(m[1] ?? m[2]!);
}

/** Build the configured store: a name → factory map of the built-ins. */
const STORES: Record<ServerConfig['store']['type'], (c: ServerConfig, dataDir: string, onFlushError: (err: unknown) => void) => Store> = {
  sqlite: (c, dataDir, onFlushError) => new SqliteStore({ path: c.store.path ?? join(dataDir, 'blick.db'), synchronous: c.store.synchronous, onFlushError }),
};

/**
 * The Blick server: store → ingest → alerting → ZeroMQ receiver → HTTP API →
 * ttl and retention timers, one supervisor that starts them in that order and
 * stops them in reverse. When the receiver's loop or the HTTP listener dies,
 * everything is stopped and the server's failure listeners hear it.
 */
export class BlickServer implements Component {
  readonly name = 'server';
  readonly store: Store;
  readonly ingest: Ingest;
  readonly metrics: Registry;
  readonly receiver: Receiver;
  readonly api: FastifyInstance;
  readonly alerting: Alerting;
  /** desired state (the DesiredStateSink of the Puppet and Chef inputs: `classification.book`), check sets, never seen */
  readonly classification: Classification;
  private readonly log: Logger;
  private ready = false;
  private running = false;
  private timers: NodeJS.Timeout[] = [];
  private readonly parts: Supervisor;
  private readonly now: () => number;
  private readonly deregistered;
  /** the address the API listens on, e.g. http://127.0.0.1:8080 (https:// with server.tls) */
  url = '';

  constructor(readonly config: ServerConfig, deps: ServerDeps) {
    this.log = deps.log ?? createLogger('server');
    this.metrics = deps.metrics ?? new Registry();
    this.now = deps.now ?? Date.now;
    this.deregistered = this.metrics.counter('blick_hosts_deregistered_total', 'Hosts removed because their own last event was older than server.deregister_after');
    const { host } = splitHostPort(config.http);
    if (config.tokens.length === 0 && !isLoopback(host)) {
      throw new BlickError('INSECURE_BIND', `server.http is ${config.http}, which is not loopback, and no server.tokens are configured; add tokens or listen on 127.0.0.1`);
    }
    const curve = curveServerFromConfig(deps.curve, this.log);
    if (!curve && !config.insecure_ingest && !isLocalEndpoint(config.ingest)) {
      throw new BlickError('INSECURE_BIND', `server.ingest is ${config.ingest}, which is not loopback, and CURVE is not configured, so anyone who can reach it could send events; add a curve: section (blick keygen --out DIR; docs/configuration.md "curve:"), bind tcp://127.0.0.1:PORT, or set server.insecure_ingest: true`);
    }
    const flushWarn = new RateLimitedLog(this.log);
    const flushFailures = this.metrics.counter('blick_store_checks_save_failures_total', 'Saves of the current checks that failed (retried; the history has every event)');
    this.store = deps.store ?? STORES[config.store.type](config, deps.dataDir, (err) => {
      flushFailures.inc();
      flushWarn.warn('checks-save', { err: (err as Error).message }, 'could not save the current checks; retrying');
    });
    const edges = edgeRules(config, this.metrics, this.log, deps.now);
    const l = config.limits;
    this.ingest = new Ingest({
      store: this.store, log: this.log, metrics: this.metrics, dedupeWindow: config.dedupe_window, dedupeProducers: config.dedupe_producers, ...(deps.now ? { now: deps.now } : {}),
      limits: { maxChecks: l.max_checks, descriptionBytes: l.check_description_bytes, attributesBytes: l.check_attributes_bytes },
    });
    this.receiver = new Receiver({
      bind: config.ingest,
      handler: (batch, numbers) => this.ingest.ingest(batch.events, batch.id, batch.origin && numbers ? { ...batch.origin, ...numbers } : undefined),
      limits: { maxMessageBytes: config.limits.max_message_bytes, maxBatchEvents: config.limits.max_batch_events },
      events: edges.ingest,
      curve,
      log: this.log.child({ part: 'ingest' }),
      metrics: this.metrics,
    });
    this.classification = new Classification(config.classification, config.checks, {
      store: this.store, ingest: this.ingest, metrics: this.metrics, log: this.log, ...(deps.clock ? { clock: deps.clock } : {}), ...(deps.now ? { now: deps.now } : {}),
    });
    this.alerting = new Alerting({ ...config, rules: withClassificationRules(config.rules, config.classification) }, { dataDir: deps.dataDir, ingest: this.ingest, metrics: this.metrics, log: this.log, retention: config.retention, history: (q) => this.store.queryEvents(q),
      warmMaxBytes: config.limits.warm_max_bytes, ruleHooks: this.classification.ruleHooks() });
    this.classification.attach(this.alerting);
    this.api = buildApi({ store: this.store, ingest: this.ingest, alerting: this.alerting, classification: this.classification, metrics: this.metrics, log: this.log, events: edges.api, ready: () => this.ready, ...(deps.now ? { now: deps.now } : {}),
      reads: { maxPageBytes: config.limits.max_page_bytes, queryScanRows: config.limits.query_scan_rows, queryBudgetMs: config.limits.query_budget_ms, seriesMaxPoints: config.limits.series_max_points } }, {
      tokens: config.tokens as TokenConfig[],
      failures: { max: config.auth_failures.max, windowMs: config.auth_failures.window, maxAddresses: config.auth_failures.max_addresses, ...(deps.now ? { now: deps.now } : {}) },
      // without tokens nothing but the Host header tells a rebound page from a local client
      hosts: { listenHost: host, names: config.http_hosts, strict: config.tokens.length === 0 || config.http_hosts.length > 0, tls: config.tls !== undefined },
      ...(config.tls ? { tls: tlsFromConfig(config.tls) } : {}),
      requestTimeoutMs: config.limits.http_request_timeout,
      stream: { totalBytes: config.limits.stream_buffer_bytes, clientBytes: config.limits.stream_client_buffer_bytes, clients: config.limits.stream_clients, clientsPerKey: config.limits.stream_clients_per_address, historyBytes: config.limits.stream_history_bytes },
    });
    this.parts = new Supervisor('server', [
      part('store', () => this.store.open(), () => this.store.close()),
      part('ingest', () => this.ingest.init()),
      ...(config.graphite ? [new GraphiteForwarder(config.graphite, { ingest: this.ingest, metrics: this.metrics, log: this.log })] : []),
      this.classification,
      this.alerting,
      this.classification.neverSeen,
      this.receiver,
      this.httpListener(),
      part('timers', () => this.startTimers(), () => this.stopTimers()),
    ], this.log);
  }

  onFailure(listener: FailureListener): void { this.parts.onFailure(listener); }

  /**
   * The HTTP API's listener as a component: closing while it runs is a
   * failure. An error event (a failed accept) is not: the listener keeps
   * accepting, so it is logged, rate limited.
   */
  private httpListener(): Component {
    const failures = new FailureSignal();
    const warn = new RateLimitedLog(this.log);
    let listening = false;
    this.api.server.on('error', (err) => { if (listening) warn.warn('http-error', { http: this.url, err: err.message }, 'HTTP listener error; still listening'); });
    this.api.server.on('close', () => {
      if (!listening) return;
      this.log.error({ http: this.url }, 'HTTP listener closed while running');
      failures.fail(new BlickError('COMPONENT_FAILED', `the HTTP listener ${this.url} closed while running`));
    });
    return {
      name: 'http',
      onFailure: (l) => failures.listen(l),
      start: async () => {
        failures.reset();
        const { host, port } = splitHostPort(this.config.http);
        await this.api.listen({ host, port });
        const addr = this.api.server.address();
        if (addr && typeof addr === 'object') this.url = `${this.config.tls ? 'https' : 'http'}://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`;
        listening = true;
      },
      stop: async () => {
        listening = false;
        await this.api.close();
      },
    };
  }

  /**
   * Remove every host whose own last event (not the server's expiries) is
   * older than server.deregister_after, as DELETE /api/v1/hosts/:host does.
   * Returns the hosts removed.
   */
  async deregisterSilent(): Promise<string[]> {
    const after = this.config.deregister_after;
    if (after === undefined) return [];
    const cutoff = this.now() - after;
    const silent: string[] = [];
    for (const h of this.ingest.state.hosts()) {
      const seen = this.ingest.state.lastSeen(h);
      if (seen !== null && seen < cutoff) silent.push(h);
    }
    const removed: string[] = [];
    for (const h of silent) {
      const r = await this.ingest.remove(h, undefined, 'deregistration', () => (this.ingest.state.lastSeen(h) ?? 0) >= cutoff);
      if (!r) continue;
      removed.push(h);
      this.deregistered.inc();
    }
    if (removed.length > 0) this.log.warn({ hosts: removed.slice(0, 20), count: removed.length, deregister_after_ms: after }, 'deregistered hosts silent for longer than server.deregister_after');
    return removed;
  }

  private startTimers(): void {
    if (this.config.deregister_after !== undefined) {
      this.timers.push(setInterval(() => {
        this.deregisterSilent().catch((err) => this.log.error({ err }, 'deregistration failed'));
      }, 1000));
    }
    this.timers.push(setInterval(() => {
      this.ingest.expireDue().catch((err) => this.log.error({ err }, 'ttl expiry failed'));
    }, 250));
    const prune = () => {
      this.store.prune(Date.now() - this.config.retention)
        .then((n) => { if (n > 0) this.log.info({ deleted: n }, 'pruned history beyond retention'); })
        .catch((err) => this.log.error({ err }, 'pruning failed'));
    };
    this.timers.push(setInterval(prune, 60_000));
    prune();
    for (const t of this.timers) t.unref();
    this.ready = true;
  }

  private stopTimers(): void {
    this.ready = false;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
  }

  async start(): Promise<void> {
    const t0 = Date.now();
    await this.parts.start();
    this.running = true;
    this.log.info({ ingest: this.receiver.endpoint, http: this.url, store: this.store.kind, ms: Date.now() - t0 }, 'server started');
  }

  async stop(): Promise<void> {
    await this.parts.stop();
    if (this.running) this.log.info('server stopped');
    this.running = false;
  }
}
