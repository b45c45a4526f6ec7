import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { z } from 'zod';
import { zDuration, zHostPort } from '../core/config.js';
import { BlickError } from '../core/errors.js';

/** A listen address (`host:port`), or `false`/`""` to switch that listener off. */
const zListen = z.union([zHostPort, z.literal(false), z.literal(''), z.null()]);
const zPercent = z.union([z.number(), z.array(z.number())]).transform((v) => (Array.isArray(v) ? v : [v]));
const zHistogram = z.array(z.object({ metric: z.string(), bins: z.array(z.union([z.number(), z.literal('inf')])) }));

/**
 * The `graphite:` sub-section. Blick's snake_case keys and Etsy's camelCase
 * `graphite.*` keys (legacyNamespace, globalPrefix, …) are both accepted.
 */
const graphiteSchema = z.strictObject({
  host: z.string().optional(),
  port: z.number().int().min(1).max(65535).optional(),
  pickle_port: z.number().int().min(1).max(65535).optional(),
  protocol: z.enum(['text', 'pickle']).optional(),
  legacy_namespace: z.boolean().optional(),
  global_prefix: z.string().optional(),
  prefix_counter: z.string().optional(),
  prefix_timer: z.string().optional(),
  prefix_gauge: z.string().optional(),
  prefix_set: z.string().optional(),
  global_suffix: z.string().optional(),
  flush_counts: z.boolean().optional(),
  /** bytes kept while carbon is unreachable; the oldest flushes are dropped beyond it */
  buffer_bytes: z.number().int().min(0).optional(),
  reconnect_min: zDuration.optional(),
  reconnect_max: zDuration.optional(),
  // Etsy names
  legacyNamespace: z.boolean().optional(),
  globalPrefix: z.string().optional(),
  prefixCounter: z.string().optional(),
  prefixTimer: z.string().optional(),
  prefixGauge: z.string().optional(),
  prefixSet: z.string().optional(),
  globalSuffix: z.string().optional(),
});

const etsyServerSchema = z.looseObject({
  server: z.string().optional(),
  port: z.number().int().optional(),
  address: z.string().optional(),
  address_ipv6: z.boolean().optional(),
});

/** The resolved settings of the daemon (what {@link statsdConfigSchema} produces). */
export interface StatsdConfig {
  /** UDP listen address, null when off */
  udp: string | null;
  tcp: string | null;
  admin: string | null;
  /** milliseconds */
  flushInterval: number;
  percentThreshold: number[];
  deleteCounters: boolean;
  deleteTimers: boolean;
  deleteGauges: boolean;
  deleteSets: boolean;
  gaugesMaxTTL: number;
  prefixStats: string;
  keyNameSanitize: boolean;
  histogram: { metric: string; bins: (number | 'inf')[] }[];
  calculatedTimerMetrics: string[];
  healthStatus: 'up' | 'down';
  dumpMessages: boolean;
  /** the host named in side-channel events when no `host` tag is given */
  host: string;
  upstreams: string[];
  /** a TCP client's unterminated line longer than this is dropped and counted bad */
  maxLineBytes: number;
  /**
   * 1: parsing and aggregation run in one worker thread, the main thread only
   * receives; 0: everything on the main thread; 'auto': 1 when the machine has
   * more than one core (os.availableParallelism()).
   */
  workers: 'auto' | 0 | 1;
  /** distinct names held (all types) at most; a value for a new name beyond it is dropped and counted */
  maxNames: number;
  /** new names admitted per flush interval at most (a name sampled in the last interval is not new) */
  maxNewNamesPerInterval: number;
  /** the Blick side channel */
  sideChannel: {
    /** events sent per flush at most; the rest are dropped and counted */
    maxSeriesPerFlush: number;
  };
  graphite: {
    /** '' discards (Etsy without graphiteHost) */
    host: string;
    port: number;
    picklePort: number;
    protocol: 'text' | 'pickle';
    legacyNamespace: boolean;
    globalPrefix: string;
    prefixCounter: string;
    prefixTimer: string;
    prefixGauge: string;
    prefixSet: string;
    /** '' or '.suffix' */
    globalSuffix: string;
    flushCounts: boolean;
    bufferBytes: number;
    reconnectMinMs: number;
    reconnectMaxMs: number;
  };
}

function listen(v: string | false | '' | null | undefined, dflt: string | null): string | null {
  if (v === undefined) return dflt;
  if (v === false || v === '' || v === null) return null;
  return v;
}

function hostPort(address: string | undefined, port: number | undefined, dflt: string): string {
  const [dh, dp] = splitHostPort(dflt);
  const h = address ?? dh;
  return `${h.includes(':') ? `[${h}]` : h}:${port ?? dp}`;
}

/** `127.0.0.1:8125` → ['127.0.0.1', 8125]; `[::1]:8125` → ['::1', 8125]; `:8125` → ['0.0.0.0', 8125]. */
export function splitHostPort(s: string): [string, number] {
  const i = s.lastIndexOf(':');
  let h = s.slice(0, i);
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  return [h === '' ? '0.0.0.0' : h, Number(s.slice(i + 1))];
}

