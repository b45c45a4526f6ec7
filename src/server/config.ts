import { z } from 'zod';
import { zDuration, zEndpoint, zHostPort } from '../core/config.js';
import { alertingConfigKeys } from './alerts/config.js';

/** The `server:` section (PRODUCT.md, Configuration). */
export const serverConfigSchema = z.strictObject({
  /** ZeroMQ endpoint the ingest socket binds */
  ingest: zEndpoint.default('tcp://0.0.0.0:5556'),
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
  tokens: z.array(z.strictObject({ token: z.string().min(16, 'tokens must be at least 16 characters'), role: z.enum(['read', 'write', 'admin']) })).default([]),
  /** how long history is kept */
  retention: zDuration.prefault('7d'),
  /** recent event ids remembered for dedupe */
  dedupe_window: z.number().int().min(1000).default(200_000),
  limits: z.strictObject({
    max_message_bytes: z.number().int().min(1024).default(4 * 1024 * 1024),
    max_batch_events: z.number().int().min(1).default(10_000),
    /** live stream: unsent bytes across all clients; the slowest are dropped beyond it */
    stream_buffer_bytes: z.number().int().min(64 * 1024).default(64 * 1024 * 1024),
    /** live stream: unsent bytes of one client; it is dropped beyond it */
    stream_client_buffer_bytes: z.number().int().min(16 * 1024).default(4 * 1024 * 1024),
    /** live stream: concurrent streams, and per token (or per address without one) */
    stream_clients: z.number().int().min(1).default(256),
    stream_clients_per_address: z.number().int().min(1).default(16),
    /** live stream: bytes of recent items kept for Last-Event-ID resume (the oldest go first) */
    stream_history_bytes: z.number().int().min(64 * 1024).default(64 * 1024 * 1024),
  }).prefault({}),
  /** alerting: rules, routes, inhibit, notifiers (PRODUCT.md "Rules and notifications"; src/server/alerts) */
  ...alertingConfigKeys,
});

export type ServerConfig = z.output<typeof serverConfigSchema>;
