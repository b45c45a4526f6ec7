import { BlickError } from '../../../core/errors.js';
import { EVENT_LIMITS, makeEvent } from '../../../core/event.js';
import { flattenFacts } from '../flatten.js';
import type { DesiredResource, DesiredState } from '../types.js';

/**
 * Chef Infra Client's data-collector messages, read as Chef publishes them
 * (chef/chef docs/dev/design_documents/data_collector.md, "Run Start Schema"
 * and "Run End Schema"; lib/chef/data_collector/run_end_message.rb): a
 * `run_start` when a run begins and a `run_converge` (message_version 1.1.0)
 * when it ends, with every resource's action record. Only what Blick uses is
 * read; every other field is ignored, so later message versions still parse.
 */

/** What one data-collector message says, in Blick's terms. */
export type ChefMessage =
  | { type: 'run_start'; host: string; runId: string; time: number }
  | {
    type: 'run_converge';
    host: string;
    runId: string;
    status: 'success' | 'failure';
    /** the run's end (else its start, else now), unix ms */
    time: number;
    /** one line saying why a failed run failed */
    error?: string;
    /** the node's desired state (source chef), resources in Puppet's shape */
    state: DesiredState;
    /** resource records of types Blick derives nothing from, or skipped by a guard */
    ignored: number;
  };

export interface ChefParseOptions {
  /** resource records one run_converge may carry; more is a 413 */
  maxResources: number;
  /** facts kept from the node's automatic attributes */
  maxFacts: number;
  now: () => number;
}

/** Bounds of the strings read from a message: a resource's title as the server keeps it; longer ones are ignored. */
const MAX_NAME = 1024;
/** A record whose name or id is longer than this is not a Chef resource (PATH_MAX is 4096). */
const MAX_RECORD_NAME = 64 * 1024;
const MAX_ROLES = 1000;
const MAX_PARAM_VALUE = 1024;
const MAX_ERROR = 1024;

function bad(message: string): never {
  throw new BlickError('BAD_REQUEST', `data-collector message: ${message}`);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);

/** An ISO time of the message (`2014-06-05T10:34:35Z`) in unix ms, or undefined. */
function isoTime(v: unknown): number | undefined {
  if (typeof v !== 'string') return undefined;
  const t = Date.parse(v);
  return Number.isFinite(t) && t >= 0 ? t : undefined;
}

/** node_name is the host of the node's checks: the event rules apply (length, no control characters). */
function hostOf(v: unknown): string {
  if (typeof v !== 'string' || v.length === 0) bad('node_name is required (a non-empty string)');
  // the server keeps desired state for hosts without spaces (schema.ts zClassifiedHost)
  if (/\s/.test(v)) bad(`node_name ${JSON.stringify(v.slice(0, 100))} has spaces`);
  try { makeEvent({ host: v, service: 'chef run' }); } catch (err) {
    bad(`node_name ${JSON.stringify(v.slice(0, 100))}: ${(err as Error).message.replace(/^event field "host" /, '')}`);
  }
  return v;
}

function runIdOf(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string' || v.length > EVENT_LIMITS.idLength * 2) bad(`run_id must be a string of at most ${EVENT_LIMITS.idLength * 2} characters`);
  return v;
}

/** Chef's resource types → Puppet's, for the types checks are derived from. */
const PACKAGE_TYPES = new Set(['package', 'apt_package', 'dpkg_package', 'yum_package', 'dnf_package', 'rpm_package', 'zypper_package']);
const FILE_TYPES = new Set(['file', 'template', 'cookbook_file', 'remote_file']);

type Kind = 'Service' | 'Package' | 'File' | 'Mount' | 'Cron';
function puppetType(chefType: string): Kind | undefined {
  if (chefType === 'service' || chefType === 'systemd_unit') return 'Service';
  if (PACKAGE_TYPES.has(chefType)) return 'Package';
  if (FILE_TYPES.has(chefType) || chefType === 'directory') return 'File';
  if (chefType === 'mount') return 'Mount';
  if (chefType === 'cron' || chefType === 'cron_d') return 'Cron';
  return undefined;
}

