import { z } from 'zod';
import { isClientError, postJson } from '../webhook/index.js';
import { alertIdentity, clip, commonNotifierKeys, TemplatedNotifier, type NotificationPayload, type NotifierDeps } from '../notifier.js';

const PD_SEVERITIES = ['critical', 'error', 'warning', 'info'] as const;

/** `{ type: pagerduty, routing_key, url? }` (see README.md). */
export const pagerdutySchema = z.strictObject({
  type: z.literal('pagerduty'),
  /** the Integration Key of an Events API v2 integration (32 characters) */
  routing_key: z.string().min(1).max(64),
  /** Events API v2 endpoint [https://events.pagerduty.com/v2/enqueue] */
  url: z.url({ protocol: /^https?$/ }).default('https://events.pagerduty.com/v2/enqueue'),
  /** PagerDuty severity of a Blick severity that is not one of critical, error, warning, info [error] */
  default_severity: z.enum(PD_SEVERITIES).default('error'),
  ...commonNotifierKeys,
});
export type PagerDutyConfig = z.output<typeof pagerdutySchema>;

/** The Events API v2 event of one notification: trigger while firing, resolve after, one dedup_key per alert; `t` holds rendered templates. */
export function pagerdutyEvent(p: NotificationPayload, c: Pick<PagerDutyConfig, 'routing_key' | 'default_severity'>, t: { title?: string | undefined; body?: string | undefined } = {}): Record<string, unknown> {
  const dedup_key = alertIdentity(p);
  if (p.status === 'resolved') return { routing_key: c.routing_key, event_action: 'resolve', dedup_key };
  const severity = (PD_SEVERITIES as readonly string[]).includes(p.severity) ? p.severity : c.default_severity;
  const summary = t.title || `${p.rule} on ${p.host} — ${p.service}${p.description ? ': ' + p.description : ''}`;
  return {
    routing_key: c.routing_key,
    event_action: 'trigger',
    dedup_key,
    payload: {
      summary: clip(summary, 1024), // the documented limit
      source: p.host,
      severity,
      timestamp: p.startsAt,
      component: p.service,
      class: p.rule,
      custom_details: { rule: p.rule, severity: p.severity, service: p.service, state: p.state, metric: p.metric, description: clip(p.description, 4000), tags: p.event.tags, ...(t.body === undefined ? {} : { body: t.body }) },
    },
  };
}

/**
 * Sends PagerDuty Events API v2 events. 202 is delivered; a 400 (invalid
 * event) is not retried; 429 waits for Retry-After; 5xx and network errors
 * are retried by the outbox.
 */
export class PagerDutyNotifier extends TemplatedNotifier<PagerDutyConfig> {
  readonly type = 'pagerduty';
  async send(p: NotificationPayload, signal: AbortSignal): Promise<void> {
    const t = this.texts(p);
    await postJson(this.config.url, JSON.stringify(pagerdutyEvent(p, this.config, t)), { 'content-type': 'application/json', 'user-agent': 'blick-pagerduty' }, signal, isClientError);
  }
}
