import { Supervisor, type Component, type FailureListener } from '../core/component.js';
import { makeEvent } from '../core/event.js';
import { createLogger, RateLimitedLog, type Logger } from '../core/log.js';
import { Registry } from '../core/metrics.js';
import { producerFromConfig, type ProducingDaemonDeps } from '../transport/config.js';
import type { Producer } from '../transport/producer.js';
import type { StatsdConfig } from './config.js';
import { createStatsd, type StatsdServer } from './index.js';

/**
 * `blick statsd`: the statsd server plus the side channel to the Blick server
 * (every flushed metric becomes an event, sent over the normal transport with
 * its spool). Without upstreams there is no side channel.
 */
export class StatsdDaemon implements Component {
  readonly name = 'statsd';
  readonly statsd: StatsdServer;
  readonly producer?: Producer;
  private readonly log: Logger;
  /** producer → statsd: the side channel is up before the first flush and drained after the last */
  private readonly parts: Supervisor;

  constructor(readonly config: StatsdConfig, deps: ProducingDaemonDeps) {
    this.log = deps.log ?? createLogger('statsd');
    const warn = new RateLimitedLog(this.log);
    const metrics = deps.metrics ?? new Registry();
    const invalid = metrics.counter('blick_statsd_side_channel_invalid_total', 'Flushed metrics that could not become an event (e.g. a name with a control character, with key_name_sanitize off)');
    if (config.upstreams.length > 0) {
      this.producer = producerFromConfig(config, { dataDir: deps.dataDir, spool: 'statsd', producer: config.host, curve: deps.curve, dns: deps.dns, log: this.log, metrics });
    }
    const producer = this.producer;
    this.statsd = createStatsd(config, {
      log: this.log,
      metrics,
      ...(producer ? {
        emit: (events) => {
          for (const e of events) {
            try { producer.send(makeEvent(e, { source: 'statsd' })); } catch (err) {
              invalid.inc();
              warn.warn('side-channel', { service: e.service, error: (err as Error).message }, 'a flushed metric could not become an event');
            }
          }
        },
      } : {}),
    });
    this.parts = new Supervisor('statsd', [...(producer ? [producer] : []), this.statsd], this.log);
  }

  onFailure(listener: FailureListener): void { this.parts.onFailure(listener); }

  start(): Promise<void> { return this.parts.start(); }

  stop(): Promise<void> { return this.parts.stop(); }
}
