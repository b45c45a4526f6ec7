import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { BlickError } from '../core/errors.js';
import { isClientOnlyDocument, loadBlickConfig, loadClientOnlyConfig, type BlickConfig, type ClientConfig } from './config.js';

type Flags = Record<string, string | true>;

/** Where the client commands' configuration file is looked for when --config and BLICK_CLIENT_CONFIG are not given. */
export function defaultClientConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'blick', 'client.yaml');
}

/** What a configuration file says about reaching the server; the token is read only if no flag or variable gives one. */
interface FileTarget { url?: string; token?: () => string | undefined; ca?: string }

function readTokenFile(file: string, where: string): string {
  let text: string;
  try { text = readFileSync(file, 'utf8'); } catch (err) {
    throw new BlickError('CONFIG_UNREADABLE', `cannot read the token file ${file} (${where}): ${(err as Error).message}`);
  }
  const token = text.split(/\r?\n/)[0]!.trim();
  if (!token) throw new BlickError('CONFIG_INVALID', `the token file ${file} (${where}) is empty`);
  return token;
}

function clientSection(c: ClientConfig, file: string, where: string): FileTarget {
  const token = c.token ?? (c.token_file !== undefined ? () => readTokenFile(c.token_file!, `${where}token_file in ${file}`) : undefined);
  return { url: c.url, token: typeof token === 'string' ? () => token : token, ca: c.ca };
}

/** The address a client on this host uses for a listen address: a wildcard is reached on loopback. */
export function dialable(listen: string): string {
  const i = listen.lastIndexOf(':');
  const host = listen.slice(0, i);
  const reach = host === '' || host === '0.0.0.0' ? '127.0.0.1' : host === '[::]' ? '[::1]' : host;
  return `${reach}:${listen.slice(i + 1)}`;
}

/**
 * A daemon's configuration file: `client:` first, else the server section —
 * server.http (https when server.tls is set) and the one plaintext token of
 * server.tokens. With several, which to send is the operator's choice, not ours.
 */
function daemonTarget(c: BlickConfig, file: string): FileTarget {
  const own = c.client ? clientSection(c.client, file, 'client.') : {};
  const plain = c.server.tokens.filter((t) => t.token !== undefined);
  const fromServer = (): string | undefined => {
    if (plain.length <= 1) return plain[0]?.token;
    throw new BlickError('CONFIG_INVALID', `${file}: server.tokens holds ${plain.length} plaintext tokens and the client cannot tell which to send: set client.token_file (or client.token), or give --token / BLICK_TOKEN`);
  };
  return {
    url: own.url ?? `${c.server.tls ? 'https' : 'http'}://${dialable(c.server.http)}`,
    token: own.token ?? fromServer,
    ca: own.ca,
  };
}

function fileTarget(file: string, env: NodeJS.ProcessEnv): FileTarget {
  let text: string;
  try { text = readFileSync(file, 'utf8'); } catch (err) {
    throw new BlickError('CONFIG_UNREADABLE', `cannot read the client configuration ${file}: ${(err as Error).message}`);
  }
  let doc: unknown;
  try { doc = parse(text, { logLevel: 'error' }); } catch (err) {
    throw new BlickError('CONFIG_INVALID', `${file}: not YAML (${(err as Error).message.split('\n')[0]})`);
  }
  if (isClientOnlyDocument(doc)) return clientSection(loadClientOnlyConfig(file, text), file, '');
  // the daemon's own file, read as the daemon reads it (BLICK_SERVER_HTTP included)
  return daemonTarget(loadBlickConfig(file, { text, env }), file);
}

/**
 * The server URL, token and CA of the client commands (events, hosts, checks,
 * alerts, silence), first found wins: --url/--token/--ca, BLICK_URL/BLICK_TOKEN/BLICK_CA,
 * then the YAML file named by --config or BLICK_CLIENT_CONFIG, else
 * ~/.config/blick/client.yaml if it exists; the URL defaults to
 * http://127.0.0.1:8080. The file is a client-only file (`url:`, `token:` or
 * `token_file:`, `ca:`) or a daemon's configuration: its `client:` section
 * with the same keys, else `server.http` (https with `server.tls`) and the
 * single plaintext token of `server.tokens`.
 * @example
 * # ~/.config/blick/client.yaml
 * url: https://blick.example.org
 * token_file: /home/me/.config/blick/token   # or token: 0123456789abcdef0123
 * ca: /etc/blick/ca.pem        # PEM certificate(s) to trust for an https:// url with a private CA
 */
export function clientTarget(flags: Flags, env: NodeJS.ProcessEnv = process.env): { base: string; token: string | undefined; ca: Buffer | undefined } {
  const named = typeof flags.config === 'string' ? flags.config : env.BLICK_CLIENT_CONFIG || undefined;
  const file = named ?? defaultClientConfigPath(env);
  const fromFile: FileTarget = named !== undefined || existsSync(file) ? fileTarget(file, env) : {};
  const base = String(typeof flags.url === 'string' ? flags.url : env.BLICK_URL || fromFile.url || 'http://127.0.0.1:8080').replace(/\/$/, '');
  const token = typeof flags.token === 'string' ? flags.token : env.BLICK_TOKEN || fromFile.token?.();
  const caFile = typeof flags.ca === 'string' ? flags.ca : env.BLICK_CA || fromFile.ca;
  let ca: Buffer | undefined;
  if (caFile) {
    try { ca = readFileSync(caFile); } catch (err) {
      throw new BlickError('CONFIG_UNREADABLE', `cannot read the CA certificate ${caFile} (--ca, BLICK_CA or ca:): ${(err as Error).message}`);
    }
  }
  return { base, token, ca };
}
