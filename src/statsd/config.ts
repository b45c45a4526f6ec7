import { hostname } from 'node:os';
import { z } from 'zod';
import { loadConfig, zDuration, zHostPort } from '../core/config.js';
import { readEtsyFile } from './etsy-file.js';

/** A listen address (`host:port`), or `false`/`""` to switch that listener off. */
const zListen = z.union([zHostPort, z.literal(false), z.literal(''), z.null()]);
const zPercent = z.union([z.number(), z.array(z.number())]).transform((v) => (Array.isArray(v) ? v : [v]));
const zHistogram = z.array(z.object({ metric: z.string(), bins: z.array(z.union([z.number(), z.literal('inf')])) }));

/**
 * The `graphite:` sub-section. Blick's snake_case keys and Etsy's camelCase
 * `graphite.*` keys (legacyNamespace, globalPrefix, …) are both accepted.
 */
const graphiteSchema = z.looseObject({
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

/** Etsy's `socket_mod`: a mode as a number (`0660`) or octal digits (`"660"`), as `fs.chmod` takes it. */
const zSocketMode = z.union([
  z.number().int().min(0).max(0o7777),
  z.string().regex(/^0?[0-7]{3,4}$/, 'must be a file mode such as "660" or 0660').transform((v) => parseInt(v, 8)),
]);

/** One entry of Etsy's `servers` (and the top-level single-server form). */
const etsyServerSchema = z.looseObject({
  server: z.string().optional(),
  port: z.number().int().min(0).max(65535).optional(),
  address: z.string().optional(),
  address_ipv6: z.boolean().optional(),
  /** ./servers/tcp only: a Unix socket path, listened on instead of a port */
  socket: z.string().min(1).optional(),
  socket_mod: zSocketMode.optional(),
});
type EtsyServer = z.output<typeof etsyServerSchema>;

/** The resolved settings of the daemon (what {@link statsdConfigSchema} produces). */
export interface StatsdConfig {
  /** UDP listen address, null when off */
  udp: string | null;
  tcp: string | null;
  /** a Unix socket path for the stream (TCP) protocol (Etsy's `socket`), null when off */
  socket: string | null;
  /** mode set on the socket after it is created (Etsy's `socket_mod`); null leaves the umask's */
  socketMode: number | null;
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
  /** Etsy keys read and not used (logged as warnings when the daemon starts) */
  unused: UnusedKey[];
}

/** A key Blick accepts but does not use, and why. */
export interface UnusedKey { key: string; why: string }

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
 * Etsy statsd 0.9 keys that Blick reads and does not use, and why; `quiet`
 * holds for a value that asks for nothing (no warning then).
 */
const ETSY_UNUSED: Record<string, { why: string; quiet?: (v: unknown) => boolean }> = {
  graphService: { why: 'Etsy statsd 0.9 ignores it too' },
  batch: { why: 'Etsy statsd 0.9 ignores it too' },
  debug: { why: 'BLICK_LOG_LEVEL=debug makes Blick log more', quiet: (v) => v === false },
  log: { why: 'Blick logs to stderr; BLICK_LOG_LEVEL sets the level' },
  automaticConfigReload: { why: 'Blick reads its configuration when it starts; restart it to apply a change', quiet: (v) => v === false },
  title: { why: 'the process keeps its name', quiet: (v) => v === false },
  keyFlush: { why: 'Blick does not log the most frequent keys' },
  console: { why: 'Blick has no console backend' },
  repeater: { why: 'Blick does not repeat packets; `upstreams` sends the flushed metrics to a Blick server', quiet: (v) => Array.isArray(v) && v.length === 0 },
  repeaterProtocol: { why: 'Blick does not repeat packets' },
};

/**
 * The third-party backends of Etsy's docs/backend.md: a key named after one
 * (`librato: {…}`, `datadogApiKey`) is that backend's setting, not a typo.
 */
const THIRD_PARTY_BACKENDS = ['amqp', 'atsd', 'aws', 'cloudwatch', 'bell', 'couchdb', 'datadog', 'elasticsearch', 'ganglia', 'hostedGraphite',
  'influxdb', 'instrumental', 'jut', 'leftronic', 'librato', 'mongo', 'monitis', 'mysql', 'netuitive', 'opencensus', 'opentsdb',
  'redistimeseries', 'stackdriver', 'warp10', 'zabbix'];

const isGraphiteBackend = (b: string) => /(^|\/)graphite(\.js)?$/.test(b);

/** The words naming a backend module: `statsd-librato-backend` → librato; `./backends/console` → console. */
function backendWords(module: string): string[] {
  const base = module.slice(module.lastIndexOf('/') + 1).replace(/\.js$/, '');
  return base.split(/[-_.]/).filter((w) => w.length >= 3 && !/^(statsd|backend|backends|plugin)$/i.test(w));
}

/** The backend whose setting `key` is (`librato`, `datadogApiKey`, `zabbix_host`), if any. */
function backendOf(key: string, names: string[]): string | undefined {
  const k = key.toLowerCase();
  return names.find((n) => {
    if (!k.startsWith(n.toLowerCase())) return false;
    const next = key[n.length];
    return next === undefined || next === '_' || /[A-Z0-9]/.test(next);
  });
}

/** `./servers/udp` → udp; Etsy's two servers, with or without the path. */
function serverKind(s: string): 'udp' | 'tcp' | undefined {
  return /^(?:(?:\.\/)?servers\/)?(udp|tcp)(?:\.js)?$/.exec(s)?.[1] as 'udp' | 'tcp' | undefined;
}

const SINGLE_SERVER_KEYS = ['server', 'port', 'address', 'address_ipv6', 'socket', 'socket_mod'] as const;

/**
 * How the `statsd:` section is read. `yaml`: Blick's YAML, strict — a key
 * that is neither Blick's, nor Etsy's, nor a known backend's is an error.
 * `etsy`: an Etsy config file, read as Etsy does — unknown keys are warned
 * about, the listener is Etsy's (UDP 8125 unless `servers`/`server` say
 * otherwise) and Graphite is off without `graphiteHost`.
 */
export type StatsdConfigMode = 'yaml' | 'etsy';

function makeStatsdSchema(mode: StatsdConfigMode) {
  const top = {
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
    // Etsy statsd's names (exampleConfig.js); the single-server form is etsyServerSchema's keys at the top level
    ...etsyServerSchema.shape,
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
    backends: z.array(z.string()).optional(),
    // read and not used (ETSY_UNUSED says why)
    ...Object.fromEntries(Object.keys(ETSY_UNUSED).map((k) => [k, z.unknown().optional()])) as Record<keyof typeof ETSY_UNUSED, z.ZodOptional<z.ZodUnknown>>,
  };
  const known = new Set(Object.keys(top));
  const knownGraphite = new Set(Object.keys(graphiteSchema.shape));
  const knownServer = new Set(Object.keys(etsyServerSchema.shape));
  return z.looseObject(top).transform((c, ctx): StatsdConfig => {
    const unused: UnusedKey[] = [];
    const raw = c as Record<string, unknown>;
    const backendNames = [...THIRD_PARTY_BACKENDS, ...(c.backends ?? []).flatMap(backendWords)];
    // keys outside the schema: a known backend's (warned), else an error in YAML, a warning in an Etsy file
    const strange = (keys: string[], path: (string | number)[], isBackend: (k: string) => string | undefined) => {
      const typos: string[] = [];
      for (const k of keys) {
        const backend = isBackend(k);
        const key = [...path, k].join('.');
        if (backend) unused.push({ key, why: `a setting of the ${backend} backend, which Blick does not have` });
        else if (mode === 'etsy') unused.push({ key, why: 'neither an Etsy statsd 0.9 key nor a Blick one (misspelt?); Etsy ignores it too' });
        else typos.push(k);
      }
      if (typos.length > 0) ctx.addIssue({ code: 'unrecognized_keys', keys: typos, path, message: `unknown key${typos.length > 1 ? 's' : ''} ${typos.map((k) => `"${k}"`).join(', ')}` });
    };
    strange(Object.keys(raw).filter((k) => !known.has(k)), [], (k) => backendOf(k, backendNames));
    strange(Object.keys(c.graphite ?? {}).filter((k) => !knownGraphite.has(k)), ['graphite'], () => undefined);
    (c.servers ?? []).forEach((s, n) => strange(Object.keys(s).filter((k) => !knownServer.has(k)), ['servers', n], () => undefined));
    for (const [k, u] of Object.entries(ETSY_UNUSED)) {
      if (raw[k] !== undefined && !u.quiet?.(raw[k])) unused.push({ key: k, why: u.why });
    }
    const otherBackends = (c.backends ?? []).filter((b) => !isGraphiteBackend(b));
    if (otherBackends.length > 0) unused.push({ key: 'backends', why: `${otherBackends.join(', ')}: Blick has no such backend; it flushes to Graphite and to the Blick server (upstreams)` });

    const fail = (path: (string | number)[], message: string) => { ctx.addIssue({ code: 'custom', path, message }); };
    // Etsy: `servers`, or else the top level as the one server (UDP unless `server` says tcp)
    let udp: string | null = listen(c.udp, null);
    let tcp: string | null = listen(c.tcp, null);
    let socket: string | null = null;
    let socketMode: number | null = null;
    const etsyListeners = mode === 'etsy' || c.servers !== undefined || SINGLE_SERVER_KEYS.some((k) => c[k] !== undefined);
    if (!etsyListeners) {
      if (c.udp === undefined) udp = '0.0.0.0:8125';
      if (c.tcp === undefined) tcp = '0.0.0.0:8125';
    } else {
      let etsyUdp: string | null = null;
      let etsyTcp: string | null = null;
      const single: EtsyServer = Object.fromEntries(SINGLE_SERVER_KEYS.filter((k) => c[k] !== undefined).map((k) => [k, c[k]]));
      if (c.servers) {
        for (const k of SINGLE_SERVER_KEYS) if (c[k] !== undefined) unused.push({ key: k, why: 'servers is given, and Etsy then uses only its entries' });
      } else if (single.socket !== undefined && single.server === undefined) {
        // Etsy would listen on UDP 0.0.0.0:8125 and ignore the socket; a port nobody asked for is worse
        single.server = './servers/tcp';
        unused.push({ key: 'server', why: 'socket is given without server: ./servers/tcp; Blick listens on the socket only (Etsy would ignore the socket and listen on UDP port 8125)' });
      }
      const entries: [EtsyServer, (string | number)[]][] = c.servers ? c.servers.map((s, n) => [s, ['servers', n]]) : [[single, []]];
      for (const [s, path] of entries) {
        const kind = serverKind(s.server ?? './servers/udp');
        const at = (k: string) => [...path, k];
        if (!kind) { fail(at('server'), `"${s.server}" is not a server Blick has (./servers/udp or ./servers/tcp)`); continue; }
        const addr = hostPort(s.address, s.port, s.address_ipv6 ? '[::]:8125' : '0.0.0.0:8125');
        if (kind === 'udp') {
          for (const k of ['socket', 'socket_mod'] as const) if (s[k] !== undefined) unused.push({ key: at(k).join('.'), why: 'only ./servers/tcp listens on a socket' });
          if (etsyUdp !== null) fail(at('server'), `Blick listens on one UDP address; ${etsyUdp} is given already`);
          etsyUdp = addr;
        } else if (s.socket !== undefined) {
          for (const k of ['port', 'address', 'address_ipv6'] as const) if (s[k] !== undefined) unused.push({ key: at(k).join('.'), why: 'the tcp server listens on its socket, not on a port (as in Etsy)' });
          if (socket !== null) fail(at('socket'), `Blick listens on one Unix socket; ${socket} is given already`);
          socket = s.socket;
          socketMode = s.socket_mod ?? null;
        } else {
          if (s.socket_mod !== undefined) unused.push({ key: at('socket_mod').join('.'), why: 'no socket is given' });
          if (etsyTcp !== null) fail(at('server'), `Blick listens on one TCP address; ${etsyTcp} is given already`);
          etsyTcp = addr;
        }
      }
      if (c.udp === undefined) udp = etsyUdp;
      if (c.tcp === undefined) tcp = etsyTcp;
    }
    let admin = listen(c.admin, '127.0.0.1:8126');
    if (c.admin === undefined && (c.mgmt_port !== undefined || c.mgmt_address !== undefined)) {
      admin = hostPort(c.mgmt_address, c.mgmt_port, '127.0.0.1:8126');
    }
    const g = c.graphite ?? {};
    // Etsy sends to Graphite only with graphiteHost, and only when `backends` (if given) lists it
    let graphiteHost = g.host ?? c.graphiteHost ?? (mode === 'etsy' ? '' : '127.0.0.1');
    if (g.host === undefined && c.backends !== undefined && !c.backends.some(isGraphiteBackend)) {
      if (c.graphiteHost !== undefined) unused.push({ key: 'graphiteHost', why: 'backends does not list ./backends/graphite, so nothing goes to Graphite (as in Etsy)' });
      graphiteHost = '';
    }
    const deleteIdle = c.delete_idle_stats ?? c.deleteIdleStats ?? false;
    const del = (a: boolean | undefined, b: boolean | undefined) => a ?? b ?? deleteIdle;
    const ttl = c.gauges_max_ttl ?? c.gaugesMaxTTL;
    const suffix = g.global_suffix ?? g.globalSuffix;
    return {
      udp,
      tcp,
      socket,
      socketMode,
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
        host: graphiteHost,
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
      unused,
    };
  });
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
 * `graphitePort`, `graphite.legacyNamespace`, `port`, `mgmt_port`, `servers`,
 * `server`, `socket`, …); where both spellings are given the snake_case key wins.
 * With any of Etsy's listener keys (`servers`, `server`, `port`, `address`,
 * `socket`) only what they describe listens, as in Etsy. Etsy keys Blick does
 * not use, and third-party backends' sections, are listed in `unused`; any
 * other unknown key is an error. The output is the resolved {@link StatsdConfig}.
 */
export const statsdConfigSchema = makeStatsdSchema('yaml');

/** The same keys read from an Etsy config file, as Etsy reads them (see {@link StatsdConfigMode}). */
export const etsyStatsdConfigSchema = makeStatsdSchema('etsy');

/** What may be written under `statsd:` (YAML or an Etsy config object). */
export type StatsdConfigInput = z.input<typeof statsdConfigSchema>;

/**
 * Read an Etsy statsd configuration file (a JavaScript object literal, as
 * Etsy's `exampleConfig.js`) into a {@link StatsdConfig}, as Etsy reads it
 * ({@link StatsdConfigMode} `etsy`). The file is read as data, never run
 * (see {@link parseEtsyConfig}); errors name the file and line.
 */
export function readEtsyConfigFile(file: string): StatsdConfig {
  return loadConfig(file, etsyStatsdConfigSchema, { env: {}, parsed: readEtsyFile(file) });
}