/** The property each type's identity is (what `id` holds), read from `after` when `id` is not usable. */
const IDENTITY: Record<Kind, string> = { Service: 'service_name', Package: 'package_name', File: 'path', Mount: 'mount_point', Cron: 'name' };

/** The titles a record stands for: its identity; a multi-package resource (`package %w(a b)`) is one per package. */
function titlesOf(kind: Kind, rec: Record<string, unknown>): string[] {
  const after = isObject(rec.after) ? rec.after : {};
  const prop = after[IDENTITY[kind]];
  if (kind === 'Package' && Array.isArray(prop) && prop.every((p) => typeof p === 'string' && p.length > 0)) return prop as string[];
  const id = str(rec.id);
  // run_end_message.rb reports a lazy identity it could not evaluate as "unknown identity (due to …)"
  if (id !== undefined && !id.startsWith('unknown identity')) return [id];
  return [str(prop) ?? (rec.name as string)];
}

/** The Puppet `ensure` (and `enable`) the actions of one resource amount to; undefined when they assert nothing (`:nothing`). */
function ensureOf(kind: Kind, chefType: string, actions: string[]): Record<string, unknown> | undefined {
  const has = (...a: string[]) => actions.some((x) => a.includes(x));
  const last = (map: Record<string, string>) => {
    let out: string | undefined;
    for (const a of actions) if (map[a] !== undefined) out = map[a];
    return out;
  };
  switch (kind) {
    case 'Service': {
      // start/stop say what runs now; enable/disable what starts at boot, and stand for it when alone
      const now = last({ start: 'running', restart: 'running', reload: 'running', stop: 'stopped' });
      const boot = last({ enable: 'true', disable: 'false' });
      const ensure = now ?? (boot === 'true' ? 'running' : boot === 'false' ? 'stopped' : undefined);
      if (!ensure) return undefined;
      return boot === undefined ? { ensure } : { ensure, enable: boot === 'true' };
    }
    case 'Package': {
      const ensure = last({ install: 'installed', upgrade: 'latest', remove: 'absent', purge: 'purged' });
      return ensure ? { ensure } : undefined;
    }
    case 'File': {
      const ensure = last(chefType === 'directory' ? { create: 'directory', delete: 'absent' } : { create: 'file', create_if_missing: 'file', touch: 'file', delete: 'absent' });
      return ensure ? { ensure } : undefined;
    }
    case 'Mount': {
      if (has('mount', 'remount')) return { ensure: 'mounted' };
      const ensure = last({ enable: 'defined', umount: 'unmounted', disable: 'absent' });
      return ensure ? { ensure } : undefined;
    }
    case 'Cron': {
      const ensure = last({ create: 'present', delete: 'absent' });
      return ensure ? { ensure } : undefined;
    }
  }
}

/** Scalar properties of `after` worth keeping beside ensure (what a cron runs, a file's owner). */
const KEPT: Partial<Record<Kind, string[]>> = {
  Cron: ['command', 'user', 'minute', 'hour', 'day', 'month', 'weekday'],
  File: ['owner', 'group', 'mode'],
  Mount: ['device', 'fstype'],
  Package: ['version'],
};

interface Pending { kind: Kind; chefType: string; title: string; name: string; actions: string[]; after: Record<string, unknown>; cookbook?: string; recipe?: string }

/**
 * The resources of a run_converge in Puppet's shape. Chef reports one action
 * record per action (`action [:enable, :start]` is two), so records of one
 * resource are merged; records skipped by a guard (`not_if`, `only_if`) say
 * nothing about the desired state and are left out.
 */