/**
 * The `statsd:` section of Blick's YAML, with PRODUCT.md's defaults:
 * ```yaml
 * statsd:
 *   udp: 0.0.0.0:8125
 *   tcp: 0.0.0.0:8125
 *   admin: 127.0.0.1:8126
 *   flush_interval: 10s
 *   percent_threshold: [90]
 *   graphite: { host: 127.0.0.1, port: 2003 }
 *   upstreams: [tcp://127.0.0.1:5556]
 * ```
 * Etsy statsd's config keys are accepted too under their own names
 * (`flushInterval` in ms, `percentThreshold`, `deleteIdleStats`, `graphiteHost`,
 * `graphitePort`, `graphite.legacyNamespace`, `port`, `mgmt_port`, `servers`, …);
 * where both spellings are given the snake_case key wins.
 * The output is the resolved {@link StatsdConfig}.
 */
export const statsdConfigSchema = z
  .strictObject({
    udp: zListen.optional(),
    tcp: zListen.optional(),
    admin: zListen.optional(),
    flush_interval: zDuration.optional(),
    percent_threshold: zPercent.optional(),
    delete_idle_stats: z.boolean().optional(),
    delete_counters: z.boolean().optional(),
    delete_timers: z.boolean().optional(),
    delete_gauges: z.boolean().optional(),
    delete_sets: z.boolean().optional(),
    gauges_max_ttl: z.number().int().optional(),
    prefix_stats: z.string().optional(),
    key_name_sanitize: z.boolean().optional(),
    histogram: zHistogram.optional(),
    calculated_timer_metrics: z.array(z.string()).optional(),
    health_status: z.enum(['up', 'down']).optional(),
    dump_messages: z.boolean().optional(),
    host: z.string().min(1).optional(),
    upstreams: z.array(z.string()).optional(),
    max_line_bytes: z.number().int().min(64).optional(),
    workers: z.union([z.literal('auto'), z.literal(0), z.literal(1)]).optional(),
    max_names: z.number().int().min(1).optional(),
    max_new_names_per_interval: z.number().int().min(1).optional(),
    side_channel: z.strictObject({ max_series_per_flush: z.number().int().min(1).optional() }).optional(),
    graphite: graphiteSchema.optional(),
    // Etsy statsd's names (exampleConfig.js)
    port: z.number().int().min(0).max(65535).optional(),
    address: z.string().optional(),
    address_ipv6: z.boolean().optional(),
    mgmt_port: z.number().int().min(0).max(65535).optional(),
    mgmt_address: z.string().optional(),
    servers: z.array(etsyServerSchema).optional(),
    flushInterval: z.number().positive().optional(),
    percentThreshold: zPercent.optional(),
    deleteIdleStats: z.boolean().optional(),
    deleteCounters: z.boolean().optional(),
    deleteTimers: z.boolean().optional(),
    deleteGauges: z.boolean().optional(),
    deleteSets: z.boolean().optional(),
    gaugesMaxTTL: z.number().optional(),
    prefixStats: z.string().optional(),
    keyNameSanitize: z.boolean().optional(),
    calculatedTimerMetrics: z.array(z.string()).optional(),
    healthStatus: z.enum(['up', 'down']).optional(),
    dumpMessages: z.boolean().optional(),
    graphiteHost: z.string().optional(),
    graphitePort: z.number().int().optional(),
    graphitePicklePort: z.number().int().optional(),
    graphiteProtocol: z.enum(['text', 'pickle']).optional(),
    flush_counts: z.boolean().optional(),
    // accepted and ignored: Etsy features Blick does not have, or has elsewhere
    backends: z.array(z.string()).optional(),
    debug: z.boolean().optional(),
    log: z.unknown().optional(),
    automaticConfigReload: z.boolean().optional(),
    title: z.string().optional(),
    keyFlush: z.unknown().optional(),
    console: z.unknown().optional(),
    repeater: z.unknown().optional(),
    repeaterProtocol: z.unknown().optional(),
  })
  .transform((c): StatsdConfig => {
    const g = c.graphite ?? {};
    // Etsy: `servers` replaces the top-level port/address; udp and tcp entries
    let udp: string | null = listen(c.udp, null);
    let tcp: string | null = listen(c.tcp, null);
    if (c.udp === undefined || c.tcp === undefined) {
      let etsyUdp: string | null | undefined;
      let etsyTcp: string | null | undefined;
      if (c.servers) {
        etsyUdp = null; etsyTcp = null;
        for (const s of c.servers) {
          const addr = hostPort(s.address, s.port, s.address_ipv6 ? '[::]:8125' : '0.0.0.0:8125');
          if ((s.server ?? './servers/udp').includes('tcp')) etsyTcp = addr; else etsyUdp = addr;
        }
      } else if (c.port !== undefined || c.address !== undefined) {
        etsyUdp = hostPort(c.address, c.port, c.address_ipv6 ? '[::]:8125' : '0.0.0.0:8125');
        etsyTcp = null;
      }
      if (c.udp === undefined) udp = etsyUdp !== undefined ? etsyUdp : '0.0.0.0:8125';
      if (c.tcp === undefined) tcp = etsyTcp !== undefined ? etsyTcp : '0.0.0.0:8125';
    }
    let admin = listen(c.admin, '127.0.0.1:8126');
    if (c.admin === undefined && (c.mgmt_port !== undefined || c.mgmt_address !== undefined)) {
      admin = hostPort(c.mgmt_address, c.mgmt_port, '127.0.0.1:8126');
    }
    const deleteIdle = c.delete_idle_stats ?? c.deleteIdleStats ?? false;
    const del = (a: boolean | undefined, b: boolean | undefined) => a ?? b ?? deleteIdle;
    const ttl = c.gauges_max_ttl ?? c.gaugesMaxTTL;
    const suffix = g.global_suffix ?? g.globalSuffix;
    return {
      udp,
      tcp,
      admin,
      flushInterval: c.flush_interval ?? c.flushInterval ?? 10_000,
      percentThreshold: c.percent_threshold ?? c.percentThreshold ?? [90],
      deleteCounters: del(c.delete_counters, c.deleteCounters),
      deleteTimers: del(c.delete_timers, c.deleteTimers),
      deleteGauges: del(c.delete_gauges, c.deleteGauges),
      deleteSets: del(c.delete_sets, c.deleteSets),
      // Etsy: anything but an integer > 1 means 1
      gaugesMaxTTL: ttl !== undefined && Number.isInteger(ttl) && ttl > 1 ? ttl : 1,
      prefixStats: c.prefix_stats ?? c.prefixStats ?? 'statsd',
      keyNameSanitize: c.key_name_sanitize ?? c.keyNameSanitize ?? true,
      histogram: c.histogram ?? [],
      calculatedTimerMetrics: c.calculated_timer_metrics ?? c.calculatedTimerMetrics ?? [],
      healthStatus: c.health_status ?? c.healthStatus ?? 'up',
      dumpMessages: c.dump_messages ?? c.dumpMessages ?? false,
      host: c.host ?? hostname(),
      upstreams: c.upstreams ?? ['tcp://127.0.0.1:5556'],
      maxLineBytes: c.max_line_bytes ?? 1024 * 1024,
      workers: c.workers ?? 'auto',
      maxNames: c.max_names ?? 100_000,
      maxNewNamesPerInterval: c.max_new_names_per_interval ?? 20_000,
      sideChannel: { maxSeriesPerFlush: c.side_channel?.max_series_per_flush ?? 10_000 },
      graphite: {
        host: g.host ?? c.graphiteHost ?? '127.0.0.1',
        port: g.port ?? c.graphitePort ?? 2003,
        picklePort: g.pickle_port ?? c.graphitePicklePort ?? 2004,
        protocol: g.protocol ?? c.graphiteProtocol ?? 'text',
        legacyNamespace: g.legacy_namespace ?? g.legacyNamespace ?? true,
        globalPrefix: g.global_prefix ?? g.globalPrefix ?? 'stats',
        prefixCounter: g.prefix_counter ?? g.prefixCounter ?? 'counters',
        prefixTimer: g.prefix_timer ?? g.prefixTimer ?? 'timers',
        prefixGauge: g.prefix_gauge ?? g.prefixGauge ?? 'gauges',
        prefixSet: g.prefix_set ?? g.prefixSet ?? 'sets',
        globalSuffix: suffix !== undefined ? '.' + suffix : '',
        flushCounts: g.flush_counts ?? c.flush_counts ?? true,
        bufferBytes: g.buffer_bytes ?? 16 * 1024 * 1024,
        reconnectMinMs: g.reconnect_min ?? 250,
        reconnectMaxMs: g.reconnect_max ?? 10_000,
      },
    };
  });

/** What may be written under `statsd:` (YAML or an Etsy config object). */
export type StatsdConfigInput = z.input<typeof statsdConfigSchema>;

/**
 * Read an Etsy statsd configuration file (a JavaScript object literal, as
 * Etsy's `exampleConfig.js`) into a {@link StatsdConfig}. The file is
 * evaluated like Etsy evaluates it, so it must be trusted as Etsy's is.
 */
export function readEtsyConfigFile(file: string): StatsdConfig {
  let text: string;
  try { text = readFileSync(file, 'utf8'); } catch (err) {
    throw new BlickError('CONFIG_UNREADABLE', `${file}: cannot read the statsd configuration: ${(err as Error).message}`, { cause: err });
  }
  let obj: unknown;
  try { obj = new Function(`return (${text}\n);`)(); } catch (err) {
    throw new BlickError('CONFIG_INVALID', `${file}: not an Etsy statsd configuration object: ${(err as Error).message}`, { cause: err });
  }
  const r = statsdConfigSchema.safeParse(obj);
  if (!r.success) {
    throw new BlickError('CONFIG_INVALID', r.error.issues.map((i) => `${file}: key ${i.path.join('.') || '(top level)'}: ${i.message}`).join('\n'));
  }
  return r.data;
}
