import { z } from 'zod';
import { zDuration } from '../../core/config.js';
import { templateProblem } from './naming.js';

/** The `server.graphite:` section (docs/configuration.md). */
export const graphiteForwardSchema = z.strictObject({
  /** carbon's address */
  host: z.string().min(1),
  /** [2003 with plaintext, 2004 with pickle] */
  port: z.number().int().min(1).max(65535).optional(),
  protocol: z.enum(['plaintext', 'pickle']).default('plaintext'),
  /** first path components; may hold dots */
  prefix: z.string().regex(/^([A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*)?$/, 'must be Graphite path components (A-Z a-z 0-9 _ -) joined by dots').default('blick'),
  /** the path of a point; {host} and {service} are sanitised to one path component each */
  template: z.string().superRefine((t, ctx) => {
    const why = templateProblem(t);
    if (why) ctx.addIssue({ code: 'custom', message: why });
  }).default('{prefix}.{host}.{service}'),
  /** how often waiting points are sent */
  flush_interval: zDuration.refine((ms) => ms > 0, 'must be longer than 0').prefault('1s'),
  reconnect_min: zDuration.prefault('100ms'),
  reconnect_max: zDuration.prefault('30s'),
  /** points held while carbon is unreachable; the oldest are dropped beyond it */
  max_queue_points: z.number().int().min(1).default(100_000),
  /** bytes held while carbon is unreachable; the oldest are dropped beyond it */
  max_queue_bytes: z.number().int().min(1024).default(16 * 1024 * 1024),
});
