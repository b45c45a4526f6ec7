import type { EventInput } from '../../core/event.js';
import type { Logger } from '../../core/log.js';
import type { Registry } from '../../core/metrics.js';

/**
 * What an SNMP part of the relay (the trap listener, the poller) is given by the
 * relay's composition root: where its events go (the relay's producer: batched,
 * spooled, forwarded), and how it logs and counts. `source` of the events is set
 * to `snmp` by the relay.
 */
export interface SourceDeps {
  /** queue one event for the upstream; never blocks */
  emit(event: EventInput): void;
  log: Logger;
  metrics: Registry;
  /** unix ms; injectable for tests [Date.now] */
  now?: () => number;
}
