import { z } from 'zod';

/** `relay.snmp.traps` (placeholder: the trap listener's work replaces this schema). */
export const trapsConfigSchema = z.strictObject({
  listen: z.string().default('0.0.0.0:1162'),
});
export type TrapsConfig = z.output<typeof trapsConfigSchema>;
