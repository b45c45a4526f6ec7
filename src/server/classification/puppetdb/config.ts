import { z } from 'zod';
import { zDuration } from '../../../core/config.js';

/**
 * `server.puppetdb:` — poll PuppetDB's v4 query API for every node's
 * resources, classes and facts, so that nodes whose agent reads no local
 * catalog are classified too. PuppetDB's HTTPS port (8081) wants a client
 * certificate signed by the Puppet CA: give the server one (`puppetserver ca
 * generate --certname blick`) and allow its certname in PuppetDB's
 * certificate-allowlist.
 *
 * @example
 * server:
 *   puppetdb:
 *     url: https://puppetdb.example.org:8081
 *     ca: /etc/blick/puppet/ca.pem
 *     cert: /etc/blick/puppet/blick.pem
 *     key: /etc/blick/puppet/blick.key
 */
export const puppetdbConfigSchema = z.strictObject({
  /** PuppetDB's base URL, https:// (the /pdb/query/v4 paths are appended) */
  url: z.string().regex(/^https:\/\/[^\s/]+(\/\S*)?$/, 'must be an https:// URL, e.g. https://puppetdb.example.org:8081'),
  /** PEM CA certificate(s) PuppetDB's certificate is checked against (the Puppet CA); default the system's */
  ca: z.string().min(1).optional(),
  /** PEM client certificate and its key (PuppetDB requires one) */
  cert: z.string().min(1).optional(),
  key: z.string().min(1).optional(),
  /** how often every node is read */
  interval: zDuration.prefault('5m'),
  /** one request's limit, connect to last byte */
  timeout: zDuration.prefault('30s'),
  /** a PuppetDB AST query that restricts the nodes, e.g. ["=", "catalog_environment", "production"] */
  query: z.array(z.unknown()).optional(),
  /** rows per page (`limit`/`offset`, ordered) */
  page_size: z.number().int().min(1).max(100_000).default(1000),
  /** nodes read per poll; beyond, the rest are left as they were (counted) */
  max_nodes: z.number().int().min(1).default(10_000),
  /** resources (and classes) of one node; a node with more keeps its last state (counted) */
  max_resources: z.number().int().min(1).default(10_000),
  /** facts kept per node */
  max_facts: z.number().int().min(0).default(500),
  /** bytes of one response body */
  max_response_bytes: z.number().int().min(64 * 1024).default(64 * 1024 * 1024),
}).refine((c) => (c.cert === undefined) === (c.key === undefined), 'give cert: and key: together');

export type PuppetdbConfig = z.output<typeof puppetdbConfigSchema>;
