import { z } from 'zod';
import { zDuration } from '../../core/config.js';
import type { Logger } from '../../core/log.js';
import type { NotificationPayload } from '../alerts/types.js';

export type { NotificationPayload } from '../alerts/types.js';

/**
 * The notifier extension point: deliver one notification or throw. Retries,
 * backoff, persistence and metrics belong to the outbox, not to notifiers.
 */
export interface Notifier {
  readonly name: string;
  readonly type: string;
  /** Deliver; reject on any failure (the outbox retries). Honour `signal` (timeout, shutdown). */
  send(payload: NotificationPayload, signal: AbortSignal): Promise<void>;
  close?(): Promise<void>;
}

export interface NotifierDeps { log: Logger }

/** Keys every notifier accepts: per-attempt timeout and the retry policy. */
export const commonNotifierKeys = {
  /** one attempt may take this long [10s] */
  timeout: zDuration.prefault('10s'),
  retry: z.strictObject({
    /** first backoff; doubles per attempt, ±10 % jitter [1s] */
    initial: zDuration.prefault('1s'),
    /** backoff ceiling [1m] */
    max: zDuration.prefault('1m'),
    /** drop a notification still undelivered after this long [24h] */
    give_up_after: zDuration.prefault('24h'),
  }).prefault({}),
};

/** The retry policy of a notifier, in ms. */
export interface RetryPolicy { timeout: number; initial: number; max: number; giveUpAfter: number }
