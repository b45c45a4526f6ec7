import { DERIVING_TYPES, type DesiredResource, type DesiredState } from '../../server/classification/types.js';

/** What the agent PUTs to `/api/v1/hosts/:host/classification`: a DesiredState without `host` (the path names it). */
export type ClassificationUpload = Omit<DesiredState, 'host'>;

/** Why a catalog was refused; `reason` labels the metric. */
export class CatalogError extends Error {
  constructor(readonly reason: 'json' | 'shape' | 'too-large' | 'too-many-resources', message: string) { super(message); }
}

/** Classes every catalog has that say nothing about the node. */
const IMPLICIT_CLASSES = new Set(['settings', 'main']);
const SENT_TYPES = new Set<string>(DERIVING_TYPES);
const MAX_TITLE = 4096;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Parses a Puppet 7 catalog (the JSON `puppet agent` caches under
 * client_data/catalog/, format 1 or 2: `resources[]` with type, title,
 * parameters, file, line, tags) into what the server is sent: the classes
 * (resources of type Class, lower case, without Settings and main) and the
 * Service, Package, File, Mount and Cron resources. Throws {@link CatalogError}
 * on anything that is not such a catalog.
 *
 * @example parseCatalog(text, { path: '/var/lib/puppet/client_data/catalog/web-01.json', mtimeMs, maxResources: 10_000 })
 */
export function parseCatalog(text: string, opts: { path: string; mtimeMs: number; maxResources: number }): ClassificationUpload {
  let doc: unknown;
  try { doc = JSON.parse(text); } catch (err) { throw new CatalogError('json', `not JSON: ${(err as Error).message}`); }
  if (!isRecord(doc)) throw new CatalogError('shape', 'a catalog is a JSON object');
  // Puppet 3 wrapped the catalog in { document_type: "Catalog", data: {...} }
  const cat = isRecord(doc.data) && doc.document_type === 'Catalog' ? doc.data : doc;
  if (!Array.isArray(cat.resources)) throw new CatalogError('shape', 'the catalog has no resources array');
  const classes = new Set<string>();
  const resources: DesiredResource[] = [];
  for (const [i, r] of (cat.resources as unknown[]).entries()) {
    if (!isRecord(r) || typeof r.type !== 'string' || (typeof r.title !== 'string' && typeof r.title !== 'number')) {
      throw new CatalogError('shape', `resources[${i}] has no string type and title`);
    }
    const title = String(r.title);
    if (title.length === 0 || title.length > MAX_TITLE) throw new CatalogError('shape', `resources[${i}] has an empty or over-long title`);
    if (r.type === 'Class') {
      const name = title.toLowerCase();
      if (!IMPLICIT_CLASSES.has(name)) classes.add(name);
      continue;
    }
    if (!SENT_TYPES.has(r.type)) continue;
    if (r.parameters !== undefined && !isRecord(r.parameters)) throw new CatalogError('shape', `${r.type}[${title}] has parameters that are not an object`);
    const res: DesiredResource = { type: r.type, title, parameters: (r.parameters as Record<string, unknown> | undefined) ?? {} };
    if (typeof r.file === 'string' && r.file.length > 0) res.file = r.file;
    if (typeof r.line === 'number' && Number.isInteger(r.line) && r.line > 0) res.line = r.line;
    resources.push(res);
    if (resources.length > opts.maxResources) throw new CatalogError('too-many-resources', `more than ${opts.maxResources} Service, Package, File, Mount and Cron resources (agent.puppet.max_resources)`);
  }
  const origin: ClassificationUpload['origin'] = { catalog: opts.path, time: Math.round(opts.mtimeMs) };
  if (typeof cat.version === 'string' || typeof cat.version === 'number') origin.version = String(cat.version);
  if (typeof cat.environment === 'string') origin.environment = cat.environment;
  return { source: 'puppet-catalog', origin, classes: [...classes].sort(), roles: [], resources };
}
