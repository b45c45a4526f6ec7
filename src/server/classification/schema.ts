import { z } from 'zod';
import { EVENT_LIMITS } from '../../core/event.js';
import type { DesiredState } from './types.js';

const name = z.string().min(1).max(1024);

/** A host name of a classification: as an event's host (1 to 255 characters, no spaces or control characters). */
export const zClassifiedHost = z.string().min(1).max(EVENT_LIMITS.hostLength).regex(/^[^\s\u0000-\u001f\u007f]+$/, 'has spaces or control characters');

/** One resource, in Puppet's shape (types.ts DesiredResource). */
const resourceSchema = z.object({
  type: z.string().min(1).max(200),
  title: name,
  parameters: z.record(z.string(), z.unknown()).default({}),
  file: z.string().max(4096).optional(),
  line: z.number().int().nonnegative().optional(),
  chef: z.object({
    type: z.string(), name: z.string(), actions: z.array(z.string()),
    cookbook: z.string().optional(), recipe: z.string().optional(),
  }).optional(),
});

/**
 * What a source says of one host, without the host (the PUT body of
 * /api/v1/hosts/:host/classification; the sink adds the host). Unknown keys of
 * a resource are dropped, not refused: catalogs carry more than Blick reads.
 */
export const desiredStateBodySchema = z.strictObject({
  source: z.enum(['puppet-catalog', 'puppetdb', 'chef']),
  origin: z.object({
    catalog: z.string().max(4096).optional(),
    version: z.string().max(1024).optional(),
    environment: z.string().max(1024).optional(),
    time: z.number().int().nonnegative(),
  }),
  classes: z.array(name).max(100_000).default([]),
  roles: z.array(name).max(100_000).default([]),
  resources: z.array(resourceSchema).default([]),
  facts: z.record(z.string(), z.string()).optional(),
});

/** A whole {@link DesiredState}, as a sink takes it. */
export const desiredStateSchema = desiredStateBodySchema.extend({ host: zClassifiedHost });

/** The zod issues of a refused desired state as one line (at most a few issues). */
export function describeIssues(err: z.ZodError): string {
  const shown = err.issues.slice(0, 5).map((i) => `${i.path.join('.') || 'body'}: ${i.message}`);
  return shown.join('; ') + (err.issues.length > 5 ? `; and ${err.issues.length - 5} more` : '');
}

/** Parse a desired state; throws the zod error. */
export function parseDesiredState(input: unknown): DesiredState {
  return desiredStateSchema.parse(input) as DesiredState;
}
