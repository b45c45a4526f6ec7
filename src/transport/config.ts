import { join } from 'node:path';
import { z } from 'zod';
import { zDuration, type CurveConfig } from '../core/config.js';
import type { Logger } from '../core/log.js';
import type { Registry } from '../core/metrics.js';
import { curveClientFromConfig } from './curve.js';
import { discoveryFromConfig, type DnsConfig } from './discovery.js';
import { Producer } from './producer.js';

const SPOOL_DEFAULT = { max_bytes: 256 * 1024 * 1024, fsync: false };

/** The `spool:` keys of a daemon that produces (agent, relay): the on-disk queue of unacknowledged batches. */
export const spoolConfigSchema = z.strictObject({
  /** bound of the spool on disk; past it the oldest batches are dropped, counted and logged */
  max_bytes: z.number().int().min(1024 * 1024).default(SPOOL_DEFAULT.max_bytes),
  /** fsync every batch (survives power loss; without, process crashes) */
  fsync: z.boolean().default(SPOOL_DEFAULT.fsync),
}).default(SPOOL_DEFAULT);

/** The `batch:` keys of a daemon that produces: how its own events are cut into batches. */
export const batchConfigSchema = z.strictObject({
  max_events: z.number().int().min(1).max(10_000).default(1000),
  /** largest encoded batch; keep it under the server's limits.max_message_bytes (4 MiB by default) */
  max_bytes: z.number().int().min(1024).default(1024 * 1024),
  delay: zDuration.prefault('5ms'),
}).prefault({});

/** The keys of a config section that a producer is built from (agent:, relay:, statsd:). */
export interface ProducerSection {
  upstreams: string[];
  spool?: z.output<typeof spoolConfigSchema> | undefined;
  batch?: z.output<typeof batchConfigSchema> | undefined;
}

/** What the composition root gives every daemon that produces (agent, relay, statsd) besides its section. */
export interface ProducingDaemonDeps {
  dataDir: string;
  curve?: CurveConfig | undefined;
  /** how srv+tcp:// upstreams are resolved (the top-level `dns:` section) */
  dns?: DnsConfig | undefined;
  log?: Logger;
  metrics?: Registry;
}

/** What a daemon gives {@link producerFromConfig} besides its section. */
export interface ProducerDeps {
  dataDir: string;
  /** the spool's directory under `<data_dir>/spool/` (one per daemon: `agent`, `statsd`, `relay`) */
  spool: string;
  /** the producer's name in batches and logs (the host name) */
  producer: string;
  curve?: CurveConfig | undefined;
  /** how srv+tcp:// upstreams are resolved (the top-level `dns:` section; absent: the machine's resolver) */
  dns?: DnsConfig | undefined;
  log: Logger;
  metrics: Registry;
  /** on stop, wait up to this long for acks of what is in flight, ms [1000] */
  stopDrainMs?: number;
}

/**
 * The one place a daemon's config section becomes a {@link Producer}: its
 * upstreams, spool under the data directory, batch sizes, CURVE client keys,
 * log and metrics. Keys the section lacks take the Producer's defaults.
 *
 * @example
 * const producer = producerFromConfig(config.agent, { dataDir, spool: 'agent', producer: config.agent.host, curve: config.curve, log, metrics });
 */
export function producerFromConfig(section: ProducerSection, deps: ProducerDeps): Producer {
  const { spool, batch } = section;
  return new Producer({
    upstreams: section.upstreams,
    spoolDir: join(deps.dataDir, 'spool', deps.spool),
    producer: deps.producer,
    ...(batch ? { batchEvents: batch.max_events, batchMaxBytes: batch.max_bytes, batchDelayMs: batch.delay } : {}),
    ...(spool ? { spoolMaxBytes: spool.max_bytes, fsync: spool.fsync } : {}),
    curve: curveClientFromConfig(deps.curve),
    discovery: discoveryFromConfig(deps.dns),
    log: deps.log.child({ part: 'producer' }),
    metrics: deps.metrics,
    // give the upstream a moment to acknowledge what is in flight; the rest stays spooled
    stopDrainMs: deps.stopDrainMs ?? 1000,
  });
}
