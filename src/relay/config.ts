import os from 'node:os';
import { z } from 'zod';
import { zBindEndpoint, zDuration, zEndpoint, zHostPort } from '../core/config.js';
import { batchConfigSchema, spoolConfigSchema } from '../transport/config.js';
import { devicesConfigSchema, maxInFlightSchema } from './snmp/poll/config.js';
import { trapsConfigSchema } from './snmp/traps/config.js';

/** The `relay:` section (PRODUCT.md, Configuration; every key in src/relay/README.md). */
export const relayConfigSchema = z.strictObject({
  /** the relay's own name: on its batches, its heartbeat and its SNMP events' batches; default: the machine's hostname */
  host: z.string().min(1).max(255).default(os.hostname()),
  /** ZeroMQ endpoint the relay's ingest binds (agents, statsd and other relays send here) */
  ingest: zBindEndpoint.default('tcp://0.0.0.0:5557'),
  /** allow a plaintext ingest (no `curve:` section) on an address beyond loopback */
  insecure_ingest: z.boolean().default(false),
  /** servers or relays the relay forwards to (failover and load balancing across the live ones) */
  upstreams: z.array(zEndpoint).min(1).default(['tcp://127.0.0.1:5556']),
  /** the relay's HTTP listener: /metrics, /healthz, /readyz */
  http: zHostPort.default('127.0.0.1:8081'),
  /** bearer token /metrics asks for; required when `http` is not loopback (/healthz and /readyz stay open for probes) */
  http_token: z.string().min(16, 'tokens must be at least 16 characters').optional(),
  /** the relay's own heartbeat event (`blick relay`, source relay, ttl 3×); 0 disables */
  heartbeat: zDuration.prefault('10s'),
  spool: spoolConfigSchema,
  batch: batchConfigSchema,
  /** what the ingest accepts, as the server's server.limits */
  limits: z.strictObject({
    max_message_bytes: z.number().int().min(1024).default(4 * 1024 * 1024),
    max_batch_events: z.number().int().min(1).default(10_000),
    /** how far ahead of the relay's clock an event's time may be; later times are set to the receive time */
    max_future_skew: zDuration.prefault('5m'),
  }).prefault({}),
  /** SNMP devices: each part runs only when configured (see snmp/traps/README.md, snmp/poll/README.md) */
  snmp: z.strictObject({
    traps: trapsConfigSchema.optional(),
    devices: devicesConfigSchema,
    /** devices polled at once (snmp/poll/README.md) */
    max_in_flight: maxInFlightSchema,
  }).prefault({}),
});

export type RelayConfig = z.output<typeof relayConfigSchema>;
