import { z } from 'zod';
import { zDuration, zEndpoint, zHostPort } from '../core/config.js';
import { alertingConfigKeys } from './alerts/config.js';
import { classificationConfigSchema, serverChecksSchema } from './classification/config.js';
import { graphiteForwardSchema } from './graphite/config.js';

/** The `server:` section (PRODUCT.md, Configuration). */
export const serverConfigSchema = z.strictObject({
  /** ZeroMQ endpoint the ingest socket binds */
  ingest: zEndpoint.default('tcp://0.0.0.0:5556'),
  /** allow a plaintext ingest (no `curve:` section) on an address beyond loopback */
  insecure_ingest: z.boolean().default(false),
  /** HTTP API, live stream, dashboard and /metrics */
  http: zHostPort.default('127.0.0.1:8080'),
  store: z.discriminatedUnion('type', [
    z.strictObject({
      type: z.literal('sqlite'),
      /** database file; default <data_dir>/blick.db */
      path: z.string().optional(),
      /** 'normal' survives process crashes, 'full' also power loss */
      synchronous: z.enum(['normal', 'full']).default('normal'),
    }),
  ]).default({ type: 'sqlite', synchronous: 'normal' }),
  /** bearer tokens: the token itself, or its SHA-256 (`printf %s "$TOKEN" | sha256sum`) so the file holds no secret */
  tokens: z.array(z.strictObject({
    token: z.string().min(16, 'tokens must be at least 16 characters').optional(),
    sha256: z.string().regex(/^[0-9a-fA-F]{64}$/, 'must be the 64 hex digits of the token\'s SHA-256 (printf %s "$TOKEN" | sha256sum)').optional(),
    role: z.enum(['read', 'write', 'admin']),
  }).refine((t) => (t.token === undefined) !== (t.sha256 === undefined), 'give either token: or sha256:, not both or neither')).default([]),
  /**
   * names (optionally name:port) the API is reached by besides loopback and the
   * listen address, e.g. behind a proxy; other Host headers are refused (DNS rebinding)
   */
  http_hosts: z.array(z.string().regex(/^(\[[0-9a-fA-F:]+\]|[^:\s/\[\]]+)(:\d{1,5})?$/, 'must be a host name, optionally with :port')).default([]),
  /** failed authentications per client address before it gets 429 until the window passes */
  auth_failures: z.strictObject({
    max: z.number().int().min(1).default(10),
    window: zDuration.prefault('1m'),
    /** addresses remembered; the oldest is forgotten first */
    max_addresses: z.number().int().min(1).default(10_000),
  }).prefault({}),
  /** serve the API over HTTPS (PEM files) */
  tls: z.strictObject({ cert_file: z.string().min(1), key_file: z.string().min(1) }).optional(),
  /** remove a host whose own last event is older than this (its checks, facts, alerts; history stays); default off */
  deregister_after: zDuration.optional(),
  /** how long history is kept */
  retention: zDuration.prefault('7d'),
  /** recent event ids remembered for dedupe */
  dedupe_window: z.number().int().min(1000).default(200_000),
  /** producers whose event numbers are remembered for exact dedupe (beyond, the one seen longest ago is forgotten) */
  dedupe_producers: z.number().int().min(1).default(10_000),
  limits: z.strictObject({
    max_message_bytes: z.number().int().min(1024).default(4 * 1024 * 1024),
    max_batch_events: z.number().int().min(1).default(10_000),
    /** how far ahead of the server's clock an event's time may be; later times are set to the receive time */
    max_future_skew: zDuration.prefault('5m'),
    /** host+service pairs held; events for new ones beyond it are refused */
    max_checks: z.number().int().min(1).default(100_000),
    /** a check's description kept in memory (the history keeps the whole event) */
    check_description_bytes: z.number().int().min(64).default(4096),
    /** a check's attributes kept in memory */
    check_attributes_bytes: z.number().int().min(256).default(16_384),
    /** an API page (events, checks, hosts) ends before its JSON exceeds this; the Link header continues it */
    max_page_bytes: z.number().int().min(1024).default(4 * 1024 * 1024),
    /** history rows one GET /api/v1/events may examine before it answers a partial page */
    query_scan_rows: z.number().int().min(1).default(50_000),
    /** milliseconds one GET /api/v1/events may run before it answers a partial page */
    query_budget_ms: z.number().int().min(1).default(50),
    /** points (steps) one GET /api/v1/series may answer; a smaller step is a 400 */
    series_max_points: z.number().int().min(10).max(100_000).default(2000),
    /** stored events (bytes of JSON, newest first) replayed into rules that remember at start */
    warm_max_bytes: z.number().int().min(64 * 1024).default(256 * 1024 * 1024),
    /** live stream: unsent bytes across all clients; the slowest are dropped beyond it */
    stream_buffer_bytes: z.number().int().min(64 * 1024).default(64 * 1024 * 1024),
    /** live stream: unsent bytes of one client; it is dropped beyond it */
    stream_client_buffer_bytes: z.number().int().min(16 * 1024).default(4 * 1024 * 1024),
    /** live stream: concurrent streams, and per token (or per address without one) */
    stream_clients: z.number().int().min(1).default(256),
    stream_clients_per_address: z.number().int().min(1).default(16),
    /** live stream: bytes of recent items kept for Last-Event-ID resume (the oldest go first) */
    stream_history_bytes: z.number().int().min(64 * 1024).default(64 * 1024 * 1024),
    /** an HTTP request's headers and body must arrive within this; then it is answered 408 and closed */
    http_request_timeout: zDuration.prefault('1m'),
  }).prefault({}),
  /** forward every stored metric (but statsd's side channel) to carbon; off without it (src/server/graphite) */
  graphite: graphiteForwardSchema.optional(),
  /** desired state from Puppet and Chef, derived checks, `classified` and `never seen` (docs/classification.md) */
  classification: classificationConfigSchema,
  /** Nagios-plugin checks handed to every agent with a matching subscription (docs/classification.md) */
  checks: serverChecksSchema,
  /** alerting: rules, routes, inhibit, notifiers (PRODUCT.md "Rules and notifications"; src/server/alerts) */
  ...alertingConfigKeys,
});

export type ServerConfig = z.output<typeof serverConfigSchema>;
