import { createHash } from 'node:crypto';
import { z } from 'zod';
import { zDuration } from '../../core/config.js';
import { BlickError } from '../../core/errors.js';
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

/**
 * A failed delivery with hints for the outbox: `retryAfterMs` (a receiver's
 * Retry-After) replaces the backoff once; `permanent` (the receiver called the
 * notification invalid) drops it without retrying, counted as `failed`.
 */
export class DeliveryError extends BlickError {
  readonly retryAfterMs: number | undefined;
  readonly permanent: boolean;
  constructor(message: string, hints: { retryAfterMs?: number | undefined; permanent?: boolean; cause?: unknown } = {}) {
    super(hints.permanent ? 'NOTIFICATION_REJECTED' : 'NOTIFICATION_FAILED', message, { cause: hints.cause });
    this.retryAfterMs = hints.retryAfterMs;
    this.permanent = hints.permanent ?? false;
  }
}

/** The longest Retry-After honoured; a longer one is clamped (1 h). */
export const MAX_RETRY_AFTER_MS = 3_600_000;

/** A Retry-After header (delta-seconds or an HTTP date) in ms from `now`, clamped to [0, 1 h]; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, now: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const v = value.trim();
  let ms: number;
  if (/^\d{1,10}$/.test(v)) ms = Number(v) * 1000;
  else {
    const at = Date.parse(v);
    if (!/[a-z]/i.test(v) || Number.isNaN(at)) return undefined;
    ms = at - now;
  }
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(0, ms));
}

/**
 * A key stable over one alert's life (rule, host, service), for receivers that
 * close what they opened (PagerDuty dedup_key, Opsgenie alias). After the
 * receiver closed it, the same key opens a new incident.
 */
export function alertIdentity(p: Pick<NotificationPayload, 'rule' | 'host' | 'service'>): string {
  return 'blick-' + createHash('sha256').update(`${p.rule}\0${p.host}\0${p.service}`).digest('hex').slice(0, 40);
}

/** `s` cut to `max` characters (an ellipsis marks the cut). */
export function clip(s: string, max: number): string {
  return s.length > max ? s.slice(0, max - 1) + '…' : s;
}
