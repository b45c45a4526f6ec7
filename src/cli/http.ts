import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { rootCertificates } from 'node:tls';

/** What the client commands read of an answer (the part of fetch's Response they use). */
export interface CliResponse {
  status: number;
  ok: boolean;
  /** a response header (the first value when repeated) */
  header(name: string): string | undefined;
  /** the body parsed as JSON (rejects when it is not) */
  json(): Promise<unknown>;
  body: AsyncIterable<Buffer>;
}

export interface CliRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** PEM certificates to trust for https:// (a private CA), besides the system's */
  ca?: Buffer | undefined;
}

/**
 * One HTTP(S) request of the client commands. node:https rather than fetch:
 * Node 20's fetch cannot be given a CA per request without the undici package,
 * and --ca/BLICK_CA must work without NODE_EXTRA_CA_CERTS.
 */
export function cliRequest(url: string, init: CliRequest = {}): Promise<CliResponse> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const send = u.protocol === 'https:' ? httpsRequest : httpRequest;
    const headers = { ...init.headers, ...(init.body !== undefined ? { 'content-length': String(Buffer.byteLength(init.body)) } : {}) };
    // `ca` replaces Node's trusted roots, so they are passed along with the private CA
    const ca = init.ca && u.protocol === 'https:' ? { ca: [...rootCertificates, init.ca] } : {};
    const req = send(u, { method: init.method ?? 'GET', headers, agent: false, ...ca }, (res: IncomingMessage) => {
      const status = res.statusCode ?? 0;
      resolve({
        status,
        ok: status >= 200 && status < 300,
        header: (name) => { const v = res.headers[name.toLowerCase()]; return Array.isArray(v) ? v[0] : v; },
        body: res,
        json: async () => {
          const chunks: Buffer[] = [];
          for await (const c of res) chunks.push(c as Buffer);
          return JSON.parse(Buffer.concat(chunks).toString('utf8'));
        },
      });
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

