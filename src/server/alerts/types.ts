import type { BlickEvent } from '../../core/event.js';

export const ALERT_STATUSES = ['pending', 'firing', 'resolved'] as const;
export type AlertStatus = (typeof ALERT_STATUSES)[number];

/**
 * One alert: the life of a rule's condition on one host+service, from pending
 * through firing to resolved. A new alert (new id) starts when the condition
 * holds again after a resolution.
 */
export interface Alert {
  id: string;
  /** rule \0 host \0 service */
  key: string;
  rule: string;
  host: string;
  service: string;
  severity: string;
  status: AlertStatus;
  /** when the condition started to hold (unix ms) */
  startsAt: number;
  /** when it fired, or null while pending */
  firedAt: number | null;
  /** when it resolved, or null */
  endsAt: number | null;
  updatedAt: number;
  state: string | null;
  metric: number | null;
  description: string;
  tags: string[];
  /** the latest event that kept the condition true (or the one that ended it) */
  event: BlickEvent;
  /** set by POST /api/v1/alerts/:id/ack: no repeat notifications until the alert changes or resolves */
  acknowledged?: Acknowledgement | null | undefined;
}

/** Who acknowledged a firing alert, when, why, and until when (null: until it changes). */
export interface Acknowledgement { by: string; at: number; comment: string; expiresAt: number | null }

/** The acknowledgement of an alert that holds at `now`, or null. */
export function activeAck(a: Pick<Alert, 'acknowledged'>, now: number): Acknowledgement | null {
  const k = a.acknowledged;
  return k && (k.expiresAt === null || now < k.expiresAt) ? k : null;
}

export function alertKey(rule: string, host: string, service: string): string {
  return `${rule}\0${host}\0${service}`;
}

/** Matchers of a silence: globs on alert labels; all given must match. */
export interface SilenceMatchers {
  host?: string | undefined;
  service?: string | undefined;
  rule?: string | undefined;
  severity?: string | undefined;
}

export interface Silence {
  id: string;
  matchers: SilenceMatchers;
  startsAt: number;
  endsAt: number;
  author: string;
  reason: string;
  createdAt: number;
}

/** A notification waiting for delivery (the outbox survives restarts). */
export interface OutboxItem {
  id: string;
  notifier: string;
  alertId: string;
  payload: NotificationPayload;
  createdAt: number;
  attempts: number;
  nextAttemptAt: number;
  lastError: string | null;
}

/** The webhook JSON of PRODUCT.md, the one payload every notifier formats. */
export interface NotificationPayload {
  status: 'firing' | 'resolved';
  rule: string;
  severity: string;
  host: string;
  service: string;
  state: string | null;
  metric: number | null;
  description: string;
  /** ISO 8601 */
  startsAt: string;
  /** ISO 8601 when resolved, null while firing */
  endsAt: string | null;
  event: BlickEvent;
}
