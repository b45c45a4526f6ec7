import type { ClassificationSource, DerivedCheck, DerivedKind, DesiredResource, DesiredState } from './types.js';

/** The order in which sources win when two derive the same check (docs/classification.md). */
export const SOURCE_ORDER: readonly ClassificationSource[] = ['puppet-catalog', 'puppetdb', 'chef'];

const RUNNING = new Set(['running', 'true', 'start', 'started']);
const STOPPED = new Set(['stopped', 'false', 'stop']);
const MOUNTED = new Set(['mounted', 'defined', 'present']);
const FILE = new Set(['file', 'present']);
const INSTALLED = new Set(['installed', 'present', 'latest']);
/** ensure values of a Package that are not a version */
const NOT_A_VERSION = new Set(['absent', 'purged', 'held', 'disabled', 'false']);

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v.trim().toLowerCase() : typeof v === 'boolean' ? String(v) : undefined);

/** `demo` → `demo.service`; a title with a dot (`demo.socket`, `getty@tty1.service`) is taken as the unit. */
export function unitOf(title: string): string { return title.includes('.') ? title : `${title}.service`; }

/** What one resource derives: its kind and target, or undefined (Cron, absent resources, unknown types). */
function kindOf(r: DesiredResource): { kind: DerivedKind; target: string; service: string } | undefined {
  const ensure = str(r.parameters.ensure);
  switch (r.type) {
    case 'Service': {
      // Chef maps action :start/:enable to ensure running (chef/ does that); an enable-only
      // Puppet service says nothing about whether it runs now
      if (ensure === undefined) return undefined;
      const unit = unitOf(r.title);
      if (RUNNING.has(ensure)) return { kind: 'service-running', target: unit, service: `systemd ${unit}` };
      if (STOPPED.has(ensure)) return { kind: 'service-stopped', target: unit, service: `systemd ${unit}` };
      return undefined;
    }
    case 'Mount': {
      const m = typeof r.parameters.name === 'string' && r.parameters.name.startsWith('/') ? r.parameters.name : r.title;
      return ensure === undefined || MOUNTED.has(ensure) ? { kind: 'mount', target: m, service: `disk ${m}` } : undefined;
    }
    case 'File': {
      const f = typeof r.parameters.path === 'string' && r.parameters.path.startsWith('/') ? r.parameters.path : r.title;
      return ensure !== undefined && FILE.has(ensure) && f.startsWith('/') ? { kind: 'file', target: f, service: `file ${f}` } : undefined;
    }
    case 'Package': {
      const p = typeof r.parameters.name === 'string' && r.parameters.name !== '' ? r.parameters.name : r.title;
      if (ensure === undefined || INSTALLED.has(ensure) || (!NOT_A_VERSION.has(ensure) && /^[0-9a-z]/.test(ensure) && /\d/.test(ensure))) {
        return { kind: 'package', target: p, service: `package ${p}` };
      }
      return undefined;
    }
    default:
      return undefined; // Cron and the rest: kept in the classification, no check
  }
}

/** `Service[demo]`: how Puppet names a resource, and how an alert names it. */
export function resourceRef(r: Pick<DesiredResource, 'type' | 'title'>): string { return `${r.type}[${r.title}]`; }

/** The checks one source's desired state derives, one per service name (the first resource wins). */
export function deriveChecks(state: Omit<DesiredState, 'host'>): DerivedCheck[] {
  const out = new Map<string, DerivedCheck>();
  for (const r of state.resources) {
    const k = kindOf(r);
    if (!k || out.has(k.service)) continue;
    out.set(k.service, {
      ...k,
      origin: {
        source: state.source,
        ...(state.origin.catalog !== undefined ? { catalog: state.origin.catalog } : {}),
        ...(state.origin.version !== undefined ? { version: state.origin.version } : {}),
        resource: resourceRef(r),
        ...(r.file !== undefined ? { file: r.file } : {}),
        ...(r.line !== undefined ? { line: r.line } : {}),
      },
    });
  }
  return [...out.values()];
}

/**
 * The union of what several sources derive for one host: a check two sources
 * derive appears once, from the first in {@link SOURCE_ORDER}.
 */
export function unionDerived(bySource: ReadonlyMap<ClassificationSource, readonly DerivedCheck[]>): DerivedCheck[] {
  const out = new Map<string, DerivedCheck>();
  for (const s of SOURCE_ORDER) for (const d of bySource.get(s) ?? []) if (!out.has(d.service)) out.set(d.service, d);
  return [...out.values()];
}

/** `Service[demo] (/etc/puppet/code/site.pp:3)`: the origin as a description names it. */
export function describeOrigin(o: DerivedCheck['origin']): string {
  const at = o.file === undefined ? '' : o.line === undefined ? ` (${o.file})` : ` (${o.file}:${o.line})`;
  return `${o.resource}${at}`;
}
