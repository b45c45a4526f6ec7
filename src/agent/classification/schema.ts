import { z } from 'zod';
import { zDuration } from '../../core/config.js';

/**
 * `agent.server`: the server's HTTP API, which the agent talks to directly (even
 * when its events go through relays) to upload its Puppet catalog and fetch its
 * check set. See docs/classification.md for why HTTP and not ZeroMQ.
 */
export const agentServerSchema = z.strictObject({
  /** the server's API base URL */
  url: z.string().regex(/^https?:\/\/[^\s/]+(\/\S*)?$/, 'must be an http:// or https:// URL, e.g. http://blick.example.org:8080').default('http://127.0.0.1:8080'),
  /** a bearer token with role write (uploading the catalog needs it; read suffices for the check set) */
  token: z.string().min(16, 'tokens must be at least 16 characters').optional(),
  /** a file holding the token (first line), so the config holds no secret */
  token_file: z.string().min(1).optional(),
  /** PEM file of the CA that signed the server's certificate (https) */
  ca: z.string().min(1).optional(),
  /** how long one long-poll for check-set changes is held by the server (at most 60s) */
  wait: zDuration.prefault('30s').refine((ms) => ms >= 1000 && ms <= 60_000, 'must be between 1s and 60s'),
  /** the largest response body accepted (a check set) */
  max_response_bytes: z.number().int().min(1024).default(8 * 1024 * 1024),
}).refine((s) => !(s.token && s.token_file), 'give token: or token_file:, not both');
export type AgentServerConfig = z.output<typeof agentServerSchema>;

/** `agent.puppet`: the node's cached Puppet catalog, sent to the server as its desired state. */
export const puppetSchema = z.strictObject({
  /**
   * `auto`: the Debian vardir (/var/lib/puppet/client_data/catalog/<certname>.json), else the
   * AIO one (/opt/puppetlabs/puppet/cache/client_data/catalog/<certname>.json); certname is the
   * agent's host, or the single *.json in that directory. Or an absolute path.
   */
  catalog: z.union([z.literal('auto'), z.string().refine((p) => p.startsWith('/'), 'must be auto or an absolute path')]).default('auto'),
  /** a larger catalog file is refused (logged, counted; the last good one stays) */
  max_bytes: z.number().int().min(1024).default(32 * 1024 * 1024),
  /** resources sent at most (classes not counted); a catalog with more is refused */
  max_resources: z.number().int().min(1).default(10_000),
});
export type PuppetConfig = z.output<typeof puppetSchema>;

/** `agent.classification`: how the agent runs the derived checks of its check set. */
export const agentClassificationSchema = z.strictObject({
  /** run the derived `package` checks (dpkg-query / rpm) */
  packages: z.boolean().default(false),
  /** how often derived package and mount checks run */
  interval: zDuration.prefault('60s'),
  /** checks (server.checks plus derived) applied at most; the rest are dropped, counted and logged */
  max_checks: z.number().int().min(1).default(1000),
}).prefault({});
export type AgentClassificationConfig = z.output<typeof agentClassificationSchema>;

/** `agent.subscriptions`: the server.checks subscriptions this agent asks for (plus its Puppet classes, added by the server). */
export const subscriptionsSchema = z.array(z.string().regex(/^[^\s,]{1,256}$/, 'a subscription is 1–256 characters without spaces or commas')).max(256).default([]);
