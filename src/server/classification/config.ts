import { z } from 'zod';
import { checkConfigSchema } from '../../core/check-config.js';
import { zDuration } from '../../core/config.js';

/**
 * `server.classification`: the desired state the server keeps per host (from
 * the agent's catalog upload, PuppetDB, Chef) and the alerts it derives from it.
 */
export const classificationConfigSchema = z.strictObject({
  /** the `classified` (derived check not ok) and `never-seen` rules, on unless false */
  alert: z.boolean().default(true),
  /** hosts with a desired state; a new host beyond it is refused, counted in blick_classification_refused_total */
  max_hosts: z.number().int().min(1).default(10_000),
  /** resources one source may give one host (only Service, Package, File, Mount and Cron are kept) */
  max_resources: z.number().int().min(1).default(10_000),
  /** bytes of one source's desired state for one host, as JSON */
  max_state_bytes: z.number().int().min(1024).default(4 * 1024 * 1024),
  /** a host known to a source whose agent has not reported for this long (or never) raises `never seen`; 0 turns it off */
  never_seen_after: zDuration.prefault('1h'),
  /** GET …/checkset long-polls held at once; beyond it the request is answered 429 at once (blick_checkset_waits_refused_total) */
  max_waits: z.number().int().min(1).default(10_000),
}).prefault({});
export type ClassificationConfig = z.output<typeof classificationConfigSchema>;

/** One entry of `server.checks`: an agent check (agent.checks' fields) and the subscriptions that get it. */
export const serverCheckSchema = checkConfigSchema.extend({
  /** agents whose subscriptions (agent.subscriptions, Puppet classes, Chef roles, `host:<name>`) include one of these run it */
  subscriptions: z.array(z.string().min(1).regex(/^[^\s,]+$/, 'a subscription has no spaces or commas')).min(1),
});
export type ServerCheckConfig = z.output<typeof serverCheckSchema>;

/** `server.checks`: check names are unique (they name the events). */
export const serverChecksSchema = z.array(serverCheckSchema).default([]).superRefine((checks, ctx) => {
  const seen = new Set<string>();
  checks.forEach((c, i) => {
    if (seen.has(c.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `check name "${c.name}" is used twice in server.checks` });
    seen.add(c.name);
  });
});
