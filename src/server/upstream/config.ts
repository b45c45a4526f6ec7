import { z } from 'zod';
import { STATES } from '../../core/event.js';
import { spoolConfigSchema } from '../../transport/config.js';

/**
 * `server.forward`: which events a server with `server.upstreams` sends on,
 * and the spool that holds them while the upstream is away (src/server/upstream).
 */
export const forwardConfigSchema = z.strictObject({
  /** host globs; an event is forwarded when its host matches one (empty: every host) */
  hosts: z.array(z.string().min(1).max(1024)).max(1000).default([]),
  /** service globs (empty: every service) */
  services: z.array(z.string().min(1).max(1024)).max(1000).default([]),
  /** states (empty: any, and events without a state); with states, events without a state are not forwarded */
  states: z.array(z.enum(STATES)).default([]),
  /** the producer name of the server's own events upstream; default the machine's hostname */
  name: z.string().min(1).max(255).optional(),
  /** the on-disk spool under <data_dir>/spool/server-upstream */
  spool: spoolConfigSchema,
}).prefault({});
export type ForwardConfig = z.output<typeof forwardConfigSchema>;
