import { createHash } from 'node:crypto';
import { z } from 'zod';
import { zDuration } from '../../core/config.js';
import { BlickError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type { Counter, Registry } from '../../core/metrics.js';
import type { NotificationPayload } from '../alerts/types.js';
import { dotOutsideSection, parseTemplate, renderTemplate, templateNames, TemplateError, type Escape } from './template/index.js';

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

export interface NotifierDeps { log: Logger; metrics?: Registry | undefined }

/** The names a template may read: the notification's fields, `tags` and `attributes` as shortcuts into the event. */
export const TEMPLATE_NAMES = ['status', 'rule', 'severity', 'host', 'service', 'state', 'metric', 'description', 'startsAt', 'endsAt', 'tags', 'attributes', 'event'] as const;
const EVENT_NAMES = ['id', 'host', 'service', 'state', 'metric', 'description', 'tags', 'attributes', 'time', 'ttl', 'source'];

/** Why a template cannot be used (syntax, an unknown name), or undefined when it can. */
export function templateProblem(src: string): string | undefined {
  let nodes;
  try { nodes = parseTemplate(src); } catch (e) { return e instanceof TemplateError ? `template ${e.message} (at character ${e.at})` : String(e); }
  if (dotOutsideSection(nodes)) return 'template uses "{{.}}" outside a section, where it is always empty';
  for (const name of templateNames(nodes)) {
    if (name === '.') continue;
    const [root, second, ...rest] = name.split('.');
    if (!(TEMPLATE_NAMES as readonly string[]).includes(root!)) return `template reads unknown variable "${name}" (known: ${TEMPLATE_NAMES.join(', ')}, attributes.<key>, event.<field>)`;
    const ok = root === 'attributes' ? rest.length === 0
      : root === 'event' ? second === undefined || (EVENT_NAMES.includes(second) && (second === 'attributes' ? rest.length <= 1 : rest.length === 0))
      : second === undefined;
    if (!ok) return `template reads unknown variable "${name}" (event fields: ${EVENT_NAMES.join(', ')}; attributes.<key>)`;
  }
  return undefined;
}

/** A title or body template, checked at load (FILE:LINE on an unknown variable or bad syntax). */
export const zTemplate = z.string().max(8192).superRefine((s, ctx) => {
  const problem = templateProblem(s);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/** Keys every notifier accepts: per-attempt timeout, the retry policy, title and body templates. */
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
  /** the notification's title (subject, summary, message), e.g. "{{rule}} on {{host}}"; unset: the notifier's own */
  title_template: zTemplate.optional(),
  /** the notification's body (text, description); unset: the notifier's own */
  body_template: zTemplate.optional(),
  /** characters a rendered template may have; the rest is cut and counted [16384] */
  template_max_length: z.number().int().min(64).max(1_048_576).default(16_384),
};

/**
 * The base of the built-in notifiers: name, config and the configured
 * templates, rendered with the escaping of the target (`none` by default).
 */
export abstract class TemplatedNotifier<C extends { title_template?: string | undefined; body_template?: string | undefined; template_max_length: number }> implements Notifier {
  abstract readonly type: string;
  protected readonly templates: NotificationTemplates;
  constructor(readonly name: string, protected readonly config: C, deps?: NotifierDeps, escape: Escape = 'none') {
    this.templates = new NotificationTemplates(name, config, escape, deps);
  }
  abstract send(payload: NotificationPayload, signal: AbortSignal): Promise<void>;
  /** The rendered title and body; each undefined when its template is not configured. */
  protected texts(p: NotificationPayload): { title: string | undefined; body: string | undefined } {
    return { title: this.templates.renderTitle(p), body: this.templates.renderBody(p) };
  }
}

/**
 * The configured templates of one notifier, rendered with the escaping its
 * target needs. A cut output counts in blick_notification_templates_truncated_total.
 */
export class NotificationTemplates {
  private readonly title?: ReturnType<typeof parseTemplate>;
  private readonly body?: ReturnType<typeof parseTemplate>;
  private readonly truncated: Counter | undefined;
  constructor(private readonly notifier: string, private readonly c: { title_template?: string | undefined; body_template?: string | undefined; template_max_length: number }, private readonly how: Escape, deps?: NotifierDeps) {
    if (c.title_template !== undefined) this.title = parseTemplate(c.title_template);
    if (c.body_template !== undefined) this.body = parseTemplate(c.body_template);
    this.truncated = deps?.metrics?.counter('blick_notification_templates_truncated_total', 'Rendered titles and bodies cut at template_max_length');
  }

  /** The rendered title, or undefined when no title_template is configured. */
  renderTitle(p: NotificationPayload): string | undefined { return this.title && this.render(this.title, p); }
  /** The rendered body, or undefined when no body_template is configured. */
  renderBody(p: NotificationPayload): string | undefined { return this.body && this.render(this.body, p); }

  private render(nodes: ReturnType<typeof parseTemplate>, p: NotificationPayload): string {
    const r = renderTemplate(nodes, { ...p, tags: p.event.tags, attributes: p.event.attributes }, this.how, this.c.template_max_length);
    if (r.truncated) this.truncated?.inc(1, { notifier: this.notifier });
    return r.text;
  }
}

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
