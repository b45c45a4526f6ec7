import { z } from 'zod';
import { zDuration } from '../../core/config.js';
import { compileExpr, ExprError, RULE_NAMES } from './expr.js';
import { compileAggregate } from './aggregate.js';

/** One glob or a list of globs. */
export const zGlobs = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]);

/** An expression of the rule language, checked when the configuration loads: syntax and every name. */
export const zExpr = z.string().min(1).superRefine((s, ctx) => {
  try { compileExpr(s, { names: RULE_NAMES }); } catch (err) {
    ctx.addIssue({ code: 'custom', message: err instanceof ExprError ? err.message : String(err) });
  }
});

/** An aggregate expression (`count(state == "critical") >= 3`), checked at load: syntax, functions and names. */
export const zAggregate = z.string().min(1).superRefine((s, ctx) => {
  try { compileAggregate(s); } catch (err) {
    ctx.addIssue({ code: 'custom', message: err instanceof ExprError ? err.message : String(err) });
  }
});

/** Alert severities, as routes and silences match them. */
export const SEVERITIES = ['critical', 'warning', 'info'] as const;
export type Severity = (typeof SEVERITIES)[number];

/**
 * One alert rule (`server.rules[]`, PRODUCT.md "Rules and notifications").
 * A rule matches events by globs and raises an alert per host+service while its
 * condition holds: `when` (an expression), `expired` (ttl ran out),
 * `state_change` (a non-ok state was entered), or `flapping`.
 */
export const ruleSchema = z.strictObject({
  name: z.string().min(1).max(200).regex(/^[^\s]+$/, 'rule names have no spaces'),
  match: z.strictObject({
    host: zGlobs.optional(),
    service: zGlobs.optional(),
    /** every glob must match one of the event's tags */
    tags: zGlobs.optional(),
  }).prefault({}),
  /** e.g. `metric > 90`, `state in ["warning","critical"]`, `rate > 100` */
  when: zExpr.optional(),
  /** the condition must hold this long before the alert fires [0s] */
  for: zDuration.prefault('0s'),
  /** fire when the server expires the check (its ttl ran out) */
  expired: z.boolean().default(false),
  /** window of `rate` (per-second increase, counter resets handled) and `derivative` in `when`; of an aggregate: its events within it count */
  window: zDuration.optional(),
  /**
   * One alert for the group of matching checks: count, sum, avg, min, max,
   * percent over the members, e.g. `count(state == "critical") >= 3`.
   */
  aggregate: zAggregate.optional(),
  /** an aggregate keeps at most this many members; more are refused, counted in blick_rule_aggregate_limited_total [10000] */
  max_members: z.number().int().positive().default(10_000),
  /** an aggregate with a window keeps at most this many events; the oldest go first, counted [100000] */
  max_window_events: z.number().int().positive().default(100_000),
  /** estimated bytes an aggregate keeps (members and window) [16 MiB] */
  max_bytes: z.number().int().positive().default(16 * 1024 * 1024),
  /** fire when the check enters a non-ok state, re-notify on every change, resolve on ok */
  state_change: z.boolean().default(false),
  /** Nagios flap detection over the last 21 states: start above `high` %, stop below `low` % */
  flapping: z.union([z.boolean(), z.strictObject({
    low: z.number().min(0).max(100).default(20),
    high: z.number().min(0).max(100).default(30),
  })]).optional(),
  /** default: the event's state when warning or critical, else critical (warning for flapping) */
  severity: z.enum(SEVERITIES).optional(),
  /** text for notifications instead of the event's description */
  description: z.string().optional(),
  /** `description`: notify again while firing when the event's description changes (a second, different error) */
  renotify_on: z.enum(['description']).optional(),
}).superRefine((r, ctx) => {
  const kinds = [r.when !== undefined && !r.expired && !r.state_change, r.expired, r.state_change, !!r.flapping, r.aggregate !== undefined].filter(Boolean).length;
  if (kinds === 0) ctx.addIssue({ code: 'custom', message: `rule "${r.name}" needs a condition: when, expired, state_change, flapping or aggregate` });
  if (r.aggregate !== undefined && kinds > 1) ctx.addIssue({ code: 'custom', path: ['aggregate'], message: `rule "${r.name}": aggregate excludes when, expired, state_change and flapping (filter members with match, conditions inside the functions)` });
  if ([r.expired, r.state_change, !!r.flapping].filter(Boolean).length > 1) ctx.addIssue({ code: 'custom', message: `rule "${r.name}": expired, state_change and flapping exclude each other` });
  const reads = r.when === undefined ? new Set<string>() : namesOf(r.when);
  if (reads.has('previous_state') && !r.state_change) ctx.addIssue({ code: 'custom', path: ['when'], message: `rule "${r.name}" reads previous_state, which only state_change rules have (add state_change: true)` });
  if ((reads.has('rate') || reads.has('derivative')) && r.window === undefined) ctx.addIssue({ code: 'custom', path: ['window'], message: `rule "${r.name}" uses rate/derivative: set window (e.g. window: 1m)` });
  if (typeof r.flapping === 'object' && r.flapping.low >= r.flapping.high) ctx.addIssue({ code: 'custom', path: ['flapping'], message: 'flapping.low must be below flapping.high' });
});

function namesOf(src: string): ReadonlySet<string> {
  try { return compileExpr(src).names; } catch { return new Set(); } // zExpr reports the error
}

export type RuleConfig = z.output<typeof ruleSchema>;

export const rulesSchema = z.array(ruleSchema).default([]).superRefine((rules, ctx) => {
  const seen = new Set<string>();
  rules.forEach((r, i) => {
    if (seen.has(r.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `rule name "${r.name}" is used twice` });
    seen.add(r.name);
  });
});
