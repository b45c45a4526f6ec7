import type { Component } from '../../core/component.js';
import { RateLimitedLog, type Logger } from '../../core/log.js';
import type { Registry } from '../../core/metrics.js';
import { CarbonConnection, carbonMessages, PICKLE_POINTS_PER_MESSAGE, type Datapoint } from '../../transport/carbon.js';
import type { ServerConfig } from '../config.js';
import type { Ingest } from '../ingest.js';
import { GraphiteNamer } from './naming.js';

export type GraphiteForwardConfig = NonNullable<ServerConfig['graphite']>;

/**
 * Forwards the metric of every committed event to carbon, except statsd's
 * side channel (those are in Graphite through statsd already). Points are
 * collected from the ingest's subscription (no work on the ingest path but an
 * append) and sent every `flush_interval`, or as soon as a message's worth
 * is waiting; while carbon is down they wait in a queue bounded by
 * `max_queue_points` and `max_queue_bytes`, the oldest dropped and counted.
 */
export class GraphiteForwarder implements Component {
  readonly name = 'graphite';
  private readonly namer: GraphiteNamer;
  private readonly carbon: CarbonConnection;
  private batch: Datapoint[] = [];
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private readonly m;

  constructor(private readonly config: GraphiteForwardConfig, private readonly deps: { ingest: Ingest; metrics: Registry; log: Logger }) {
    this.namer = new GraphiteNamer(config.template, config.prefix);
    const warn = new RateLimitedLog(deps.log);
    this.m = {
      sent: deps.metrics.counter('blick_graphite_points_total', 'Metric points the server wrote to its connection to carbon'),
      dropped: deps.metrics.counter('blick_graphite_points_dropped_total', 'Metric points dropped because the queue for carbon was full (server.graphite.max_queue_points, max_queue_bytes)'),
      errors: deps.metrics.counter('blick_graphite_connection_errors_total', 'Failed connections to carbon (retried with backoff)'),
    };
    this.carbon = new CarbonConnection({
      host: config.host, port: config.port ?? (config.protocol === 'pickle' ? 2004 : 2003),
      reconnectMinMs: config.reconnect_min, reconnectMaxMs: config.reconnect_max,
      maxQueueBytes: config.max_queue_bytes, maxQueueItems: config.max_queue_points,
      log: deps.log, part: 'server graphite',
      onDrop: (bytes, points) => {
        this.m.dropped.inc(points);
        warn.warn('graphite-drop', { part: 'server graphite', points, bytes }, 'carbon queue full: dropped the oldest unsent points');
      },
      onWrite: (_bytes, points) => this.m.sent.inc(points),
      onError: () => this.m.errors.inc(),
    });
    deps.metrics.gauge('blick_graphite_queued_points', 'Metric points waiting for carbon').collectWith(() => this.carbon.queuedItems + this.batch.length);
    deps.metrics.gauge('blick_graphite_queued_bytes', 'Bytes waiting for carbon').collectWith(() => this.carbon.queuedBytes);
  }

  async start(): Promise<void> {
    this.carbon.start();
    this.unsubscribe = this.deps.ingest.subscribe(({ events }) => {
      for (const e of events) {
        if (e.metric === undefined || e.source === 'statsd') continue;
        this.batch.push({ path: this.namer.path(e.host, e.service), value: e.metric, timestamp: Math.floor(e.time / 1000) });
      }
      if (this.batch.length >= PICKLE_POINTS_PER_MESSAGE) this.flush();
    });
    this.timer = setInterval(() => this.flush(), this.config.flush_interval);
    this.timer.unref();
  }

  /** Encode what is waiting and hand it to the connection. */
  flush(): void {
    if (this.batch.length === 0) return;
    const points = this.batch;
    this.batch = [];
    for (const { message, items } of carbonMessages(points, this.config.protocol)) this.carbon.send(message, items);
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    if (this.timer) clearInterval(this.timer);
    this.flush();
    await this.carbon.stop();
  }
}
