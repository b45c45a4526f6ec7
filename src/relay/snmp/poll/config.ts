import { z } from 'zod';
import { zDuration } from '../../../core/config.js';

/** A dotted numeric OID (Debian ships no MIB files, so names are not resolved). */
const zOid = z.string().regex(/^\.?[0-2](\.\d{1,10}){1,127}$/, 'must be a numeric OID, e.g. .1.3.6.1.2.1.1.3.0').transform((s) => (s.startsWith('.') ? s.slice(1) : s));

/** USM authentication: the protocols net-snmp implements (RFC 3414, RFC 7860). */
const authSchema = z.strictObject({
  protocol: z.enum(['md5', 'sha', 'sha224', 'sha256', 'sha384', 'sha512']),
  // RFC 3414 11.2: a password shorter than 8 characters is refused by agents
  key: z.string().min(8, 'must be at least 8 characters (RFC 3414)').max(256),
});
/** USM privacy. DES needs Node's legacy OpenSSL provider and is weak: prefer aes. */
const privSchema = z.strictObject({
  protocol: z.enum(['des', 'aes', 'aes256b', 'aes256r']),
  key: z.string().min(8, 'must be at least 8 characters (RFC 3414)').max(256),
});

/** The v3 (USM) user a device is polled as; `auth` and `priv` as for the trap listener's users. */
export const snmpUserSchema = z.strictObject({
  name: z.string().min(1).max(32),
  auth: authSchema.optional(),
  priv: privSchema.optional(),
}).refine((u) => !u.priv || u.auth, { message: 'priv needs auth (USM has no privacy without authentication)', path: ['priv'] });

/** One arbitrary OID read each interval, with optional thresholds. */
export const oidConfigSchema = z.strictObject({
  oid: zOid,
  /** the event's service */
  service: z.string().min(1).max(256),
  /** state warning when the value is above this (below, with `below: true`) */
  warning: z.number().finite().optional(),
  /** state critical when the value is above this (below, with `below: true`) */
  critical: z.number().finite().optional(),
  /** thresholds are lower bounds (free disk, battery charge) [false] */
  below: z.boolean().default(false),
  /** the OID is a counter: report its rate per second, wrap and reset handled [false] */
  rate: z.boolean().default(false),
  /** multiply the value (or rate) by this, e.g. 8 for octets → bits [1] */
  scale: z.number().finite().default(1),
  /** put into the event's `unit` attribute */
  unit: z.string().max(32).optional(),
});
export type OidConfig = z.output<typeof oidConfigSchema>;

/**
 * One entry of `relay.snmp.devices`: an SNMP agent polled every `interval`.
 *
 * @example { host: sw-01, address: 10.0.0.2, version: 2c, community: public, interval: 30s, interfaces: true, oids: [] }
 */
export const deviceConfigSchema = z.strictObject({
  /** host of every event about this device */
  host: z.string().min(1).max(255),
  /** IP address or name of the agent */
  address: z.string().min(1).max(255),
  port: z.number().int().min(1).max(65535).default(161),
  /** 1, 2c or 3 (a YAML 1 or 3 reads as a number; both spellings are accepted) */
  version: z.union([z.literal(1), z.literal(3), z.enum(['1', '2c', '3'])]).default('2c').transform((v) => String(v) as '1' | '2c' | '3'),
  /** v1/v2c community */
  community: z.string().min(1).max(256).default('public'),
  /** v3 user (required with version 3) */
  user: snmpUserSchema.optional(),
  interval: zDuration.prefault('30s').refine((ms) => ms >= 100, 'must be at least 100ms'),
  /** wait this long for each answer before a retry */
  timeout: zDuration.prefault('5s').refine((ms) => ms >= 10 && ms <= 60_000, 'must be between 10ms and 60s'),
  /** resends of an unanswered request before the device counts as not answering */
  retries: z.number().int().min(0).max(10).default(1),
  /** read the interface table (state, traffic in bits/s, errors/s per interface) */
  interfaces: z.boolean().default(true),
  /** at most this many interfaces are read (the first by ifIndex); more are counted and skipped */
  max_interfaces: z.number().int().min(1).max(4096).default(64),
  /** interfaces to skip: globs on ifName (or ifDescr when the device has no ifName) */
  ignore_interfaces: z.array(z.string().min(1).max(256)).max(256).default([]),
  /** the service of an interface's state: `link <ifIndex>` (what a linkDown/linkUp trap names) or `link <ifName>` */
  link_service: z.enum(['index', 'name']).default('index'),
  /** arbitrary OIDs with thresholds */
  oids: z.array(oidConfigSchema).max(256).default([]),
}).superRefine((d, ctx) => {
  if (d.version === '3' && !d.user) ctx.addIssue({ code: 'custom', message: 'version 3 needs a user ({ name, auth: { protocol, key }, priv: { protocol, key } })', path: ['user'] });
  if (d.version !== '3' && d.user) ctx.addIssue({ code: 'custom', message: `user is only used with version 3 (this device is version ${d.version}: use community)`, path: ['user'] });
});
export type DeviceConfig = z.output<typeof deviceConfigSchema>;

/** `relay.snmp.devices`: hosts must be unique, since each device's checks are keyed by host. */
export const devicesConfigSchema = z.array(deviceConfigSchema).max(10_000).default([]).superRefine((list, ctx) => {
  const seen = new Set<string>();
  list.forEach((d, i) => {
    if (seen.has(d.host)) ctx.addIssue({ code: 'custom', message: `host "${d.host}" is polled twice; give each device its own host`, path: [i, 'host'] });
    seen.add(d.host);
  });
});

/** The default of `relay.snmp.max_in_flight`. */
export const DEFAULT_MAX_IN_FLIGHT = 16;

/**
 * `relay.snmp.max_in_flight`: how many devices are polled at once, whatever
 * their number; the rest wait their turn (each device at most once).
 */
export const maxInFlightSchema = z.number().int().min(1).max(1024).default(DEFAULT_MAX_IN_FLIGHT);
