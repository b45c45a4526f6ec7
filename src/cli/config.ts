import { z } from 'zod';
import { curveSchema, loadConfig, type LoadOptions } from '../core/config.js';
import { agentConfigSchema } from '../agent/config.js';
import { checkAlertingReferences } from '../server/alerts/config.js';
import { serverConfigSchema } from '../server/config.js';
import { statsdConfigSchema } from '../statsd/config.js';

/**
 * The whole configuration file: one section per daemon, each read by its own
 * daemon (PRODUCT.md, Configuration). Assembled here, the composition root,
 * because core must not import daemon code. Only the schemas are imported, so
 * that `blick agent` does not load the server's HTTP and SQLite code.
 */
export const blickConfigSchema = z.strictObject({
  data_dir: z.string().default('./.blick'),
  server: serverConfigSchema.prefault({}),
  agent: agentConfigSchema.prefault({}),
  statsd: statsdConfigSchema.prefault({}),
  curve: curveSchema.optional(),
}).superRefine((c, ctx) => checkAlertingReferences(c.server, ctx, ['server'])); // cross-references, with the line of each

export type BlickConfig = z.output<typeof blickConfigSchema>;

export function loadBlickConfig(file: string | undefined, options?: LoadOptions): BlickConfig {
  return loadConfig(file, blickConfigSchema, options);
}