function resourcesOf(list: unknown, maxResources: number): { resources: DesiredResource[]; ignored: number } {
  if (!Array.isArray(list)) bad('resources must be an array');
  if (list.length > maxResources) {
    throw new BlickError('BATCH_TOO_LARGE', `data-collector message: ${list.length} resources, more than server.chef.max_resources (${maxResources}); the node's last run is kept`);
  }
  const byKey = new Map<string, Pending>();
  let ignored = 0;
  list.forEach((rec: unknown, i) => {
    if (!isObject(rec)) bad(`resources[${i}] must be an object`);
    const type = rec.type, name = rec.name;
    if (typeof type !== 'string' || type.length === 0 || type.length > 256) bad(`resources[${i}].type must be a non-empty string`);
    if (typeof name !== 'string' || name.length > MAX_RECORD_NAME) bad(`resources[${i}].name must be a string of at most ${MAX_RECORD_NAME} characters`);
    if (rec.id !== undefined && (typeof rec.id !== 'string' || rec.id.length > MAX_RECORD_NAME)) bad(`resources[${i}].id must be a string of at most ${MAX_RECORD_NAME} characters`);
    const kind = puppetType(type);
    if (!kind || rec.status === 'skipped') { ignored++; return; }
    const action = typeof rec.result === 'string' ? rec.result : '';
    const after = isObject(rec.after) ? rec.after : {};
    for (const title of titlesOf(kind, rec)) {
      if (title.length === 0) bad(`resources[${i}]: the ${type} resource has no usable name`);
      if (title.length > MAX_NAME) { ignored++; continue; }
      const key = `${type}\u0000${title}`;
      let p = byKey.get(key);
      if (!p) {
        p = { kind, chefType: type, title, name, actions: [], after: {} };
        const cookbook = str(rec.cookbook_name), recipe = str(rec.recipe_name);
        if (cookbook) p.cookbook = cookbook;
        if (recipe) p.recipe = recipe;
        byKey.set(key, p);
      }
      if (action && !p.actions.includes(action)) p.actions.push(action);
      if (Object.keys(after).length > 0) p.after = after;
    }
  });
  const resources: DesiredResource[] = [];
  for (const p of byKey.values()) {
    const ensure = ensureOf(p.kind, p.chefType, p.actions);
    if (!ensure) { ignored++; continue; }
    const parameters: Record<string, unknown> = { ...ensure };
    for (const k of KEPT[p.kind] ?? []) {
      const v = p.after[k];
      if ((typeof v === 'string' && v.length <= MAX_PARAM_VALUE) || typeof v === 'number' || typeof v === 'boolean') parameters[k] = v;
    }
    const r: DesiredResource = {
      type: p.kind, title: p.title, parameters,
      chef: { type: p.chefType, name: p.name, actions: p.actions, ...(p.cookbook ? { cookbook: p.cookbook } : {}), ...(p.recipe ? { recipe: p.recipe } : {}) },
    };
    // Chef reports no line; the recipe is the nearest thing to Puppet's manifest file
    if (p.cookbook) r.file = `${p.cookbook}::${p.recipe ?? 'default'}`;
    resources.push(r);
  }
  return { resources, ignored };
}

/** The role and recipe names of the expanded run list (`{ id, run_list: [{ type, name, children? }] }`), depth-first. */
function walkRunList(items: unknown, roles: Set<string>, recipes: Set<string>, depth = 0): void {
  if (!Array.isArray(items) || depth > 16) return;
  for (const it of items) {
    if (!isObject(it) || typeof it.name !== 'string') continue;
    if (it.type === 'role') roles.add(it.name);
    else if (it.type === 'recipe') recipes.add(it.name);
    walkRunList(it.children, roles, recipes, depth + 1);
  }
}

/**
 * Chef roles, then recipes as `recipe[name]`: from the node's automatic
 * attributes (`roles`, `recipes`, what the run expanded to), the expanded
 * run list and the run list (`role[web]`).
 */
