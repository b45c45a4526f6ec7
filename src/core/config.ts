import { readFileSync } from 'node:fs';
import { parseDocument, LineCounter, isAlias, isMap, isSeq, isScalar, parse as parseYaml, visit, type Document } from 'yaml';
import { z } from 'zod';
import { BlickError } from './errors.js';
import { parseDuration } from './duration.js';

/** A duration string (`500ms`, `10s`, `5m`) or seconds, validated and turned into milliseconds.
 * Give defaults with `.prefault("10s")` (parsed) rather than `.default()` (zod 4 skips parsing defaults). */
export const zDuration = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const ms = parseDuration(v);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `"${v}" is not a duration (use e.g. 500ms, 10s, 5m, 1h)` });
    return z.NEVER;
  }
  return ms;
});

/** host:port (host optional → 0.0.0.0). */
export const zHostPort = z.string().regex(/^(\[[0-9a-fA-F:]+\]|[^:\s]*):\d{1,5}$/, 'must be host:port, e.g. 127.0.0.1:8080');

/**
 * A ZeroMQ tcp/ipc endpoint, or for an upstream `srv+tcp://NAME`: the DNS SRV
 * record NAME names the servers to connect to (src/transport/discovery.ts).
 */
export const zEndpoint = z.string().regex(/^((tcp|ipc|inproc):\/\/\S+|srv\+tcp:\/\/(?=[^\s]{1,253}$)([A-Za-z0-9_-]{1,63}\.)*[A-Za-z0-9_-]{1,63}\.?)$/, 'must be a ZeroMQ endpoint, e.g. tcp://127.0.0.1:5556, or srv+tcp://_blick._tcp.example.net');

/** An endpoint a socket binds: a ZeroMQ endpoint (an SRV record names servers to connect to, not an address to bind). */
export const zBindEndpoint = zEndpoint.refine((e) => !e.startsWith('srv+tcp://'), 'srv+tcp:// names upstreams to connect to; bind a tcp:// address, e.g. tcp://0.0.0.0:5556');

/** The optional CURVE section (PRODUCT.md, Transport). */
export const curveSchema = z.strictObject({
  secret_key_file: z.string().optional(),
  public_key_file: z.string().optional(),
  server_public_key_file: z.string().optional(),
  allow: z.array(z.string().length(40, 'must be a Z85 public key of 40 characters'))
    .min(1, 'an empty allow list would refuse every producer; list the public keys of the producers that may send, or remove "allow" to admit any producer that knows the server key')
    .optional(),
});
export type CurveConfig = z.infer<typeof curveSchema>;

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  /** YAML text instead of reading `file` (still reported under `file`). */
  text?: string;
  /** A document already parsed from another format (an Etsy statsd config.js), with the line of each key path. */
  parsed?: { value: unknown; lineOf(path: (string | number)[]): number | undefined };
}

function unwrap(schema: z.ZodType): z.ZodType {
  let s: any = schema;
  for (let i = 0; i < 10; i++) {
    const def = s?._zod?.def ?? s?.def;
    if (!def) break;
    if (def.type === 'optional' || def.type === 'default' || def.type === 'nullable' || def.type === 'prefault' || def.type === 'catch' || def.type === 'readonly') { s = def.innerType; continue; }
    if (def.type === 'pipe') { s = def.in; continue; }
    break;
  }
  return s;
}

function objectShape(schema: z.ZodType): Record<string, z.ZodType> | undefined {
  const s: any = unwrap(schema);
  const def = s?._zod?.def ?? s?.def;
  return def?.type === 'object' ? (def.shape as Record<string, z.ZodType>) : undefined;
}

function isStringSchema(schema: z.ZodType): boolean {
  const s: any = unwrap(schema);
  const def = s?._zod?.def ?? s?.def;
  return def?.type === 'string';
}

/**
 * Map `BLICK_<SECTION>_<KEY>` to a path in the schema, matching the longest key
 * at each level (`BLICK_STATSD_FLUSH_INTERVAL` → statsd.flush_interval).
 */
export function envPath(name: string, schema: z.ZodType): { path: string[]; leaf: z.ZodType } | undefined {
  const words = name.toLowerCase().split('_');
  const path: string[] = [];
  let current: z.ZodType = schema;
  let i = 0;
  while (i < words.length) {
    const shape = objectShape(current);
    if (!shape) return undefined;
    let found = false;
    for (let j = words.length; j > i; j--) {
      const key = words.slice(i, j).join('_');
      if (key in shape) { path.push(key); current = shape[key]!; i = j; found = true; break; }
    }
    if (!found) return undefined;
  }
  return { path, leaf: current };
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let o: Record<string, unknown> = target;
  for (let i = 0; i < path.length - 1; i++) {
    const k = path[i]!;
    if (o[k] === null || typeof o[k] !== 'object' || Array.isArray(o[k])) o[k] = {};
    o = o[k] as Record<string, unknown>;
  }
  o[path[path.length - 1]!] = value;
}

