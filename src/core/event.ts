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

/** Sources a ZeroMQ producer may claim; `server` and `api` are only ever set by the server itself. */
export const PRODUCER_SOURCES: readonly Source[] = ['agent', 'relay', 'statsd', 'snmp'];

/** Bounds on an event's `time`, relative to the receiver's clock. */
export interface TimeBounds {
  /** how far ahead of now() a time may be before it is clamped, ms [5 min] */
  maxFutureSkewMs: number;
  /** times before this (unix ms) are clamped too [2000-01-01] */
  minTime: number;
}
export const DEFAULT_TIME_BOUNDS: TimeBounds = { maxFutureSkewMs: 5 * 60_000, minTime: Date.UTC(2000, 0, 1) };

/** The attribute that keeps a producer's clamped time (unix ms, as a decimal string). */
export const PRODUCER_TIME_ATTRIBUTE = 'producer_time';

/** How {@link makeEvent} fills defaults and which rules of the receiving edge it applies. */
export interface EventOptions {
  /** stamped when the event claims no source (and always with `sources: 'ignore'`) ['api'] */
  source?: Source;
  /** what a client may claim: a list (others are rejected) or 'ignore' (always `source`) [every source] */
  sources?: readonly Source[] | 'ignore';
  now?: () => number;
  /** clamp times outside these bounds to now(), keeping the original in `producer_time` [no bounds] */
  time?: TimeBounds;
  /** told about each clamped time (to count and log it) */
  onTimeClamped?: (event: BlickEvent, producerTime: number) => void;
}

// C0 controls (tab included), DEL and C1 controls: never part of a name, and NUL
// cannot travel in an environment variable (exec notifier).
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

declare global {
  // ES2024, present in Node 20; the project's lib is ES2023
  interface String { isWellFormed(): boolean; toWellFormed(): string }
}

function invalid(field: string, why: string): never {
  throw new BlickError('EVENT_INVALID', `event field "${field}" ${why}`);
}

/**
 * A name (host, service, tag, attribute key, id) must be well-formed UTF-16 and
 * free of control characters: SQLite stores UTF-8, so a lone surrogate would be
 * renamed to U+FFFD on the next start and collide with the original.
 */
function checkName(field: string, s: string): void {
  // one pass over the code units (names are short; this is the ingest hot path):
  // only a string with a surrogate or a control character takes the slow checks
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c < 0x7f) continue;
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) invalid(field, 'contains a control character');
    if ((c & 0xf800) === 0xd800) {
      if (!s.isWellFormed()) invalid(field, 'is not well-formed Unicode (a lone UTF-16 surrogate, or bytes that are not UTF-8)');
      if (CONTROL.test(s)) invalid(field, 'contains a control character');
      return;
    }
  }
}

/** Free text (description, attribute values): lone surrogates become U+FFFD. */
function text(s: string): string {
  return s.isWellFormed() ? s : s.toWellFormed();
}

/**
 * The validating constructor of {@link BlickEvent}, the one rule set of every edge.
 * - `id` defaults to a new ULID, `time` to `options.now()`, `source` to `options.source`.
 * - host, service, tags, attribute keys and id must be well-formed and free of
 *   control characters; lone surrogates in description and attribute values become U+FFFD.
 * - metric and ttl must be finite; with `options.time`, an out-of-bounds time is
 *   clamped to now() and the original kept in the `producer_time` attribute.
 * - throws BlickError(EVENT_INVALID) naming the field on anything malformed.
 *
 * @example makeEvent({ host: 'web-01', service: 'disk /var', metric: 93.5 }, { source: 'agent' })
 */
