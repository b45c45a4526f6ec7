import type { EventInput } from '../core/event.js';
import { RateLimitedLog } from '../core/log.js';
import { Registry, type Counter } from '../core/metrics.js';
import type { BackendDeps, StatsdBackend } from './backend.js';
import type { StatsdConfig } from './config.js';
import { selfMetricKeys, type FlushData, type TimerData } from './store.js';

/** How many events one timer's statistics make. */
function timerSeries(td: TimerData): number {
  let n = 0;
  for (const sub in td) {
    const v = td[sub]!;
    n += typeof v === 'number' ? 1 : Object.keys(v).length;
  }
  return n;
}

/**
 * The Blick side channel: every metric that got a value since the last flush, as events.
 * - counters: `statsd <name>` = per-second rate, `statsd <name>.count` = count
 * - timers: `statsd <name>.<stat>` (mean, upper, upper_90, count, …, histogram.bin_10)
 * - gauges: `statsd <name>`; sets: `statsd <name>.count`
 * The host is the `host` tag when there is one, else the configured `host`;
 * the other DogStatsD tags become event tags (`key:value`).
 *
 * Idle names (Etsy keeps flushing them to Graphite: counters at 0, gauges at
 * their last value) and statsd's own `statsd.*` figures are not sent: each event
 * is a check at the server, so a burst of names must not turn into checks
 * refreshed forever. At most `side_channel.max_series_per_flush` events go per
 * flush; a metric whose events do not all fit is left out whole, counted and logged.
 */
export class EventsBackend implements StatsdBackend {
  readonly name = 'events';
  private emitted = 0;
  private droppedSeries = 0;
  private readonly own: Set<string>;
  private readonly dropLog: RateLimitedLog;
  private readonly dropCounter: Counter;

  constructor(private readonly config: StatsdConfig, private readonly emit: (events: EventInput[]) => void, private readonly deps: BackendDeps) {
    this.own = new Set(Object.values(selfMetricKeys(config.prefixStats)));
    this.dropLog = new RateLimitedLog(deps.log, 10_000, deps.now);
    this.dropCounter = (deps.metrics ?? new Registry()).counter('blick_statsd_side_channel_series_dropped_total', 'statsd series not sent to the server because a flush had more than side_channel.max_series_per_flush');
  }

  async start(): Promise<void> {}
  async stop(): Promise<void> {}

  flush(data: FlushData): void {
    const time = data.timestamp * 1000;
    const defaultHost = this.config.host;
    const cap = this.config.sideChannel.maxSeriesPerFlush;
    const events: EventInput[] = [];
    let dropped = 0;
    let droppedExample: string | undefined;
    const own = this.own;
    /** whether `n` more events of metric `key` fit in this flush */
    const fits = (key: string, n: number): boolean => {
      if (events.length + n <= cap) return true;
      dropped += n;
      droppedExample ??= key;
      return false;
    };
    const add = (key: string, suffix: string, metric: number, type: string) => {
      let name = key;
      let host = defaultHost;
      let tags: string[] | undefined;
      const semi = key.indexOf(';');
      if (semi !== -1) {
        name = key.substring(0, semi);
        tags = [];
        for (const t of key.substring(semi + 1).split(';')) {
          if (t.startsWith('host=')) { if (t.length > 5) host = t.substring(5); continue; }
          tags.push(t.replace('=', ':'));
        }
      }
      events.push({ host, service: 'statsd ' + name + suffix, metric: Number.isNaN(metric) ? undefined : metric, tags, attributes: { type }, time, source: 'statsd' });
    };
    // in each kind's order of first appearance: long-held names go before a burst of new ones
    const { sampled } = data;
    for (const [k, v] of data.counters) {
      if (!sampled.counters.has(k) || own.has(k) || !fits(k, 2)) continue;
      add(k, '', data.counterRates.get(k)!, 'counter');
      add(k, '.count', v, 'counter');
    }
    for (const [k, td] of data.timerData) {
      if (!sampled.timers.has(k) || own.has(k) || !fits(k, timerSeries(td))) continue;
      for (const sub in td) {
        const v = td[sub]!;
        if (typeof v === 'number') add(k, '.' + sub, v, 'timer');
        else for (const bin in v) add(k, '.' + sub + '.' + bin, v[bin]!, 'timer');
      }
    }
    for (const [k, v] of data.gauges) {
      if (sampled.gauges.has(k) && !own.has(k) && fits(k, 1)) add(k, '', v, 'gauge');
    }
    for (const [k, n] of data.sets) {
      if (sampled.sets.has(k) && !own.has(k) && fits(k, 1)) add(k, '.count', n, 'set');
    }
    if (dropped > 0) {
      this.droppedSeries += dropped;
      this.dropCounter.inc(dropped);
      this.dropLog.warn('side-channel-cap', { dropped_series: dropped, sent: events.length, max_series_per_flush: cap, example: droppedExample }, 'more statsd series than statsd.side_channel.max_series_per_flush: these were not sent to the server (Graphite has them)');
    }
    if (events.length === 0) return;
    try {
      this.emit(events);
      this.emitted += events.length;
    } catch (err) {
      this.deps.log.error({ part: 'events', err }, 'the side-channel callback failed; these metric events are lost');
    }
  }

  status(write: (backend: string, stat: string, value: number) => void): void {
    write('events', 'emitted', this.emitted);
    write('events', 'dropped_series', this.droppedSeries);
  }
}
