import { z } from 'zod';
import { zDuration } from '../../../core/config.js';

const STATES = ['ok', 'warning', 'critical', 'unknown'] as const;

const zRegExp = z.string().min(1).refine((p) => { try { new RegExp(p); return true; } catch { return false; } }, 'is not a valid regular expression');

/** One followed file and the regular expression that makes a line an event. */
export const logPatternEntrySchema = z.strictObject({
  /** the log file to follow (rotation and truncation are handled) */
  path: z.string().min(1),
  /** a JavaScript regular expression; named groups become attributes, a group named `metric` the metric */
  pattern: zRegExp,
  /** regular expression flags, e.g. `i` */
  flags: z.string().regex(/^[imsu]*$/, 'only the flags i, m, s, u are allowed').default(''),
  /** the event's service (default `log <path>`) */
  service: z.string().min(1).optional(),
  /** the event's state (default warning) */
  state: z.enum(STATES).default('warning'),
  /** after this long with no new match, send an ok event for the service (default: never) */
  resolve_after: zDuration.optional(),
  /** a line matching this (and not `pattern`) sends an ok event at once (same flags) */
  ok_pattern: zRegExp.optional(),
  /** read the file from the beginning on start instead of only new lines (default false) */
  from_beginning: z.boolean().default(false),
  tags: z.array(z.string()).default([]),
});

/** `agent.log_patterns`: a list of files and patterns. */
export const logPatternSchema = z.array(logPatternEntrySchema);
export type LogPatternEntry = z.output<typeof logPatternEntrySchema>;
