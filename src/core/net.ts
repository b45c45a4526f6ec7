import { BlickError } from './errors.js';

/** Split `host:port`; `[::1]:8080` works too; an empty host is 0.0.0.0. */
export function splitHostPort(hp: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(hp);
  if (!m) throw new BlickError('CONFIG_INVALID', `${hp} is not host:port`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port: Number(m[3]) };
}

/** A host name or address only this machine can reach. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

/** A ZeroMQ endpoint only this machine can reach: loopback tcp, ipc, inproc (a receiver without CURVE may bind only these unless told). */
export function isLocalEndpoint(endpoint: string): boolean {
  const m = /^tcp:\/\/(?:\[([^\]]+)\]|([^:]+)):[^:]+$/.exec(endpoint);
  if (!m) return !endpoint.startsWith('tcp://');
  return isLoopback(m[1] ?? m[2]!);
}
