import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { BlickError, isBlickError } from '../../../core/errors.js';
import { makeEvent, type BlickEvent } from '../../../core/event.js';
import { RateLimitedLog, type Logger } from '../../../core/log.js';
import type { Registry } from '../../../core/metrics.js';
import { AuthFailures, type AuthFailuresOptions } from '../../api/auth-failures.js';
import type { DesiredStateSink } from '../types.js';
import type { ChefConfig } from './config.js';
import { parseChefMessage, type ChefMessage } from './parse.js';

export { chefConfigSchema, type ChefConfig } from './config.js';
export { parseChefMessage, type ChefMessage } from './parse.js';

/** The path Chef Infra Client's `data_collector.server_url` points at (under /api/v1). */
export const CHEF_ROUTE = '/chef/data-collector';
/** The service of the event each run_converge makes: ok after a successful run, critical after a failed one. */
export const CHEF_RUN_SERVICE = 'chef run';

export interface ChefRouteDeps {
  config: ChefConfig;
  /** where the node's desired state goes (the server's DesiredStateBook) */
  sink: DesiredStateSink;
  /** the server's own event path (Ingest.ingest): the `chef run` events, source `server` */
  emit: (events: BlickEvent[]) => Promise<unknown>;
  metrics: Registry;
  log: Logger;
  /** wrong tokens per address before 429 (server.auth_failures' limits, a table of its own) */
  failures: Omit<AuthFailuresOptions, 'onEvict'>;
  now?: () => number;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * The SHA-256 of the configured data-collector token; `token_file` is read
 * here (at start) so that an unreadable or empty file stops the server with a
 * config error rather than refusing every Chef run later.
 */
export function chefTokenDigest(c: ChefConfig): Buffer {
  if (c.sha256 !== undefined) return Buffer.from(c.sha256, 'hex');
  if (c.token !== undefined) return digest(c.token);
  let text: string;
  try { text = readFileSync(c.token_file!, 'utf8'); } catch (err) {
    throw new BlickError('CONFIG_UNREADABLE', `server.chef.token_file: cannot read ${c.token_file} (${(err as Error).message})`, { cause: err });
  }
  const token = text.split(/\r?\n/)[0]!.trim();
  if (token.length < 16) throw new BlickError('CONFIG_INVALID', `server.chef.token_file: the first line of ${c.token_file} must be a token of at least 16 characters`);
  return digest(token);
}

/** The `chef run` event of a run_converge: critical with Chef's error after a failure, ok after a success. */
function runEvent(msg: Extract<ChefMessage, { type: 'run_converge' }>, now: () => number): BlickEvent {
  const n = msg.state.resources.length;
  return makeEvent({
    host: msg.host, service: CHEF_RUN_SERVICE,
    state: msg.status === 'success' ? 'ok' : 'critical',
    description: msg.status === 'success'
      ? `Chef run ${msg.runId} succeeded (${n} resources Blick watches)`
      : `Chef run ${msg.runId} failed: ${msg.error ?? 'no error in the message'}`,
    attributes: {
      chef_run_id: msg.runId, chef_status: msg.status, chef_end_time: new Date(msg.time).toISOString(),
      ...(msg.state.origin.catalog ? { chef_server: msg.state.origin.catalog } : {}),
    },
    tags: ['chef'],
  }, { source: 'server', now });
}

/**
 * POST /api/v1/chef/data-collector: Chef Infra Client's data collector. The
 * route is public to the bearer-token check (Chef cannot send one) and checks
 * `x-data-collector-token` itself, timing-safe, before the body is read; a
 * wrong or missing token is 401, and wrong ones are throttled per address
 * with the limits of server.auth_failures (429), like wrong bearer tokens. A
 * run_converge replaces what Chef said of the node (its resources become
 * derived checks) and makes a `chef run` event; a failed run whose message
 * lists no resources (it failed before compiling) keeps the node's last
 * desired state.
 */
export function chefRoutes(deps: ChefRouteDeps): FastifyPluginAsync {
  // read now: a missing token_file stops the server's construction with a config error
  const expected = chefTokenDigest(deps.config);
  return async (app) => chefPlugin(app, deps, expected);
}

async function chefPlugin(app: FastifyInstance, deps: ChefRouteDeps, expected: Buffer): Promise<void> {
  const now = deps.now ?? Date.now;
  const warn = new RateLimitedLog(deps.log);
  const m = {
    messages: deps.metrics.counter('blick_chef_messages_total', 'Chef data-collector messages accepted (by message_type)'),
    rejected: deps.metrics.counter('blick_chef_messages_rejected_total', 'Chef data-collector messages refused (by reason: token, throttled, invalid, too_large)'),
    ignored: deps.metrics.counter('blick_chef_resources_ignored_total', 'Chef resource records no check is derived from (other types, skipped by a guard, action :nothing)'),
    failedRuns: deps.metrics.counter('blick_chef_runs_failed_total', 'Chef runs reported with status failure'),
  };
  const failures = new AuthFailures(deps.failures);
  app.addHook('onRequest', async (req, reply) => {
    const wait = failures.blockedFor(req.ip);
    if (wait > 0) {
      m.rejected.inc(1, { reason: 'throttled' });
      reply.header('retry-after', String(Math.ceil(wait / 1000)));
      throw new BlickError('AUTH_THROTTLED', `too many wrong data-collector tokens from ${req.ip}; try again in ${Math.ceil(wait / 1000)} s`);
    }
    const presented = req.headers['x-data-collector-token'];
    const ok = typeof presented === 'string' && presented.length > 0 && timingSafeEqual(digest(presented), expected);
    if (!ok) {
      m.rejected.inc(1, { reason: 'token' });
      // as with bearer tokens, only a wrong token counts as a guess; a client without one is misconfigured
      if (typeof presented === 'string') failures.fail(req.ip);
      warn.warn('chef-token', { ip: req.ip, presented: typeof presented === 'string' }, 'Chef data-collector message with a wrong or missing token');
      throw new BlickError('AUTH_REQUIRED', typeof presented === 'string'
        ? 'the x-data-collector-token is not the one configured in server.chef'
        : 'send the x-data-collector-token header (Chef: data_collector.token in client.rb)');
    }
  });
  app.addHook('onError', async (_req, _reply, err) => {
    if (isBlickError(err, 'AUTH_REQUIRED') || isBlickError(err, 'AUTH_THROTTLED')) return;
    const status = (err as { statusCode?: number }).statusCode ?? (isBlickError(err) ? err.status : 500);
    m.rejected.inc(1, { reason: status === 413 ? 'too_large' : status < 500 ? 'invalid' : 'failed' });
  });
  app.post(CHEF_ROUTE, { config: { public: true }, bodyLimit: deps.config.max_body_bytes }, async (req) => {
    const msg = parseChefMessage(req.body, { maxResources: deps.config.max_resources, maxFacts: deps.config.max_facts, now });
    m.messages.inc(1, { type: msg.type });
    if (msg.type === 'run_start') return { host: msg.host, message_type: msg.type };
    if (msg.ignored > 0) m.ignored.inc(msg.ignored);
    const keep = msg.status === 'failure' && msg.state.resources.length === 0;
    if (msg.status === 'failure') m.failedRuns.inc();
    // the run's outcome is news even when the book refuses its resources (its bounds): that refusal is the answer
    const stored = keep ? Promise.resolve() : deps.sink.update(msg.state);
    await Promise.allSettled([stored]);
    await deps.emit([runEvent(msg, now)]);
    await stored;
    return { host: msg.host, message_type: msg.type, status: msg.status, resources: msg.state.resources.length, ignored: msg.ignored, kept_last_state: keep };
  });
}
