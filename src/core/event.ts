import { BlickError } from './errors.js';
import { ulid } from './ids.js';

/** The states of a check, in order of severity (Sensu's statuses). */
export const STATES = ['ok', 'warning', 'critical', 'unknown'] as const;
export type State = (typeof STATES)[number];
export const SOURCES = ['agent', 'relay', 'statsd', 'snmp', 'api', 'server'] as const;
export type Source = (typeof SOURCES)[number];

/** Severity order used for "worst state": critical > warning > unknown > ok. */
export const SEVERITY: Record<State, number> = { ok: 0, unknown: 1, warning: 2, critical: 3 };

/**
 * The one event type every Blick component speaks (see PRODUCT.md, "The event").
 * Construct it with {@link makeEvent}, which validates and fills defaults.
 */
export interface BlickEvent {
  id: string;
  host: string;
  service: string;
  state?: State;
  metric?: number;
  description: string;
  tags: string[];
  attributes: Record<string, string>;
  /** unix milliseconds, set by the producer */
  time: number;
  /** seconds; when set and no newer event arrives by time+ttl, the server emits `expired` */
  ttl?: number;
  source: Source;
}

/** What a producer may hand to {@link makeEvent}: host/service required, the rest optional. */
export interface EventInput {
  id?: string | undefined;
  host: string;
  service: string;
  state?: string | undefined | null;
  metric?: number | undefined | null;
  description?: string | undefined | null;
  tags?: readonly string[] | undefined | null;
  attributes?: Record<string, string> | undefined | null;
  time?: number | undefined | null;
  ttl?: number | undefined | null;
  source?: string | undefined | null;
}

/** Hard limits on one event; anything larger is rejected, not truncated. */
export const EVENT_LIMITS = {
  idLength: 64,
  hostLength: 255,
  serviceLength: 1024,
  descriptionLength: 32 * 1024,
  tags: 64,
  tagLength: 256,
  attributes: 64,
  attributeKeyLength: 128,
  attributeValueLength: 8 * 1024,
  maxTtlSeconds: 366 * 86400,
} as const;

const STATE_SET = new Set<string>(STATES);
const SOURCE_SET = new Set<string>(SOURCES);

function invalid(field: string, why: string): never {
  throw new BlickError('EVENT_INVALID', `event field "${field}" ${why}`);
}

/**
 * The validating constructor of {@link BlickEvent}.
 * - `id` defaults to a new ULID, `time` to `defaults.now()`, `source` to `defaults.source`.
 * - throws BlickError(EVENT_INVALID) naming the field on anything malformed.
 *
 * @example makeEvent({ host: 'web-01', service: 'disk /var', metric: 93.5 }, { source: 'agent' })
 */
export function makeEvent(input: EventInput, defaults: { source?: Source; now?: () => number } = {}): BlickEvent {
  if (input === null || typeof input !== 'object') invalid('event', 'must be an object');
  const { host, service } = input;
  if (typeof host !== 'string' || host.length === 0) invalid('host', 'is required (a non-empty string)');
  if (host.length > EVENT_LIMITS.hostLength) invalid('host', `is longer than ${EVENT_LIMITS.hostLength}`);
  if (typeof service !== 'string' || service.length === 0) invalid('service', 'is required (a non-empty string)');
  if (service.length > EVENT_LIMITS.serviceLength) invalid('service', `is longer than ${EVENT_LIMITS.serviceLength}`);

  let id = input.id;
  if (id === undefined || id === null || id === '') id = ulid();
  else if (typeof id !== 'string' || id.length > EVENT_LIMITS.idLength) invalid('id', `must be a string of at most ${EVENT_LIMITS.idLength} characters`);

  const ev: BlickEvent = {
    id,
    host,
    service,
    description: '',
    tags: [],
    attributes: {},
    time: 0,
    source: defaults.source ?? 'api',
  };

  const state = input.state;
  if (state !== undefined && state !== null && state !== '') {
    if (typeof state !== 'string' || !STATE_SET.has(state)) invalid('state', `must be one of ${STATES.join(', ')}`);
    ev.state = state as State;
  }
  const metric = input.metric;
  if (metric !== undefined && metric !== null) {
    if (typeof metric !== 'number' || Number.isNaN(metric)) invalid('metric', 'must be a number');
    ev.metric = metric;
  }
  const description = input.description;
  if (description !== undefined && description !== null) {
    if (typeof description !== 'string') invalid('description', 'must be a string');
    if (description.length > EVENT_LIMITS.descriptionLength) invalid('description', `is longer than ${EVENT_LIMITS.descriptionLength}`);
    ev.description = description;
  }
  const tags = input.tags;
  if (tags !== undefined && tags !== null) {
    if (!Array.isArray(tags)) invalid('tags', 'must be an array of strings');
    if (tags.length > EVENT_LIMITS.tags) invalid('tags', `has more than ${EVENT_LIMITS.tags} entries`);
    for (const t of tags) {
      if (typeof t !== 'string' || t.length > EVENT_LIMITS.tagLength) invalid('tags', `entries must be strings of at most ${EVENT_LIMITS.tagLength} characters`);
    }
    ev.tags = tags.slice();
  }
  const attrs = input.attributes;
  if (attrs !== undefined && attrs !== null) {
    if (typeof attrs !== 'object' || Array.isArray(attrs)) invalid('attributes', 'must be a map of strings');
    let n = 0;
    const out: Record<string, string> = {};
    for (const k in attrs) {
      if (!Object.prototype.hasOwnProperty.call(attrs, k)) continue;
      const v = attrs[k];
      if (++n > EVENT_LIMITS.attributes) invalid('attributes', `has more than ${EVENT_LIMITS.attributes} entries`);
      if (k.length > EVENT_LIMITS.attributeKeyLength) invalid('attributes', `key "${k.slice(0, 32)}…" is too long`);
      if (typeof v !== 'string') invalid(`attributes.${k}`, 'must be a string');
      if (v.length > EVENT_LIMITS.attributeValueLength) invalid(`attributes.${k}`, `is longer than ${EVENT_LIMITS.attributeValueLength}`);
      out[k] = v;
    }
    ev.attributes = out;
  }
  const time = input.time;
  if (time !== undefined && time !== null && time !== 0) {
    if (typeof time !== 'number' || !Number.isFinite(time) || time < 0) invalid('time', 'must be unix milliseconds');
    ev.time = Math.trunc(time);
  } else {
    ev.time = (defaults.now ?? Date.now)();
  }
  const ttl = input.ttl;
  if (ttl !== undefined && ttl !== null && ttl !== 0) {
    if (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl < 0 || ttl > EVENT_LIMITS.maxTtlSeconds) invalid('ttl', 'must be a number of seconds');
    ev.ttl = ttl;
  }
  const source = input.source;
  if (source !== undefined && source !== null && source !== '') {
    if (typeof source !== 'string' || !SOURCE_SET.has(source)) invalid('source', `must be one of ${SOURCES.join(', ')}`);
    ev.source = source as Source;
  }
  return ev;
}

/** The worse of two states (undefined counts as nothing known). */
export function worseState(a: State | undefined, b: State | undefined): State | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return SEVERITY[b] > SEVERITY[a] ? b : a;
}

/** The service under which agents report their host's facts (attributes = the facts). */
export const FACTS_SERVICE = 'facts';
