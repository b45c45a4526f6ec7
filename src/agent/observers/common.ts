import { z } from 'zod';
import { zDuration } from '../../core/config.js';

/**
 * Where /proc is. `HOST_PROC` (Telegraf's name) lets an agent in a container
 * read the host's; tests pass a testdata directory instead.
 */
export const defaultProcRoot = (): string => process.env.HOST_PROC ?? '/proc';

/** Interval and on/off shared by every observer's schema. */
export const observerBase = {
  /** false turns the observer off */
  enabled: z.boolean().default(true),
  /** how often to observe (default 10s) */
  interval: zDuration.default(10_000),
};

/** The state of a value against warning/critical thresholds (higher is worse). */
export function thresholdState(value: number, warning: number | undefined, critical: number | undefined): 'ok' | 'warning' | 'critical' {
  if (critical !== undefined && value >= critical) return 'critical';
  if (warning !== undefined && value >= warning) return 'warning';
  return 'ok';
}

/** Rounds for events: two decimals are enough for percentages and rates. */
export function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

const ORDER = { ok: 0, warning: 1, critical: 2 } as const;
/** The worse of two threshold states. */
export function worse(a: 'ok' | 'warning' | 'critical', b: 'ok' | 'warning' | 'critical'): 'ok' | 'warning' | 'critical' {
  return ORDER[b] > ORDER[a] ? b : a;
}
