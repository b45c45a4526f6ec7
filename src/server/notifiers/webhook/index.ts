import { createHmac } from 'node:crypto';
import { z } from 'zod';
import { commonNotifierKeys, DeliveryError, parseRetryAfter, TemplatedNotifier, type NotificationPayload, type NotifierDeps } from '../notifier.js';

/** `{ type: webhook, url, secret?, headers? }` (see README.md). */
export const webhookSchema = z.strictObject({
  type: z.literal('webhook'),
  url: z.url({ protocol: /^https?$/ }),
  /** when set, every POST carries `X-Blick-Signature: sha256=<hex HMAC-SHA256 of the body>` */
  secret: z.string().min(1).optional(),
  /** extra request headers, e.g. an Authorization for the receiver */
  headers: z.record(z.string(), z.string()).default({}),
  ...commonNotifierKeys,
});
export type WebhookConfig = z.output<typeof webhookSchema>;

/** `sha256=<hex>` of a body under a secret, as sent in X-Blick-Signature. */
export function signature(secret: string, body: string): string {
  return 'sha256=' + createHmac('sha256', secret).update(body).digest('hex');
}

/**
 * POSTs the webhook JSON of PRODUCT.md (plus `title` with a title_template);
 * a body_template replaces the body, its values escaped as JSON string
 * content. Any non-2xx answer is a failure (retried).
 */
export class WebhookNotifier extends TemplatedNotifier<WebhookConfig> {
  readonly type = 'webhook';
  constructor(name: string, config: WebhookConfig, deps?: NotifierDeps) { super(name, config, deps, 'json'); }

  async send(payload: NotificationPayload, signal: AbortSignal): Promise<void> {
    const t = this.texts(payload);
    const body = t.body ?? JSON.stringify(t.title === undefined ? payload : { ...payload, title: t.title });
    const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'blick-webhook', ...this.config.headers };
    if (this.config.secret) headers['x-blick-signature'] = signature(this.config.secret, body);
    await postJson(this.config.url, body, headers, signal);
  }
}

/**
 * POST a body and return the answer's text. A non-2xx throws a DeliveryError
 * with the status and the start of the answer; a 429's Retry-After becomes the
 * outbox's next delay; statuses for which `refused` is true are not retried.
 */
export async function postJson(url: string, body: string, headers: Record<string, string>, signal: AbortSignal, refused: (status: number) => boolean = () => false): Promise<string> {
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', body, headers, signal });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new DeliveryError(`POST ${redact(url)} failed: ${cause?.code ?? cause?.message ?? (err as Error).message}`, { cause: err });
  }
  const text = await res.text().catch(() => '');
  if (res.ok) return text;
  const retryAfterMs = res.status === 429 || res.status === 503 ? parseRetryAfter(res.headers.get('retry-after'), Date.now()) : undefined;
  throw new DeliveryError(`POST ${redact(url)} answered ${res.status}: ${text.slice(0, 200)}`, { retryAfterMs, permanent: refused(res.status) });
}

/** 4xx other than 408 and 429: the receiver says the request itself is wrong, so a repeat cannot succeed. */
export function isClientError(status: number): boolean {
  return status >= 400 && status < 500 && status !== 408 && status !== 429;
}

/** Slack webhook URLs carry their secret in the path: log only the origin. */
function redact(url: string): string {
  try { return new URL(url).origin + '/…'; } catch { return 'the URL'; }
}
