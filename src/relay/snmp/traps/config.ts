import { z } from 'zod';
import { zDuration, zHostPort } from '../../../core/config.js';
import { EVENT_LIMITS, STATES } from '../../../core/event.js';

const zOid = z.string().regex(/^\.?\d+(\.\d+)+$/, 'must be a numeric OID, e.g. 1.3.6.1.4.1.8072.2.3.0.1 (Blick reads no MIB files)');
const zState = z.enum(STATES);

/** One SNMPv3 USM user that may send traps: its name and the keys (passwords) of its security level. */
const userSchema = z.strictObject({
  name: z.string().min(1).max(32),
  /** authentication; without it the user is noAuthNoPriv */
  auth: z.strictObject({
    protocol: z.enum(['md5', 'sha', 'sha224', 'sha256', 'sha384', 'sha512']),
    key: z.string().min(8, 'must be at least 8 characters (RFC 3414)'),
  }).optional(),
  /** privacy (encryption); needs `auth` */
  priv: z.strictObject({
    protocol: z.enum(['des', 'aes', 'aes256b', 'aes256r']),
    key: z.string().min(8, 'must be at least 8 characters (RFC 3414)'),
  }).optional(),
}).refine((u) => !u.priv || u.auth, { message: 'priv needs auth (SNMPv3 has no privacy without authentication)', path: ['priv'] });

/** What a trap OID becomes: the service (with `{attribute}` placeholders) and the state. */
const mapEntrySchema = z.strictObject({
  service: z.string().min(1).max(EVENT_LIMITS.serviceLength).optional(),
  state: zState.optional(),
});

/**
 * `relay.snmp.traps`: the SNMP trap receiver (v1, v2c, v3). See
 * src/relay/snmp/traps/README.md; every key has a default except the
 * credentials, and a receiver without communities or users accepts nothing.
 *
 * @example trapsConfigSchema.parse({ listen: '0.0.0.0:1162', communities: ['public'] })
 */
export const trapsConfigSchema = z.strictObject({
  /** UDP host:port to receive on ([::]:1162 for IPv6) */
  listen: zHostPort.default('0.0.0.0:1162'),
  /** v1/v2c communities accepted; any other is refused and counted */
  communities: z.array(z.string().min(1).max(256)).max(1000).default([]),
  /** v3 users accepted (USM); an unknown user or a wrong key is refused and counted */
  users: z.array(userSchema).max(1000).default([]),
  /** reverse-DNS the agent address and use the name as the host */
  resolve: z.boolean().default(false),
  resolver: z.strictObject({
    /** DNS servers to ask (`ip` or `ip:port`) [the system's] */
    servers: z.array(z.string().min(1)).optional(),
    /** give up on a lookup after this; the address is the host then */
    timeout: zDuration.prefault('1s'),
    /** how long a name (or its absence) is kept */
    cache_ttl: zDuration.prefault('5m'),
    /** addresses whose names are kept */
    cache_entries: z.number().int().min(1).max(1_000_000).default(10_000),
    /** traps waiting for a lookup; beyond it a trap goes out with the address (counted) */
    max_pending: z.number().int().min(1).max(100_000).default(1000),
  }).prefault({}),
  /** trap OID → { service, state }; overrides the built-in names */
  map: z.record(zOid, mapEntrySchema).default({}),
  /** state of a trap that neither the map nor the link pair gives one */
  default_state: zState.default('warning'),
  /** how a link trap names its interface: `index` (`link 3`) or `name` (`link eth0` from ifName/ifDescr, else the index) */
  link_service: z.enum(['index', 'name']).default('index'),
  limits: z.strictObject({
    /** varbinds kept as attributes per trap (the rest are counted and dropped) */
    max_varbinds: z.number().int().min(1).max(EVENT_LIMITS.attributes - 8).default(48),
    /** longest attribute value in bytes; longer values are cut (and marked with …) */
    max_value_bytes: z.number().int().min(16).max(EVENT_LIMITS.attributeValueLength).default(1024),
    /** traps accepted per second, all senders together (a token bucket of one second's worth) */
    max_traps_per_second: z.number().int().min(1).max(1_000_000).default(1000),
  }).prefault({}),
});
export type TrapsConfig = z.output<typeof trapsConfigSchema>;
export type TrapsConfigInput = z.input<typeof trapsConfigSchema>;
