import { z } from 'zod';
import { zDuration } from './config.js';

/**
 * One Nagios-plugin check as an agent runs it: an entry of `agent.checks`, and
 * (with `subscriptions`) of `server.checks`, which the server hands to agents in
 * their check set. Lives in core because both daemons parse it.
 */
export const checkConfigSchema = z.strictObject({
  /** the service name of the check's events */
  name: z.string().min(1),
  /** argv: the plugin and its arguments (no shell) */
  command: z.array(z.string()).min(1),
  interval: zDuration.prefault('30s'),
  timeout: zDuration.prefault('10s'),
  /** ttl of the check's events in seconds; default 3 × interval + timeout; 0 disables */
  ttl: z.number().nonnegative().optional(),
  /** state when the plugin exceeds its timeout (Nagios' service_check_timeout_state) */
  timeout_state: z.enum(['warning', 'critical', 'unknown']).default('critical'),
  tags: z.array(z.string()).default([]),
  env: z.record(z.string(), z.string()).optional(),
});
export type CheckConfig = z.output<typeof checkConfigSchema>;
