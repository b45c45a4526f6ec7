import { z } from 'zod';
import { curveSchema, loadConfig, type LoadOptions } from '../core/config.js';
import { agentConfigSchema } from '../agent/config.js';
import { checkAlertingReferences } from '../server/alerts/config.js';
import { serverConfigSchema } from '../server/config.js';
import { etsyStatsdConfigSchema, statsdConfigSchema } from '../statsd/config.js';
import { isEtsyConfigFile, readEtsyFile } from '../statsd/etsy-file.js';

/**
 * The whole configuration file: one section per daemon, each read by its own
 * daemon (PRODUCT.md, Configuration). Assembled here, the composition root,
 * because core must not import daemon code. Only the schemas are imported, so
 * that `blick agent` does not load the server's HTTP and SQLite code.
 */
const blickSections = z.strictObject({
  data_dir: z.string().default('./.blick'),
  server: serverConfigSchema.prefault({}),
  agent: agentConfigSchema.prefault({}),
  statsd: statsdConfigSchema.prefault({}),
  curve: curveSchema.optional(),
});
// cross-references (route → notifier, globs → rules), with the line of each
const references = (c: { server: z.output<typeof serverConfigSchema> }, ctx: z.RefinementCtx) => checkAlertingReferences(c.server, ctx, ['server']);
export const blickConfigSchema = blickSections.superRefine(references);

export type BlickConfig = z.output<typeof blickConfigSchema>;

export function loadBlickConfig(file: string | undefined, options?: LoadOptions): BlickConfig {
  return loadConfig(file, blickConfigSchema, options);
}

/** An Etsy config file as the `statsd:` section of an otherwise default configuration. */
const etsyFileSchema = blickSections.extend({ statsd: etsyStatsdConfigSchema.prefault({}) }).superRefine(references);

/**
 * The configuration of `blick statsd --config FILE`: Blick's YAML, or an Etsy
 * statsd config file (`/etc/statsd/config.js`, see isEtsyConfigFile) read as
 * Etsy reads it, which becomes the `statsd:` section; `BLICK_*` overrides
 * apply to both (BLICK_STATSD_UPSTREAMS, BLICK_DATA_DIR).
 */
export function loadStatsdConfig(file: string, options?: LoadOptions): BlickConfig {
  if (!isEtsyConfigFile(file, options?.text)) return loadBlickConfig(file, options);
  const etsy = readEtsyFile(file);
  // a Blick configuration written as JSON is all sections (mappings); Etsy's `server: "./servers/tcp"` is not
  const entries = Object.entries(etsy.value as object);
  const sections = entries.length > 0 && entries.every(([k, v]) => k in blickSections.shape && (k === 'data_dir' || (v !== null && typeof v === 'object')));
  if (sections) return loadBlickConfig(file, options);
  return loadConfig(file, etsyFileSchema, {
    ...options,
    parsed: { value: { statsd: etsy.value }, lineOf: (path) => (path[0] === 'statsd' ? etsy.lineOf(path.slice(1)) : 1) },
  });
}
