import { DEFAULT_TIME_BOUNDS, PRODUCER_SOURCES, type BlickEvent, type EventOptions } from '../core/event.js';
import { RateLimitedLog, type Logger } from '../core/log.js';
import type { Registry } from '../core/metrics.js';
import type { WireEventRules } from '../transport/wire.js';
import type { ServerConfig } from './config.js';

/** The makeEvent rules of the server's two edges, sharing one clamp counter and log. */
export interface EdgeRules {
  /** POST /api/v1/events: the source is always `api`, whatever the client says */
  api: EventOptions;
  /** ZeroMQ ingest: producers may claim agent, relay, statsd or snmp, never server or api */
  ingest: WireEventRules;
}

/**
 * Build the rules every event entering the server follows. A time beyond
 * `server.limits.max_future_skew` (or before 2000) is set to the receive time,
 * counted in `blick_events_time_clamped_total{edge}` and logged rate-limited.
 */
export function edgeRules(config: ServerConfig, metrics: Registry, log: Logger, now?: () => number): EdgeRules {
  const clamped = metrics.counter('blick_events_time_clamped_total', 'Events whose time was too far ahead (server.limits.max_future_skew) or before 2000, set to the receive time (original in attributes.producer_time)');
  const warn = new RateLimitedLog(log);
  const time = { maxFutureSkewMs: config.limits.max_future_skew, minTime: DEFAULT_TIME_BOUNDS.minTime };
  const onClamp = (edge: string) => (e: BlickEvent, producerTime: number) => {
    clamped.inc(1, { edge });
    warn.warn(`time-clamped:${edge}`, { edge, host: e.host, service: e.service, producer_time: producerTime, received: e.time },
      'event time out of bounds, set to the receive time (check the producer\'s clock)');
  };
  return {
    api: { source: 'api', sources: 'ignore', time, onTimeClamped: onClamp('api'), ...(now ? { now } : {}) },
    ingest: { sources: PRODUCER_SOURCES, time, onTimeClamped: onClamp('ingest') },
  };
}
