import type { EventInput } from '../core/event.js';
import type { BackendDeps, StatsdBackend } from './backend.js';
import type { StatsdConfig } from './config.js';
import type { FlushData } from './store.js';

/**
 * The Blick side channel: every flushed metric as an event.
 * - counters: `statsd <name>` = per-second rate, `statsd <name>.count` = count
 * - timers: `statsd <name>.<stat>` (mean, upper, upper_90, count, …, histogram.bin_10)
 * - gauges: `statsd <name>`; sets: `statsd <name>.count`
 * The host is the `host` tag when there is one, else the configured `host`;
 * the other DogStatsD tags become event tags (`key:value`).
 */
export class EventsBackend implements StatsdBackend {
  readonly name = 'events';
  private emitted = 0;
  constructor(private readonly config: StatsdConfig, private readonly emit: (events: EventInput[]) => void, private readonly deps: BackendDeps) {}

  async start(): Promise<void> {}
  async stop(): Promise<void> {}

  flush(data: FlushData): void {
    const time = data.timestamp * 1000;
    const defaultHost = this.config.host;
    const events: EventInput[] = [];
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
    for (const [k, v] of data.counters) {
      add(k, '', data.counterRates.get(k)!, 'counter');
      add(k, '.count', v, 'counter');
    }
    for (const [k, td] of data.timerData) {
      for (const sub in td) {
        const v = td[sub]!;
        if (typeof v === 'number') add(k, '.' + sub, v, 'timer');
        else for (const bin in v) add(k, '.' + sub + '.' + bin, v[bin]!, 'timer');
      }
    }
    for (const [k, v] of data.gauges) add(k, '', v, 'gauge');
    for (const [k, n] of data.sets) add(k, '.count', n, 'set');
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
  }
}