export function makeEvent(input: EventInput, options: EventOptions = {}): BlickEvent {
  if (input === null || typeof input !== 'object') invalid('event', 'must be an object');
  const { host, service } = input;
  if (typeof host !== 'string' || host.length === 0) invalid('host', 'is required (a non-empty string)');
  if (host.length > EVENT_LIMITS.hostLength) invalid('host', `is longer than ${EVENT_LIMITS.hostLength}`);
  checkName('host', host);
  if (typeof service !== 'string' || service.length === 0) invalid('service', 'is required (a non-empty string)');
  if (service.length > EVENT_LIMITS.serviceLength) invalid('service', `is longer than ${EVENT_LIMITS.serviceLength}`);
  checkName('service', service);

  let id = input.id;
  if (id === undefined || id === null || id === '') id = ulid();
  else if (typeof id !== 'string' || id.length > EVENT_LIMITS.idLength) invalid('id', `must be a string of at most ${EVENT_LIMITS.idLength} characters`);
  else checkName('id', id);

  const ev: BlickEvent = {
    id,
    host,
    service,
    description: '',
    tags: [],
    attributes: {},
    time: 0,
    source: options.source ?? 'api',
  };

  const state = input.state;
  if (state !== undefined && state !== null && state !== '') {
    if (typeof state !== 'string' || !STATE_SET.has(state)) invalid('state', `must be one of ${STATES.join(', ')}`);
    ev.state = state as State;
  }
  const metric = input.metric;
  if (metric !== undefined && metric !== null) {
    if (typeof metric !== 'number' || !Number.isFinite(metric)) invalid('metric', 'must be a finite number');
    ev.metric = metric;
  }
  const description = input.description;
  if (description !== undefined && description !== null) {
    if (typeof description !== 'string') invalid('description', 'must be a string');
    if (description.length > EVENT_LIMITS.descriptionLength) invalid('description', `is longer than ${EVENT_LIMITS.descriptionLength}`);
    ev.description = text(description);
  }
  const tags = input.tags;
  if (tags !== undefined && tags !== null) {
    if (!Array.isArray(tags)) invalid('tags', 'must be an array of strings');
    if (tags.length > EVENT_LIMITS.tags) invalid('tags', `has more than ${EVENT_LIMITS.tags} entries`);
    for (const t of tags) {
      if (typeof t !== 'string' || t.length > EVENT_LIMITS.tagLength) invalid('tags', `entries must be strings of at most ${EVENT_LIMITS.tagLength} characters`);
      checkName('tags', t);
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
      checkName('attributes', k);
      // assigning "__proto__" on a plain object would silently drop the entry
      if (k === '__proto__') invalid('attributes', 'key "__proto__" is reserved');
      if (typeof v !== 'string') invalid(`attributes.${k}`, 'must be a string');
      if (v.length > EVENT_LIMITS.attributeValueLength) invalid(`attributes.${k}`, `is longer than ${EVENT_LIMITS.attributeValueLength}`);
      out[k] = text(v);
    }
    ev.attributes = out;
  }
  const now = options.now ?? Date.now;
  const time = input.time;
  if (time !== undefined && time !== null && time !== 0) {
    if (typeof time !== 'number' || !Number.isFinite(time) || time < 0) invalid('time', 'must be unix milliseconds');
    ev.time = Math.trunc(time);
    const b = options.time;
    if (b !== undefined) {
      const t = now();
      if (ev.time > t + b.maxFutureSkewMs || ev.time < b.minTime) {
        // kept, not lost: an agent with a wrong clock must keep working
        ev.attributes = { ...ev.attributes, [PRODUCER_TIME_ATTRIBUTE]: String(ev.time) };
        const original = ev.time;
        ev.time = t;
        options.onTimeClamped?.(ev, original);
      }
    }
  } else {
    ev.time = now();
  }
  const ttl = input.ttl;
  if (ttl !== undefined && ttl !== null && ttl !== 0) {
    if (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl < 0 || ttl > EVENT_LIMITS.maxTtlSeconds) invalid('ttl', `must be a number of seconds (finite, at most ${EVENT_LIMITS.maxTtlSeconds})`);
    ev.ttl = ttl;
  }
  const source = input.source;
  const allowed = options.sources;
  if (allowed !== 'ignore' && source !== undefined && source !== null && source !== '') {
    if (typeof source !== 'string' || !SOURCE_SET.has(source)) invalid('source', `must be one of ${SOURCES.join(', ')}`);
    if (allowed !== undefined && !allowed.includes(source as Source)) invalid('source', `"${source}" may not be claimed here (allowed: ${allowed.join(', ')})`);
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
