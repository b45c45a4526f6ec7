import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { ErrorCodes } from '../src/core/errors.js';
import { ROOT, serverForTest } from './fixtures/blick.js';

/** `METHOD /path` of every route a fastify instance registers, read from its printRoutes() tree (HEAD, added for each GET, left out). */
export function registeredRoutes(tree: string): string[] {
  const stack: string[] = [];
  const out: string[] = [];
  for (const line of tree.split('\n')) {
    const m = /^([│ ]*)[├└]── (.*?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!m) continue;
    const depth = m[1]!.length / 4;
    stack.length = depth;
    stack.push(m[2]!);
    for (const method of (m[3] ?? '').split(', ').filter((x) => x && x !== 'HEAD')) out.push(`${method} ${stack.join('')}`);
  }
  return out.sort();
}

const apiDoc = () => readFileSync(join(ROOT, 'docs', 'api.md'), 'utf8');
/** The endpoints docs/api.md describes: its `### METHOD /path` headings. */
const documented = (doc: string) => [...doc.matchAll(/^### ([A-Z]+ \/\S*)$/gm)].map((m) => m[1]!).sort();

test('docs/api.md has a section for every route the server registers, and for no other', async (t) => {
  // with every optional route on (server.chef)
  const { server } = await serverForTest(t, { chef: { token: 'chef-token-0123456789abcdef' } });
  const routes = registeredRoutes(server.api.printRoutes());
  assert.ok(routes.includes('GET /api/v1/hosts/:host') && routes.includes('DELETE /api/v1/silences/:id'), `routes read from the server: ${routes.join(', ')}`);
  const doc = documented(apiDoc());
  const missing = routes.filter((r) => !doc.includes(r));
  assert.deepEqual(missing, [], `routes without a "### METHOD /path" section in docs/api.md: ${missing.join(', ')}`);
  const stale = doc.filter((d) => !routes.includes(d));
  assert.deepEqual(stale, [], `docs/api.md describes routes the server does not have: ${stale.join(', ')}`);
});

test('the links of docs/api.md to its own sections land on a heading', () => {
  const doc = apiDoc();
  // GitHub's anchors: lower case, punctuation dropped, spaces as hyphens
  const slug = (h: string) => h.toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-');
  const anchors = new Set([...doc.matchAll(/^#+ (.*)$/gm)].map((m) => slug(m[1]!)));
  const targets = [...doc.matchAll(/\]\(#([^)]+)\)/g)].map((m) => m[1]!);
  assert.ok(targets.length > 10);
  assert.deepEqual(targets.filter((a) => !anchors.has(a)), [], 'links to no heading');
});

test('docs/api.md lists every error code of the catalogue with its HTTP status', () => {
  const doc = apiDoc();
  for (const [code, { http }] of Object.entries(ErrorCodes)) {
    assert.match(doc, new RegExp(`^\\| \`${code}\` \\| ${http} \\|`, 'm'), `${code} (HTTP ${http}) is not in the errors table of docs/api.md`);
  }
});

/** The relative link targets of a markdown text (inline links and images, reference definitions). */
function links(md: string): string[] {
  const text = md.replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, '');
  return [...text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g), ...text.matchAll(/^\[[^\]]+\]:\s*(\S+)/gm)].map((m) => m[1]!);
}

test('every link of README.md resolves to a file in the repository, and it names no path outside it', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const targets = links(readme);
  assert.ok(targets.length > 5, 'the README has links');
  for (const target of targets) {
    assert.doesNotMatch(target, /^[a-z][a-z0-9+.-]*:/i, `${target}: the README must not link outside the repository`);
    const path = resolve(ROOT, decodeURIComponent(target.split('#')[0]!));
    assert.ok(!relative(ROOT, path).startsWith('..'), `${target} leaves the repository`);
    assert.ok(existsSync(path), `${target} does not exist in the repository`);
  }
  assert.doesNotMatch(readme, /\.\.\/|\/work\//, 'no path outside the repository, linked or not');
});

function markdownFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.') || name === 'dist') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...markdownFiles(p));
    else if (name.endsWith('.md')) out.push(p);
  }
  return out;
}

test('doc examples write the command as a clone user types it: bin/blick', () => {
  const wrong: string[] = [];
  for (const file of [join(ROOT, 'README.md'), join(ROOT, 'SECURITY.md'), ...markdownFiles(join(ROOT, 'docs')), ...markdownFiles(join(ROOT, 'src'))]) {
    if (!existsSync(file)) continue;
    const md = readFileSync(file, 'utf8');
    // command lines in code blocks, and inline commands that carry arguments
    let fence: string | undefined;
    for (const line of md.split('\n')) {
      if (line.startsWith('```')) { fence = fence === undefined ? line.slice(3).trim() : undefined; continue; }
      const shell = fence !== undefined && ['', 'sh', 'bash', 'console', 'shell'].includes(fence);
      // a diagram (`blick agent --ZeroMQ--> blick server`) names programs, it is not typed
      if (shell && /^(\$ )?blick [a-z]/.test(line.trim()) && !line.includes('-->')) wrong.push(`${relative(ROOT, file)}: ${line.trim()}`);
    }
    for (const m of md.matchAll(/`(blick [a-z-]+(?: [a-z]+)? (?:--|[A-Z]+\b)[^`]*)`/g)) wrong.push(`${relative(ROOT, file)}: ${m[1]}`);
  }
  assert.deepEqual(wrong, [], 'write bin/blick (README, "Try it": npm link puts blick on the PATH)');
  assert.match(readFileSync(join(ROOT, 'README.md'), 'utf8'), /npm link/);
});