function rolesOf(msg: Record<string, unknown>, node: Record<string, unknown>): string[] {
  const roles = new Set<string>(), recipes = new Set<string>();
  const automatic = isObject(node.automatic) ? node.automatic : {};
  for (const [key, into] of [['roles', roles], ['recipes', recipes]] as const) {
    const v = automatic[key];
    if (Array.isArray(v)) for (const x of v) if (typeof x === 'string' && x.length > 0) into.add(x);
  }
  if (isObject(msg.expanded_run_list)) walkRunList(msg.expanded_run_list.run_list, roles, recipes);
  const runList = Array.isArray(msg.run_list) ? msg.run_list : Array.isArray(node.run_list) ? node.run_list : [];
  for (const item of runList) {
    const m = typeof item === 'string' ? /^(role|recipe)\[(.+)\]$/.exec(item) : null;
    if (m) (m[1] === 'role' ? roles : recipes).add(m[2]!);
  }
  const out = [...roles, ...[...recipes].map((r) => `recipe[${r}]`)];
  return out.filter((r) => r.length <= 256).slice(0, MAX_ROLES);
}

/** The node's automatic attributes (Ohai's facts) and its environment, flattened, at most `max`. */
function factsOf(node: Record<string, unknown>, max: number): Record<string, string> {
  const env = str(node.chef_environment);
  const facts: Record<string, string> = env && max > 0 ? { chef_environment: env } : {};
  return isObject(node.automatic) ? flattenFacts(Object.entries(node.automatic), max, facts) : facts;
}

/** One line for a failed run: Chef's error class and message, and the resource that failed. */
function errorOf(msg: Record<string, unknown>, resources: unknown): string {
  const e = isObject(msg.error) ? msg.error : {};
  const desc = isObject(e.description) ? str(e.description.title) : undefined;
  const cls = str(e.class), message = str(e.message);
  let out = [cls, message].filter(Boolean).join(': ') || desc || 'the Chef run failed (no error in the message)';
  if (Array.isArray(resources)) {
    const failed = resources.find((r) => isObject(r) && r.status === 'failed') as Record<string, unknown> | undefined;
    if (failed && typeof failed.type === 'string' && typeof failed.name === 'string') {
      const where = str(failed.cookbook_name) ? ` (${failed.cookbook_name as string}::${str(failed.recipe_name) ?? 'default'})` : '';
      out = `${failed.type}[${failed.name}]${where}: ${out}`;
    }
  }
  out = out.replace(/\s+/g, ' ').trim();
  return out.length > MAX_ERROR ? `${out.slice(0, MAX_ERROR)}…` : out;
}

/**
 * Read one data-collector message (JSON already parsed). Throws BlickError
 * BAD_REQUEST naming the field for what Chef would never send (no node_name,
 * resources not a list, a resource without type or name), BATCH_TOO_LARGE for
 * more than `maxResources` resource records.
 */
export function parseChefMessage(body: unknown, opts: ChefParseOptions): ChefMessage {
  if (!isObject(body)) bad('the body must be a JSON object');
  const type = body.message_type;
  if (type !== 'run_start' && type !== 'run_converge') {
    bad(`message_type ${JSON.stringify(typeof type === 'string' ? type.slice(0, 64) : type)} is not run_start or run_converge`);
  }
  const node = isObject(body.node) ? body.node : {};
  const host = hostOf(body.node_name ?? node.name);
  const runId = runIdOf(body.run_id ?? body.id);
  const start = isoTime(body.start_time);
  if (type === 'run_start') return { type, host, runId, time: start ?? opts.now() };
  const status = body.status;
  if (status !== 'success' && status !== 'failure') bad(`status ${JSON.stringify(status)} is not success or failure`);
  const time = isoTime(body.end_time) ?? start ?? opts.now();
  const { resources, ignored } = resourcesOf(body.resources, opts.maxResources);
  const fqdn = str(body.chef_server_fqdn), org = str(body.organization_name);
  const environment = str(node.chef_environment) ?? str(body.policy_group);
  const state: DesiredState = {
    host, source: 'chef',
    origin: {
      catalog: fqdn ? `https://${fqdn}${org ? `/organizations/${org}` : ''}` : (str(body.source) ?? 'chef'),
      ...(runId ? { version: runId } : {}),
      ...(environment ? { environment } : {}),
      time,
    },
    classes: [],
    roles: rolesOf(body, node),
    resources,
    facts: factsOf(node, opts.maxFacts),
  };
  return { type, host, runId, status, time, state, ignored, ...(status === 'failure' ? { error: errorOf(body, body.resources) } : {}) };
}
