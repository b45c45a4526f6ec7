import snmp from 'net-snmp';
import type { DeviceConfig } from './config.js';
import type { Varbind } from './counters.js';

/**
 * What the poller asks of an SNMP agent: the two requests it makes, as
 * promises, and a close that cancels what is pending. The net-snmp session
 * is one implementation; unit tests hand in a fake.
 */
export interface SnmpSession {
  /** GET these OIDs; the answer is in request order (v2c/v3: missing ones as noSuchObject/noSuchInstance varbinds) */
  get(oids: string[]): Promise<Varbind[]>;
  /**
   * Walk the subtree under `oid` (GETBULK with v2c/v3, GETNEXT with v1),
   * stopping after `max` varbinds: `more` says whether the subtree went on.
   */
  walk(oid: string, max: number): Promise<{ varbinds: Varbind[]; more: boolean }>;
  close(): void;
}

/** Opens a session for one poll of a device. */
export type SessionFactory = (device: DeviceConfig) => SnmpSession;

/** Why a request failed, in the terms the poller reports. */
export type RequestFailure = 'timeout' | 'auth' | 'error';

/**
 * Classifies a net-snmp error: no answer; credentials refused (a v3 USM report:
 * wrong digest, unknown user, unsupported level — net-snmp raises them all as
 * EAuthFailure — or an answer that cannot be decrypted); anything else.
 */
export function failureKind(err: unknown): RequestFailure {
  // (@types/net-snmp declares the class only as an interface: its name tells it)
  if (err instanceof Error && err.name === 'RequestTimedOutError') return 'timeout';
  if (err instanceof snmp.ResponseInvalidError) {
    const code = (err as { code?: number }).code;
    if (code === snmp.ResponseInvalidCode.EAuthFailure || code === snmp.ResponseInvalidCode.ECouldNotDecrypt) return 'auth';
  }
  return 'error';
}

const AUTH: Record<string, number> = {
  md5: snmp.AuthProtocols.md5, sha: snmp.AuthProtocols.sha, sha224: snmp.AuthProtocols.sha224,
  sha256: snmp.AuthProtocols.sha256, sha384: snmp.AuthProtocols.sha384, sha512: snmp.AuthProtocols.sha512,
};
const PRIV: Record<string, number> = {
  des: snmp.PrivProtocols.des, aes: snmp.PrivProtocols.aes, aes256b: snmp.PrivProtocols.aes256b, aes256r: snmp.PrivProtocols.aes256r,
};

/** `[::1]` → `::1`: net-snmp hands the address to dgram as it is. */
function host(address: string): string {
  return address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
}

/** The net-snmp session options of a device (the address family follows the address). */
function options(d: DeviceConfig): snmp.SessionOptions {
  return {
    port: d.port,
    timeout: d.timeout,
    retries: d.retries,
    transport: d.address.includes(':') ? 'udp6' : 'udp4',
    // ids of requests are matched to answers; a stale answer from an earlier poll is dropped by id
    idBitsSize: 32,
  };
}

/** A net-snmp session (v1/v2c `createSession`, v3 `createV3Session`) behind {@link SnmpSession}. */
export function netSnmpSession(d: DeviceConfig): SnmpSession {
  let session: snmp.Session;
  if (d.version === '3') {
    const u = d.user!;
    const user: snmp.User = {
      name: u.name,
      level: u.priv ? snmp.SecurityLevel.authPriv : u.auth ? snmp.SecurityLevel.authNoPriv : snmp.SecurityLevel.noAuthNoPriv,
      ...(u.auth ? { authProtocol: AUTH[u.auth.protocol]!, authKey: u.auth.key } : {}),
      ...(u.priv ? { privProtocol: PRIV[u.priv.protocol]!, privKey: u.priv.key } : {}),
    } as snmp.User;
    session = snmp.createV3Session(host(d.address), user, { ...options(d), version: snmp.Version3 } as snmp.SessionOptionsV3);
  } else {
    session = snmp.createSession(host(d.address), d.community, { ...options(d), version: d.version === '1' ? snmp.Version1 : snmp.Version2c });
  }
  // a socket error (e.g. EHOSTUNREACH) is also handed to the pending request's callback; without
  // a listener the EventEmitter would throw it and take the relay down
  session.on('error', () => undefined);
  let closed = false;
  return {
    get: (oids) => new Promise((resolve, reject) => {
      session.get(oids, (err, vbs) => (err ? reject(err) : resolve((vbs ?? []) as Varbind[])));
    }),
    walk: (oid, max) => new Promise((resolve, reject) => {
      const out: Varbind[] = [];
      let more = false;
      const feed = (vbs: Varbind[]): boolean => {
        for (const vb of vbs) {
          if (out.length >= max) { more = true; return true; }
          out.push(vb);
        }
        return false;
      };
      session.subtree(oid, Math.min(max + 1, 25), feed as never, (err: Error | null) => (err ? reject(err) : resolve({ varbinds: out, more })));
    }),
    close: () => {
      if (closed) return;
      closed = true;
      try { session.close(); } catch { /* already closed by a socket error */ }
    },
  };
}
