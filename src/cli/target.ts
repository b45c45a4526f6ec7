import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { BlickError } from '../core/errors.js';

type Flags = Record<string, string | true>;

/** Where the client commands' configuration file is looked for when --config and BLICK_CLIENT_CONFIG are not given. */
export function defaultClientConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'blick', 'client.yaml');
}

/**
 * The server URL, token and CA of the client commands (events, hosts, checks,
 * alerts, silence), first found wins: --url/--token/--ca, BLICK_URL/BLICK_TOKEN/BLICK_CA,
 * then a YAML file (`url:`, `token:`, `ca:`) named by --config or BLICK_CLIENT_CONFIG,
 * else ~/.config/blick/client.yaml if it exists; the URL defaults to
 * http://127.0.0.1:8080.
 * @example
 * # ~/.config/blick/client.yaml
 * url: https://blick.example.org
 * token: 0123456789abcdef0123
 * ca: /etc/blick/ca.pem        # PEM certificate(s) to trust for an https:// url with a private CA
 */
export function clientTarget(flags: Flags, env: NodeJS.ProcessEnv = process.env): { base: string; token: string | undefined; ca: Buffer | undefined } {
  const named = typeof flags.config === 'string' ? flags.config : env.BLICK_CLIENT_CONFIG || undefined;
  const file = named ?? defaultClientConfigPath(env);
  let fromFile: { url?: string; token?: string; ca?: string } = {};
  if (named !== undefined || existsSync(file)) {
    let text: string;
    try { text = readFileSync(file, 'utf8'); } catch (err) {
      throw new BlickError('CONFIG_UNREADABLE', `cannot read the client configuration ${file}: ${(err as Error).message}`);
    }
    let doc: unknown;
    try { doc = parse(text); } catch (err) {
      throw new BlickError('CONFIG_INVALID', `${file}: not YAML (${(err as Error).message.split('\n')[0]})`);
    }
    if (doc !== null && doc !== undefined) {
      if (typeof doc !== 'object' || Array.isArray(doc)) throw new BlickError('CONFIG_INVALID', `${file}: expected keys url and token`);
      const d = doc as Record<string, unknown>;
      for (const k of Object.keys(d)) if (k !== 'url' && k !== 'token' && k !== 'ca') throw new BlickError('CONFIG_INVALID', `${file}: unknown key "${k}" (the client configuration has url, token and ca)`);
      for (const k of ['url', 'token', 'ca']) if (d[k] !== undefined && typeof d[k] !== 'string') throw new BlickError('CONFIG_INVALID', `${file}: ${k} must be a string`);
      fromFile = d as { url?: string; token?: string; ca?: string };
    }
  }
  const base = String(typeof flags.url === 'string' ? flags.url : env.BLICK_URL || fromFile.url || 'http://127.0.0.1:8080').replace(/\/$/, '');
  const token = typeof flags.token === 'string' ? flags.token : env.BLICK_TOKEN || fromFile.token;
  const caFile = typeof flags.ca === 'string' ? flags.ca : env.BLICK_CA || fromFile.ca;
  let ca: Buffer | undefined;
  if (caFile) {
    try { ca = readFileSync(caFile); } catch (err) {
      throw new BlickError('CONFIG_UNREADABLE', `cannot read the CA certificate ${caFile} (--ca, BLICK_CA or ca:): ${(err as Error).message}`);
    }
  }
  return { base, token, ca };
}
