import { z } from 'zod';
import { zDuration } from '../../core/config.js';
import { STATES } from '../../core/event.js';
import { glob } from '../../core/glob.js';
import { rulesSchema, SEVERITIES, zGlobs } from '../rules/config.js';
import { notifiersSchema } from '../notifiers/index.js';

/** The labels of an alert that routes, inhibitions and silences match. */
export const LABELS = ['rule', 'host', 'service', 'severity', 'state', 'tags'] as const;
export type Label = (typeof LABELS)[number];

/** Globs per label; `tags` matches when any tag matches. */
export const zLabelMatch = z.strictObject({
  rule: zGlobs.optional(),
  host: zGlobs.optional(),
  service: zGlobs.optional(),
  severity: zGlobs.optional(),
  state: zGlobs.optional(),
  tags: zGlobs.optional(),
});
export type LabelMatch = z.output<typeof zLabelMatch>;

/**
 * A route (`server.routes[]`), Alertmanager's semantics: the first matching
 * route takes the alert unless it says `continue: true`. Alerts with equal
 * `group_by` labels form a group: its first notification waits `group_wait`,
 * later ones at least `group_interval`; a firing alert is repeated every
 * `repeat_interval`. Defaults are event-driven (group_wait 0s, group_interval 5s).
 */
export const routeSchema = z.strictObject({
  match: zLabelMatch.prefault({}),
  notify: z.array(z.string().min(1)).min(1),
  group_by: z.array(z.enum(['rule', 'host', 'service', 'severity', 'state'])).default(['rule', 'host', 'service']),
  group_wait: zDuration.prefault('0s'),
  group_interval: zDuration.prefault('5s'),
  repeat_interval: zDuration.prefault('4h'),
  continue: z.boolean().default(false),
});
export type RouteConfig = z.output<typeof routeSchema>;

/** An inhibition (`server.inhibit[]`): a firing source alert mutes target alerts with equal labels. */
export const inhibitSchema = z.strictObject({
  source_match: zLabelMatch,
  target_match: zLabelMatch.prefault({}),
  equal: z.array(z.enum(['rule', 'host', 'service', 'severity', 'state'])).default(['host']),
});
export type InhibitConfig = z.output<typeof inhibitSchema>;

/**
 * The alerting keys of the `server:` section. Schemas only: the server's config
 * (and so `blick agent` and `check-config`) loads this without the alerting runtime.
 */
export const alertingConfigKeys = {
  rules: rulesSchema,
  routes: z.array(routeSchema).default([]),
  inhibit: z.array(inhibitSchema).default([]),
  notifiers: notifiersSchema,
};

/** What {@link checkAlertingReferences} reads: the parsed alerting keys of a `server:` section. */
export interface AlertingReferences {
  rules: readonly { name: string }[];
  routes: readonly { match: LabelMatch; notify: readonly string[] }[];
  inhibit: readonly { source_match: LabelMatch; target_match: LabelMatch }[];
  notifiers: Readonly<Record<string, unknown>>;
}

/**
 * Check every name one alerting key gives another: a route's notifiers, and the
 * rule, severity and state globs of routes and inhibitions (a glob matching no
 * rule, severity or state would route or mute nothing, silently). Issues go to
 * `ctx` at `path` + the offending key, so the loader reports FILE:LINE.
 */
export function checkAlertingReferences(c: AlertingReferences, ctx: z.RefinementCtx, path: (string | number)[]): void {
  const notifiers = Object.keys(c.notifiers);
  const known = { rule: c.rules.map((r) => r.name), severity: [...SEVERITIES], state: [...STATES] as string[] };
  const checkMatch = (m: LabelMatch, at: (string | number)[]) => {
    for (const label of ['rule', 'severity', 'state'] as const) {
      const g = m[label];
      if (g === undefined) continue;
      (typeof g === 'string' ? [g] : g).forEach((pattern, i) => {
        if (known[label].some(glob(pattern))) return;
        const listed = known[label].length ? known[label].join(', ') : 'none configured';
        ctx.addIssue({ code: 'custom', path: [...at, label, ...(typeof g === 'string' ? [] : [i])], message: `"${pattern}" matches no ${label}${label === 'rule' ? ' in server.rules' : ''} (${listed})` });
      });
    }
  };
  c.routes.forEach((r, i) => {
    r.notify.forEach((n, j) => {
      if (!notifiers.includes(n)) ctx.addIssue({ code: 'custom', path: [...path, 'routes', i, 'notify', j], message: `names notifier "${n}", which is not in server.notifiers (${notifiers.join(', ') || 'none configured'})` });
    });
    checkMatch(r.match, [...path, 'routes', i, 'match']);
  });
  c.inhibit.forEach((r, i) => {
    checkMatch(r.source_match, [...path, 'inhibit', i, 'source_match']);
    checkMatch(r.target_match, [...path, 'inhibit', i, 'target_match']);
  });
}
