import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as zmq from 'zeromq';
import { BlickError } from '../core/errors.js';
import type { Logger } from '../core/log.js';

/** A CURVE key pair in Z85 text (40 characters each). */
export interface CurveKeyPair { publicKey: string; secretKey: string }

/** Generate a key pair and write `DIR/blick.key` (secret, mode 0600) and `DIR/blick.pub`; refuses (KEY_EXISTS) to replace either unless `force`. */
export function writeKeyPair(dir: string, opts: { force?: boolean } = {}): CurveKeyPair & { secretFile: string; publicFile: string } {
  mkdirSync(dir, { recursive: true });
  const pair = zmq.curveKeyPair();
  const secretFile = join(dir, 'blick.key');
  const publicFile = join(dir, 'blick.pub');
  // an overwritten secret key locks out every peer that trusts the old public one
  const existing = [secretFile, publicFile].filter((f) => existsSync(f));
  if (existing.length > 0 && !opts.force) {
    throw new BlickError('KEY_EXISTS', `${existing.join(' and ')} already exist${existing.length === 1 ? 's' : ''}; refusing to overwrite (use --force to replace the key pair, or another --out DIR)`);
  }
  // 'wx' fails if another keygen created the file meanwhile
  const flag = opts.force ? 'w' : 'wx';
  writeFileSync(secretFile, pair.secretKey + '\n', { mode: 0o600, flag });
  chmodSync(secretFile, 0o600);
  writeFileSync(publicFile, pair.publicKey + '\n', { flag });
  return { ...pair, secretFile, publicFile };
}

/** Read a Z85 key from a file (first 40 non-space characters). */
export function readKey(file: string, what: string): string {
  let text: string;
  try { text = readFileSync(file, 'utf8').trim(); } catch (err) {
    throw new BlickError('KEY_INVALID', `cannot read the ${what} from ${file}: ${(err as Error).message} (create keys with \`blick keygen --out DIR\`)`, { cause: err });
  }
  if (!/^[0-9a-zA-Z.\-:+=^!/*?&<>()[\]{}@%$#]{40}$/.test(text)) {
    throw new BlickError('KEY_INVALID', `${file} does not hold a Z85 CURVE key of 40 characters (the ${what})`);
  }
  return text;
}

const Z85 = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#';
/** Encode 32 raw key bytes as Z85 (what ZAP hands over → what users write in allow lists). */
export function z85Encode(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 4) {
    let v = ((bytes[i]! << 24) >>> 0) + (bytes[i + 1]! << 16) + (bytes[i + 2]! << 8) + bytes[i + 3]!;
    const chunk: string[] = [];
    for (let j = 0; j < 5; j++) { chunk.unshift(Z85[v % 85]!); v = Math.floor(v / 85); }
    out += chunk.join('');
  }
  return out;
}

/**
 * The process-wide ZAP handler (there can be one per ZeroMQ context). Each
 * receiver registers its domain with an allow-list of producer public keys;
 * a CURVE client whose key is not listed is refused with status 400.
 */
class ZapHandler {
  private socket?: zmq.Reply;
  private readonly domains = new Map<string, { allow: Set<string> | null; onRefuse?: (key: string, address: string) => void }>();

  register(domain: string, allow: string[] | undefined, onRefuse?: (key: string, address: string) => void): void {
    // no list admits any CURVE client; an empty list admits none (the config refuses one anyway)
    this.domains.set(domain, { allow: allow ? new Set(allow) : null, ...(onRefuse ? { onRefuse } : {}) });
    if (!this.socket) void this.run();
  }

  unregister(domain: string): void {
    this.domains.delete(domain);
    if (this.domains.size === 0 && this.socket) { this.socket.close(); this.socket = undefined; }
  }

  private async run(): Promise<void> {
    const sock = new zmq.Reply();
    this.socket = sock;
    await sock.bind('inproc://zeromq.zap.01');
    try {
      for await (const frames of sock) {
        const [version, requestId, domain, address, , mechanism, key] = frames;
        const d = this.domains.get(domain?.toString() ?? '');
        let ok = false;
        let keyText = '';
        if (d && mechanism?.toString() === 'CURVE' && key && key.length === 32) {
          keyText = z85Encode(key);
          ok = d.allow === null || d.allow.has(keyText);
        }
        if (!ok) d?.onRefuse?.(keyText, address?.toString() ?? '');
        await sock.send([version ?? '1.0', requestId ?? '', ok ? '200' : '400', ok ? 'OK' : 'key not allowed', ok ? keyText : '', '']);
      }
    } catch {
      // socket closed on unregister
    }
  }
}

export const zap = new ZapHandler();

/** Options for the receiving side of CURVE. */
export interface CurveServerOptions { secretKey: string; publicKey: string; allow?: string[] }
/** Options for the producing side of CURVE. */
export interface CurveClientOptions { secretKey: string; publicKey: string; serverPublicKey: string }

/** Load CURVE options for a receiver from the `curve:` config section (undefined when not configured). */
export function curveServerFromConfig(c: { secret_key_file?: string | undefined; public_key_file?: string | undefined; allow?: string[] | undefined } | undefined, log?: Logger): CurveServerOptions | undefined {
  if (!c || !c.secret_key_file) return undefined;
  if (!c.public_key_file) throw new BlickError('KEY_INVALID', 'curve.public_key_file is required with curve.secret_key_file');
  const opts: CurveServerOptions = { secretKey: readKey(c.secret_key_file, 'secret key'), publicKey: readKey(c.public_key_file, 'public key') };
  if (c.allow) opts.allow = c.allow;
  else log?.warn('curve is on without an allow list: any producer that knows the server key may send');
  return opts;
}

/** Load CURVE options for a producer from the `curve:` config section (undefined when not configured). */
export function curveClientFromConfig(c: { secret_key_file?: string | undefined; public_key_file?: string | undefined; server_public_key_file?: string | undefined } | undefined): CurveClientOptions | undefined {
  if (!c || !c.server_public_key_file) return undefined;
  if (!c.secret_key_file || !c.public_key_file) throw new BlickError('KEY_INVALID', 'curve.secret_key_file and curve.public_key_file are required with curve.server_public_key_file');
  return { secretKey: readKey(c.secret_key_file, 'secret key'), publicKey: readKey(c.public_key_file, 'public key'), serverPublicKey: readKey(c.server_public_key_file, 'server public key') };
}
