import { z } from 'zod';

/**
 * `server.chef:` — the Chef Infra data-collector endpoint
 * (`POST /api/v1/chef/data-collector`). Without the section the route does
 * not exist. Exactly one of `token`, `token_file`, `sha256` says which
 * `x-data-collector-token` Chef Infra Client must send (its
 * `data_collector.token` in client.rb).
 *
 * @example
 * server:
 *   chef:
 *     token_file: /etc/blick/chef-token
 */
export const chefConfigSchema = z.strictObject({
  /** the token itself (at least 16 characters) */
  token: z.string().min(16, 'the data-collector token must be at least 16 characters').optional(),
  /** a file whose first line is the token, read at start */
  token_file: z.string().min(1).optional(),
  /** the hex SHA-256 of the token (`printf %s "$TOKEN" | sha256sum`), so the file holds no secret */
  sha256: z.string().regex(/^[0-9a-fA-F]{64}$/, 'must be the 64 hex digits of the token\'s SHA-256 (printf %s "$TOKEN" | sha256sum)').optional(),
  /** bytes of one message; a run_converge carries the whole node object, often a few MiB */
  max_body_bytes: z.number().int().min(64 * 1024).default(32 * 1024 * 1024),
  /** resource records of one run_converge; a larger run is refused (413), the last one kept */
  max_resources: z.number().int().min(1).default(10_000),
  /** facts kept from the node's automatic attributes (scalars, flattened `a.b.c`) */
  max_facts: z.number().int().min(0).default(500),
}).refine((c) => [c.token, c.token_file, c.sha256].filter((x) => x !== undefined).length === 1, 'give exactly one of token:, token_file:, sha256:');

export type ChefConfig = z.output<typeof chefConfigSchema>;
