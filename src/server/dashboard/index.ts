import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsync } from 'fastify';
import { BlickError } from '../../core/errors.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
};

/** The dashboard's static files live in the source tree (no build step): find them from here, dist/ or src/. */
export function findStaticDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const p = join(dir, 'src', 'server', 'dashboard', 'static');
    if (existsSync(join(p, 'index.html'))) return p;
    dir = dirname(dir);
  }
  throw new Error('src/server/dashboard/static/index.html not found next to the installation');
}

interface Asset { body: Buffer; type: string; etag: string }

function asset(file: string): Asset {
  const body = readFileSync(file);
  const ext = file.slice(file.lastIndexOf('.'));
  return { body, type: TYPES[ext] ?? 'application/octet-stream', etag: `"${createHash('sha1').update(body).digest('base64url').slice(0, 16)}"` };
}

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

export interface DashboardOptions {
  /** where index.html and the assets are [the source tree's src/server/dashboard/static] */
  staticDir?: string;
}

/**
 * The dashboard: `/` and `/assets/*`, served without a token (the page asks
 * for one and sends it with every API call). Files are read once at start
 * into memory from a fixed list, so no request can name a path outside it;
 * uPlot comes from node_modules (no CDN).
 */
export const dashboardRoutes = (opts: DashboardOptions = {}): FastifyPluginAsync => async (app) => {
  const root = opts.staticDir ?? findStaticDir();
  const assets = new Map<string, Asset>();
  for (const f of walk(root)) {
    if (f.endsWith('tsconfig.json')) continue;
    assets.set('/assets/' + relative(root, f).split(sep).join('/'), asset(f));
  }
  const uplotDir = dirname(createRequire(import.meta.url).resolve('uplot'));
  assets.set('/assets/vendor/uPlot.esm.js', asset(join(uplotDir, 'uPlot.esm.js')));
  assets.set('/assets/vendor/uPlot.min.css', asset(join(uplotDir, 'uPlot.min.css')));
  const index = assets.get('/assets/index.html')!;

  const csp = "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";
  const send = (a: Asset, ifNoneMatch: string | undefined, reply: import('fastify').FastifyReply, cache: string) => {
    reply.header('content-type', a.type).header('etag', a.etag).header('cache-control', cache)
      .header('x-content-type-options', 'nosniff').header('content-security-policy', csp).header('referrer-policy', 'no-referrer');
    if (ifNoneMatch === a.etag) return reply.code(304).send();
    return reply.send(a.body);
  };
  app.get('/', { config: { public: true } }, async (req, reply) => send(index, req.headers['if-none-match'], reply, 'no-cache'));
  app.get('/assets/*', { config: { public: true } }, async (req, reply) => {
    const path = req.url.split('?')[0]!;
    const a = assets.get(path);
    // thrown, so the API's error handler answers (and bounds the message quoting the path)
    if (!a) throw new BlickError('NOT_FOUND', `no asset ${path}`);
    return send(a, req.headers['if-none-match'], reply, 'no-cache');
  });
};
