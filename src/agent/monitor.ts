import type { z } from 'zod';
import type { EventInput } from '../core/event.js';
import type { Logger } from '../core/log.js';

/** What a monitor hands to the agent: an event without host (the agent's host is the default). */
export type MonitorEvent = Omit<EventInput, 'host' | 'source'> & { host?: string };

/** Everything a monitor may use; time is injectable so tests do not sleep. */
export interface MonitorContext {
  /** the agent's host name */
  readonly host: string;
  /** queue an event for the upstream (never blocks; the agent batches and spools) */
  emit(event: MonitorEvent): void;
  readonly log: Logger;
  now(): number;
}

/** An event-driven monitor (Telegraf's ServiceInput): it hears about changes as they happen. */
export interface Listener {
  readonly kind: 'listener';
  readonly name: string;
  start(ctx: MonitorContext): Promise<void>;
  stop(): Promise<void>;
}

/** An interval monitor (Telegraf's Input.Gather): the agent calls observe() every intervalMs. */
export interface Observer {
  readonly kind: 'observer';
  readonly name: string;
  readonly intervalMs: number;
  observe(ctx: MonitorContext): Promise<void> | void;
  /** optional: release resources when the agent stops */
  stop?(): Promise<void>;
}

export type Monitor = Listener | Observer;

/**
 * A built-in monitor: the key it takes under `agent:` in the config file, the
 * schema of that section, and a factory. `create` receives undefined when the
 * section is absent and returns the monitors to run (a default observer may
 * choose to run with no configuration; a listener that needs paths returns []).
 */
export interface MonitorFactory<S extends z.ZodType = z.ZodType> {
  readonly key: string;
  readonly schema: S;
  create(config: z.output<S> | undefined, agent: { host: string; dataDir: string }): Monitor[];
}

/** Identity helper that keeps the schema's type for `create`. */
export function defineMonitor<S extends z.ZodType>(f: MonitorFactory<S>): MonitorFactory<S> { return f; }
