/**
 * Desired state: what configuration management says a node must be. The three
 * inputs (the agent's cached Puppet catalog, PuppetDB, Chef's data collector)
 * all hand the server a {@link DesiredState}; the server derives checks from it
 * ({@link DerivedCheck}) and hands them to the node's agent in its check set.
 *
 * Resources are in Puppet's shape whatever the source: a Chef `service[nginx]`
 * with action `:start` arrives as `{ type: 'Service', title: 'nginx',
 * parameters: { ensure: 'running' } }`, the Chef original kept in `chef`.
 */

/** Where a node's desired state came from. */
export type ClassificationSource = 'puppet-catalog' | 'puppetdb' | 'chef';

/** The resource types checks are derived from; others are kept but derive nothing. */
export const DERIVING_TYPES = ['Service', 'Package', 'File', 'Mount', 'Cron'] as const;

/** One resource of a catalog or a Chef run, in Puppet's shape. */
export interface DesiredResource {
  /** Puppet's capitalised type: Service, Package, File, Mount, Cron, … */
  type: string;
  /** the resource title: the unit, package, path or mount point */
  title: string;
  /** Puppet parameters (ensure, enable, …); for Chef, the mapped equivalents */
  parameters: Record<string, unknown>;
  /** the manifest (or recipe) file and line that declared it, when the source has them */
  file?: string;
  line?: number;
  /** for Chef: the original resource type, name and actions */
  chef?: { type: string; name: string; actions: string[]; cookbook?: string; recipe?: string };
}

/** What one source says of one node; replaces what that source said before. */
export interface DesiredState {
  host: string;
  source: ClassificationSource;
  origin: {
    /** the catalog file (agent), PuppetDB's URL, or the Chef server/organization */
    catalog?: string;
    /** the catalog version, PuppetDB catalog hash, or Chef run id */
    version?: string;
    environment?: string;
    /** when the source produced it, unix ms */
    time: number;
  };
  /** Puppet classes (lower case, `nginx`, `profile::web`) */
  classes: string[];
  /** Chef roles (and recipes as `recipe[cookbook::name]`) */
  roles: string[];
  resources: DesiredResource[];
  /** facts the source knows (PuppetDB facts, Chef automatic attributes), flattened */
  facts?: Record<string, string>;
}

/** What a derived check watches, and how the agent runs it. */
export type DerivedKind = 'service-running' | 'service-stopped' | 'mount' | 'file' | 'package';

/**
 * A check nobody wrote: derived from one resource. `service` is the name of the
 * check's events (`systemd demo.service`, `disk /srv`, `file /etc/motd`,
 * `package nginx`); the agent sets the attribute `derived_from` to `resource`.
 */
export interface DerivedCheck {
  kind: DerivedKind;
  /** the unit (`demo.service`), mount point, path or package name */
  target: string;
  service: string;
  origin: {
    source: ClassificationSource;
    catalog?: string;
    version?: string;
    /** `Service[demo]` */
    resource: string;
    file?: string;
    line?: number;
  };
}

/** Where the inputs (agent upload, PuppetDB poller, Chef endpoint) hand desired state. */
export interface DesiredStateSink {
  /** Replace what `state.source` says of `state.host`; resolves once stored. */
  update(state: DesiredState): Promise<void>;
  /** Hosts `source` no longer knows of (a node deactivated in PuppetDB): forget what it said. */
  forget(host: string, source: ClassificationSource): Promise<void>;
}
