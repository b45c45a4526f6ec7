import { z } from 'zod';
import { emailSchema, EmailNotifier } from './email/index.js';
import { execSchema, ExecNotifier } from './exec/index.js';
import { logSchema, LogNotifier } from './log/index.js';
import type { Notifier, NotifierDeps, RetryPolicy } from './notifier.js';
import { opsgenieSchema, OpsgenieNotifier } from './opsgenie/index.js';
import { pagerdutySchema, PagerDutyNotifier } from './pagerduty/index.js';
import { slackSchema, SlackNotifier } from './slack/index.js';
import { webhookSchema, WebhookNotifier } from './webhook/index.js';

export type { Notifier, RetryPolicy } from './notifier.js';

/** One entry of `server.notifiers` (a map name → config), discriminated by `type`. */
export const notifierConfigSchema = z.discriminatedUnion('type', [webhookSchema, slackSchema, emailSchema, execSchema, logSchema, pagerdutySchema, opsgenieSchema]);
export type NotifierConfig = z.output<typeof notifierConfigSchema>;
export const notifiersSchema = z.record(z.string().regex(/^[A-Za-z0-9_.-]+$/, 'notifier names are letters, digits, _ . -'), notifierConfigSchema).default({});

/** The built-in notifiers: an explicit name → factory map. */
const FACTORIES: { [T in NotifierConfig['type']]: (name: string, c: Extract<NotifierConfig, { type: T }>, deps: NotifierDeps) => Notifier } = {
  webhook: (name, c, deps) => new WebhookNotifier(name, c, deps),
  slack: (name, c, deps) => new SlackNotifier(name, c, deps),
  email: (name, c, deps) => new EmailNotifier(name, c, deps),
  exec: (name, c, deps) => new ExecNotifier(name, c, deps),
  log: (name, c, deps) => new LogNotifier(name, c, deps),
  pagerduty: (name, c, deps) => new PagerDutyNotifier(name, c, deps),
  opsgenie: (name, c, deps) => new OpsgenieNotifier(name, c, deps),
};

/** Build a configured notifier with its retry policy. */
export function createNotifier(name: string, c: NotifierConfig, deps: NotifierDeps): { notifier: Notifier; policy: RetryPolicy } {
  const notifier = (FACTORIES[c.type] as (n: string, c: NotifierConfig, d: NotifierDeps) => Notifier)(name, c, deps);
  return { notifier, policy: { timeout: c.timeout, initial: c.retry.initial, max: c.retry.max, giveUpAfter: c.retry.give_up_after } };
}
