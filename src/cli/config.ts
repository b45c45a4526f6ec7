import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { curveSchema, loadConfig, type LoadOptions } from '../core/config.js';
import { agentConfigSchema } from '../agent/config.js';
import { checkAlertingReferences } from '../server/alerts/config.js';
import { withClassificationRules } from '../server/classification/rules.js';
import { serverConfigSchema } from '../server/config.js';
import { etsyStatsdConfigSchema, statsdConfigSchema } from '../statsd/config.js';
import { isEtsyConfigFile, readEtsyFile } from '../statsd/etsy-file.js';

/**
 * The whole configuration file: one section per daemon, each read by its own
 * daemon (PRODUCT.md, Configuration). Assembled here, the composition root,
 * because core must not import daemon code. Only the schemas are imported, so
 * that `blick agent` does not load the server's HTTP and SQLite code.
 */
/**
 * The `client:` section, or a client-only file with these keys at the top
 * (~/.config/blick/client.yaml): how the client commands reach the server
 * (src/cli/target.ts). Paths are relative to the working directory, as
 * everywhere in the file.
 */
export const clientConfigSchema = z.strictObject({
  url: z.string().regex(/^https?:\/\/\S+$/, 'must be an http:// or https:// URL, e.g. https://blick.example.org').optional(),
  token: z.string().min(1).optional(),
  /** a file holding the token (its first line): keeps the secret out of a file others may read */
  token_file: z.string().min(1).optional(),
  /** PEM certificate(s) to trust for an https:// url with a private CA */
  ca: z.string().min(1).optional(),
}).refine((c) => c.token === undefined || c.token_file === undefined, 'give token: or token_file:, not both');
export type ClientConfig = z.output<typeof clientConfigSchema>;

const CLIENT_KEYS = new Set(['url', 'token', 'token_file', 'ca']);

/** A client-only file: a mapping whose keys are all client keys (an empty file is one too). */
export function isClientOnlyDocument(doc: unknown): boolean {
  if (doc === null || doc === undefined) return true;
  return typeof doc === 'object' && !Array.isArray(doc) && Object.keys(doc).every((k) => CLIENT_KEYS.has(k));
}

/** `blick check-config FILE`: is FILE a (non-empty) client-only file? Unreadable or not YAML: no, the daemon path reports it. */
export function isClientOnlyFile(file: string): boolean {
  try {
    const doc: unknown = parseYaml(readFileSync(file, 'utf8'), { logLevel: 'error' });
    return doc !== null && typeof doc === 'object' && Object.keys(doc).length > 0 && isClientOnlyDocument(doc);
  } catch { return false; }
}

/** Validate a client-only file (flags and BLICK_URL/BLICK_TOKEN/BLICK_CA are applied by the caller, in their order). */
export function loadClientOnlyConfig(file: string, text?: string): ClientConfig {
  return loadConfig(file, clientConfigSchema, { env: {}, ...(text !== undefined ? { text } : {}) });
}

const blickSections = z.strictObject({
  data_dir: z.string().default('./.blick'),
  server: serverConfigSchema.prefault({}),
  agent: agentConfigSchema.prefault({}),
  statsd: statsdConfigSchema.prefault({}),
  curve: curveSchema.optional(),
  client: clientConfigSchema.optional(),
});
// cross-references (route → notifier, globs → rules), with the line of each
// (the built-in `classified` and `never-seen` rules count: routes and silences may name them)
const references = (c: { server: z.output<typeof serverConfigSchema> }, ctx: z.RefinementCtx) =>
  checkAlertingReferences({ ...c.server, rules: withClassificationRules(c.server.rules, c.server.classification) }, ctx, ['server']);
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
