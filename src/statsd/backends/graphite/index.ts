import type { BackendDeps, StatsdBackend } from '../../backend.js';
import type { StatsdConfig } from '../../config.js';
import type { FlushData } from '../../store.js';
import { CarbonConnection, carbonMessages, type Datapoint } from '../../../transport/carbon.js';
import { GraphiteNaming } from './format.js';

/**
 * Sends each flush to carbon over one long-lived TCP connection (plaintext on
 * `graphite.port`, or pickle on `graphite.pickle_port`). While carbon is
 * unreachable, flushes wait in a buffer bounded by `graphite.buffer_bytes`
 * (the oldest are dropped first) and the connection is retried with
 * exponential backoff between `reconnect_min` and `reconnect_max`.
 */
export class GraphiteBackend implements StatsdBackend {
  readonly name = 'graphite';
  private readonly naming: GraphiteNaming;
  private readonly carbon: CarbonConnection;
  /** Etsy's graphiteStats, plus Blick's buffer figures */
  readonly stats = { last_flush: 0, last_exception: 0, flush_time: 0, flush_length: 0, dropped_flushes: 0, buffered_bytes: 0 };

  constructor(private readonly config: StatsdConfig, private readonly deps: BackendDeps) {
    this.naming = new GraphiteNaming(config);
    this.stats.last_flush = Math.round(deps.now() / 1000);
    const g = config.graphite;
    this.carbon = new CarbonConnection({
      host: g.host, port: g.protocol === 'pickle' ? g.picklePort : g.port, reconnectMinMs: g.reconnectMinMs, reconnectMaxMs: g.reconnectMaxMs,
      maxQueueBytes: g.bufferBytes, log: deps.log, part: 'graphite',
      onDrop: (bytes) => {
        this.stats.dropped_flushes++;
        deps.log.warn({ part: 'graphite', bytes, buffer_bytes: g.bufferBytes }, 'graphite buffer full: dropped the oldest unsent flush');
      },
      onWrite: () => { this.stats.last_flush = Math.round(deps.now() / 1000); this.stats.buffered_bytes = this.carbon.queuedBytes; },
      onError: () => { this.stats.last_exception = Math.round(deps.now() / 1000); },
    });
  }

  private get enabled(): boolean { return this.config.graphite.host !== ''; }

  async start(): Promise<void> {
    if (this.enabled) this.carbon.start();
  }

  flush(data: FlushData): void {
    if (!this.enabled) return;
    const start = Date.now();
    const ts = data.timestamp;
    const points: Datapoint[] = [];
    const out = (path: string, value: number) => { points.push({ path, value, timestamp: ts }); };
    this.naming.lines(data, start, Date.now, out);
    const own = this.stats;
    for (const stat of ['last_exception', 'last_flush', 'flush_time', 'flush_length'] as const) out(this.naming.ownStat(stat), own[stat]);
    const payloads = carbonMessages(points, this.config.graphite.protocol);
    for (const p of payloads) this.carbon.send(p.message);
    own.buffered_bytes = this.carbon.queuedBytes;
    own.flush_time = Date.now() - start;
    own.flush_length = payloads.reduce((n, p) => n + p.message.length, 0);
  }

  status(write: (backend: string, stat: string, value: number) => void): void {
    this.stats.buffered_bytes = this.carbon.queuedBytes;
    for (const [k, v] of Object.entries(this.stats)) write('graphite', k, v);
  }

  async stop(): Promise<void> {
    await this.carbon.stop();
  }
}

export function createGraphiteBackend(config: StatsdConfig, deps: BackendDeps): GraphiteBackend {
  return new GraphiteBackend(config, deps);
}
