import { z } from 'zod';
import { curveSchema, loadConfig, type LoadOptions } from '../core/config.js';
import { agentConfigSchema } from '../agent/index.js';
import { serverConfigSchema } from '../server/index.js';
import { statsdConfigSchema } from '../statsd/index.js';

/**
 * The whole configuration file: one section per daemon, each read by its own
 * daemon (PRODUCT.md, Configuration). Assembled here, the composition root,
 * because core must not import daemon code.
 */
export const blickConfigSchema = z.strictObject({
  data_dir: z.string().default('./.blick'),
  server: serverConfigSchema.prefault({}),
  agent: agentConfigSchema.prefault({}),
  statsd: statsdConfigSchema.prefault({}),
  curve: curveSchema.optional(),
});

export type BlickConfig = z.output<typeof blickConfigSchema>;

export function loadBlickConfig(file: string | undefined, options?: LoadOptions): BlickConfig {
  return loadConfig(file, blickConfigSchema, options);
}
