import { flattenFacts } from '../flatten.js';
import type { DesiredResource, DesiredState } from '../types.js';

/**
 * PuppetDB's v4 answers (nodes, resources, facts rows) read into a
 * DesiredState. Rows are JSON from the network: every field is checked, a
 * malformed row is left out, nothing here throws.
 */

/** Classes every catalog has, which subscribe a node to nothing. */
const IMPLICIT_CLASSES = new Set(['settings', 'main']);
/** Parameters kept per resource: the derived checks read ensure and enable; a File's content can be megabytes. */
const MAX_PARAMETER_JSON = 1024;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A node row of /pdb/query/v4/nodes, as far as the poller reads it. */
export interface NodeRow { certname: string; deactivated: string | null; expired: string | null; catalog_timestamp: string | null; facts_timestamp: string | null; catalog_environment: string | null }

export function nodeRow(v: unknown): NodeRow | undefined {
  if (!isObject(v) || typeof v.certname !== 'string' || v.certname.length === 0 || v.certname.length > 255) return undefined;
  const s = (x: unknown) => (typeof x === 'string' ? x : null);
  return { certname: v.certname, deactivated: s(v.deactivated), expired: s(v.expired), catalog_timestamp: s(v.catalog_timestamp), facts_timestamp: s(v.facts_timestamp), catalog_environment: s(v.catalog_environment) };
}

function parametersOf(v: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!isObject(v)) return out;
  for (const [k, p] of Object.entries(v)) {
    if (k === 'content') continue;
    const json = JSON.stringify(p); // undefined for undefined, a function
    if (json !== undefined && json.length <= MAX_PARAMETER_JSON) out[k] = p;
  }
  return out;
}

/**
 * One node's desired state (source puppetdb) from its resource and fact rows:
 * Class titles become lower-case classes (but Settings and main), the other
 * rows resources with file and line; a title longer than the server keeps is
 * left out.
 */
export function desiredStateOf(node: NodeRow, resourceRows: unknown[], factRows: unknown[], o: { url: string; maxFacts: number; now: () => number }): DesiredState {
  const classes: string[] = [];
  const resources: DesiredResource[] = [];
  for (const r of resourceRows) {
    if (!isObject(r) || typeof r.type !== 'string' || r.type.length === 0 || r.type.length > 200 || typeof r.title !== 'string' || r.title.length === 0 || r.title.length > 1024) continue;
    if (r.type === 'Class') {
      const name = r.title.toLowerCase();
      if (!IMPLICIT_CLASSES.has(name) && !classes.includes(name)) classes.push(name);
      continue;
    }
    const res: DesiredResource = { type: r.type, title: r.title, parameters: parametersOf(r.parameters) };
    if (typeof r.file === 'string' && r.file.length > 0 && r.file.length <= 4096) res.file = r.file;
    if (typeof r.line === 'number' && Number.isSafeInteger(r.line) && r.line >= 0) res.line = r.line;
    resources.push(res);
  }
  const facts = flattenFacts(factRows.flatMap((f): [string, unknown][] => (isObject(f) && typeof f.name === 'string' ? [[f.name, f.value]] : [])), o.maxFacts);
  const time = node.catalog_timestamp === null ? NaN : Date.parse(node.catalog_timestamp);
  return {
    host: node.certname, source: 'puppetdb',
    origin: {
      catalog: o.url,
      ...(node.catalog_timestamp !== null && node.catalog_timestamp.length <= 1024 ? { version: node.catalog_timestamp } : {}),
      ...(node.catalog_environment !== null && node.catalog_environment.length <= 1024 ? { environment: node.catalog_environment } : {}),
      time: Number.isFinite(time) && time >= 0 ? time : o.now(),
    },
    classes, roles: [], resources, facts,
  };
}
