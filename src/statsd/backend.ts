import type { Logger } from '../core/log.js';
import type { Registry } from '../core/metrics.js';
import type { StatsdConfig } from './config.js';
import type { FlushData } from './store.js';

/**
 * The extension point for where flushed metrics go (Etsy's backends).
 * `flush` must read `data` synchronously: the store is cleared right after.
 */
export interface StatsdBackend {
  readonly name: string;
  start(): Promise<void>;
  flush(data: FlushData): void;
  /** Figures for the admin `stats` command, as Etsy's `status` event. */
  status(write: (backend: string, stat: string, value: number) => void): void;
  /** Send what is still buffered (bounded wait), then close. */
  stop(): Promise<void>;
}

export interface BackendDeps {
  log: Logger;
  now: () => number;
  /** where a backend registers its Prometheus counters */
  metrics?: Registry;
}

export type BackendFactory = (config: StatsdConfig, deps: BackendDeps) => StatsdBackend;
