import { z } from 'zod';
import { zDuration, zEndpoint, zHostPort } from '../core/config.js';
import { alertingConfigKeys } from './alerts/config.js';

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
  tokens: z.array(z.strictObject({ token: z.string().min(16, 'tokens must be at least 16 characters'), role: z.enum(['read', 'write', 'admin']) })).default([]),
  /** how long history is kept */
  retention: zDuration.prefault('7d'),
  /** recent event ids remembered for dedupe */
  dedupe_window: z.number().int().min(1000).default(200_000),
  /** producers whose event numbers are remembered for exact dedupe (beyond, the one seen longest ago is forgotten) */
  dedupe_producers: z.number().int().min(1).default(10_000),
  limits: z.strictObject({
    max_message_bytes: z.number().int().min(1024).default(4 * 1024 * 1024),
    max_batch_events: z.number().int().min(1).default(10_000),
  }).default({ max_message_bytes: 4 * 1024 * 1024, max_batch_events: 10_000 }),
  /** alerting: rules, routes, inhibit, notifiers (PRODUCT.md "Rules and notifications"; src/server/alerts) */
  ...alertingConfigKeys,
});

export type ServerConfig = z.output<typeof serverConfigSchema>;
