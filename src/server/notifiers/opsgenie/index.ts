import { z } from 'zod';
import { isClientError, postJson } from '../webhook/index.js';
import { alertIdentity, clip, commonNotifierKeys, TemplatedNotifier, type NotificationPayload, type NotifierDeps } from '../notifier.js';

const PRIORITY = z.enum(['P1', 'P2', 'P3', 'P4', 'P5']);

/** `{ type: opsgenie, api_key, url? }` (see README.md). */
export const opsgenieSchema = z.strictObject({
  type: z.literal('opsgenie'),
  /** the key of an Opsgenie API integration, sent as `Authorization: GenieKey <key>` */
  api_key: z.string().min(1),
  /** API base [https://api.opsgenie.com]; https://api.eu.opsgenie.com for EU accounts */
  url: z.url({ protocol: /^https?$/ }).default('https://api.opsgenie.com'),
  /** Opsgenie priority per Blick severity [critical: P1, error: P2, warning: P3, info: P5]; others P3 */
  priorities: z.record(z.string(), PRIORITY).default({ critical: 'P1', error: 'P2', warning: 'P3', info: 'P5' }),
  /** extra tags on every alert */
  tags: z.array(z.string().min(1).max(50)).max(10).default([]),
  ...commonNotifierKeys,
});
export type OpsgenieConfig = z.output<typeof opsgenieSchema>;

/** The request of one notification: create while firing, close by alias after; the alias is stable per alert; `t` holds rendered templates. */
export function opsgenieRequest(p: NotificationPayload, c: Pick<OpsgenieConfig, 'url' | 'priorities' | 'tags'>, t: { title?: string | undefined; body?: string | undefined } = {}): { url: string; body: Record<string, unknown> } {
  const alias = alertIdentity(p);
  const base = c.url.replace(/\/+$/, '');
  if (p.status === 'resolved') {
    return { url: `${base}/v2/alerts/${encodeURIComponent(alias)}/close?identifierType=alias`, body: { source: 'blick', note: clip(`resolved: ${p.description}`, 25_000) } };
  }
  // documented limits: message 130, description 15000, 20 tags of 50, details 8000 in all
  const tags = [...new Set(['blick', p.rule, p.severity, ...c.tags, ...p.event.tags])].map((t) => clip(t, 50)).slice(0, 20);
  const details: Record<string, string> = { rule: p.rule, host: p.host, service: p.service, severity: p.severity, state: p.state ?? '', metric: p.metric === null ? '' : String(p.metric), startsAt: p.startsAt };
  for (const k of Object.keys(details)) details[k] = clip(details[k]!, 1000);
  return {
    url: `${base}/v2/alerts`,
    body: {
      message: clip(t.title || `${p.rule} on ${p.host} — ${p.service}`, 130),
      alias,
      description: clip(t.body ?? p.description, 15_000),
      priority: c.priorities[p.severity] ?? 'P3',
      tags,
      details,
      entity: clip(p.host, 512),
      source: 'blick',
    },
  };
}

/**
 * Creates and closes Opsgenie alerts (Alert API v2). 202 is delivered; a 4xx
 * other than 408/429 (invalid request, bad key) is not retried; 429 waits for
 * Retry-After; 5xx and network errors are retried by the outbox.
 */
export class OpsgenieNotifier extends TemplatedNotifier<OpsgenieConfig> {
  readonly type = 'opsgenie';
  async send(p: NotificationPayload, signal: AbortSignal): Promise<void> {
    const { url, body } = opsgenieRequest(p, this.config, this.texts(p));
    await postJson(url, JSON.stringify(body), { 'content-type': 'application/json', authorization: `GenieKey ${this.config.api_key}`, 'user-agent': 'blick-opsgenie' }, signal, isClientError);
  }
}