function lineOf(doc: Document | undefined, lc: LineCounter, path: (string | number)[]): number | undefined {
  if (!doc) return undefined;
  // walk down as far as the path exists: a missing key is reported at its parent
  for (let n = path.length; n >= 0; n--) {
    const node: any = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
    if (node && node.range) return lc.linePos(node.range[0]).line;
    // a key whose value is null has no node; find the pair's key instead
    if (n > 0) {
      const parent: any = n === 1 ? doc.contents : doc.getIn(path.slice(0, n - 1), true);
      if (isMap(parent)) {
        const pair: any = parent.items.find((p: any) => isScalar(p.key) && p.key.value === path[n - 1]);
        if (pair?.key?.range) return lc.linePos(pair.key.range[0]).line;
      } else if (isSeq(parent)) { /* fall through to parent */ }
    }
  }
  return undefined;
}

/**
 * Alias expansions allowed in one file: a real configuration needs a handful;
 * nested aliases ("billion laughs") would otherwise expand without bound.
 */
export const MAX_YAML_ALIASES = 100;

function toJS(doc: Document, lc: LineCounter, label: string): unknown {
  try {
    return doc.toJS({ maxAliasCount: MAX_YAML_ALIASES }) ?? {};
  } catch (err) {
    let line: number | undefined;
    visit(doc, { Alias: (_k, node) => { if (isAlias(node) && node.range) { line = lc.linePos(node.range[0]).line; return visit.BREAK; } return undefined; } });
    throw new BlickError('CONFIG_INVALID', `${label}:${line ?? 1}: YAML aliases expand beyond ${MAX_YAML_ALIASES} references (${(err as Error).message}); write the values out instead of nesting aliases`, { cause: err });
  }
}

/**
 * Load a daemon configuration: YAML file → `BLICK_*` environment overrides →
 * zod validation with defaults. On any error throws BlickError(CONFIG_INVALID)
 * whose message names the file, the line and the key of every problem.
 */
export function loadConfig<S extends z.ZodType>(file: string | undefined, schema: S, options: LoadOptions = {}): z.output<S> {
  const env = options.env ?? process.env;
  const lc = new LineCounter();
  let doc: Document | undefined;
  let raw: unknown = {};
  const label = file ?? '(defaults)';
  if (options.parsed) {
    raw = options.parsed.value;
  } else if (file !== undefined || options.text !== undefined) {
    let text: string;
    try {
      text = options.text ?? readFileSync(file!, 'utf8');
    } catch (err) {
      throw new BlickError('CONFIG_UNREADABLE', `${label}: cannot read the configuration file: ${(err as Error).message}`, { cause: err });
    }
    doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
    if (doc.errors.length > 0) {
      const msgs = doc.errors.map((e) => `${label}:${lc.linePos(e.pos[0]).line}: YAML syntax error: ${e.message.split("\n")[0]}`);
      throw new BlickError('CONFIG_INVALID', msgs.join('\n'));
    }
    raw = toJS(doc, lc, label);
    if (typeof raw !== 'object' || Array.isArray(raw)) {
      throw new BlickError('CONFIG_INVALID', `${label}:1: the configuration must be a YAML mapping of sections (server:, agent:, …)`);
    }
  }
  const overridden: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('BLICK_') || value === undefined) continue;
    if (name === 'BLICK_LOG_LEVEL' || name === 'BLICK_CONFIG' || name === 'BLICK_TOKEN' || name === 'BLICK_URL') continue;
    const target = envPath(name.slice('BLICK_'.length), schema);
    if (!target) continue; // unknown names belong to other daemons or tools
    let v: unknown = value;
    if (!isStringSchema(target.leaf)) {
      try { v = parseYaml(value); } catch { v = value; }
    }
    setPath(raw as Record<string, unknown>, target.path, v);
    overridden.push(target.path.join('.'));
  }
  const result = schema.safeParse(raw);
  if (!result.success) {
    const lineAt = (path: (string | number)[]) => (options.parsed ? options.parsed.lineOf(path) : lineOf(doc, lc, path));
    const msgs = result.error.issues.map((iss) => {
      const path = iss.path.map((p) => (typeof p === 'symbol' ? String(p) : p)) as (string | number)[];
      const key = path.join('.') || '(top level)';
      const fromEnv = overridden.find((o) => key === o || key.startsWith(o + '.'));
      if (fromEnv) return `${label}: key ${key} (from environment BLICK_${fromEnv.replace(/\./g, '_').toUpperCase()}): ${iss.message}`;
      const line = lineAt(path);
      let msg = iss.message;
      if (iss.code === 'unrecognized_keys') msg = `unknown key${iss.keys.length > 1 ? 's' : ''} ${iss.keys.map((k) => `"${k}"`).join(', ')}`;
      const keyText = iss.code === 'unrecognized_keys' && path.length === 0 ? iss.keys.join(', ') : key;
      const unknownLine = iss.code === 'unrecognized_keys' ? lineAt([...path, iss.keys[0]!]) : line;
      return `${label}:${unknownLine ?? line ?? '?'}: key ${keyText}: ${msg}`;
    });
    throw new BlickError('CONFIG_INVALID', msgs.join('\n'));
  }
  return result.data;
}
