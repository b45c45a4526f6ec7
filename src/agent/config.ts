import os from 'node:os';
import { z } from 'zod';
import { zDuration, zEndpoint } from '../core/config.js';
import { batchConfigSchema, spoolConfigSchema } from '../transport/config.js';
import { checkConfigSchema } from './checks/index.js';
import { agentClassificationSchema, agentServerSchema, puppetSchema, subscriptionsSchema } from './classification/schema.js';
import { BUILTIN_MONITORS } from './registry.js';

const monitorSections: Record<string, z.ZodType> = {};
for (const m of BUILTIN_MONITORS) monitorSections[m.key] = m.schema.optional();

/** The `agent:` section (PRODUCT.md, Configuration) plus one key per built-in monitor. */
export const agentConfigSchema = z.strictObject({
  /** the host name events carry; default: the machine's hostname */
  host: z.string().min(1).max(255).default(os.hostname()),
  upstreams: z.array(zEndpoint).min(1).default(['tcp://127.0.0.1:5556']),
  /** heartbeat interval (ttl is 3×); 0 disables */
  heartbeat: zDuration.prefault('10s'),
  /** how often facts are compared and re-sent when changed */
  facts_interval: zDuration.prefault('60s'),
  checks: z.array(checkConfigSchema).default([]),
  /** the server's HTTP API (check set, catalog upload); see docs/classification.md */
  server: agentServerSchema.optional(),
  /** server.checks subscriptions; the server adds the node's Puppet classes and Chef roles */
  subscriptions: subscriptionsSchema,
  /** the node's cached Puppet catalog, sent to the server as its desired state; absent: no Puppet */
  puppet: puppetSchema.optional(),
  /** how derived checks run */
  classification: agentClassificationSchema,
  spool: spoolConfigSchema,
  batch: batchConfigSchema,
  ...monitorSections,
});

export type AgentConfig = z.output<typeof agentConfigSchema>;
