import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../agent/require.js';

/**
 * Real Puppet compiling a manifest the way REAL-PARTS.md says: `puppet apply
 * --noop` with its own vardir, confdir and codedir writes the catalog JSON a
 * puppet agent caches (D/var/client_data/catalog/<certname>.json, by rename, as
 * the agent does), nothing is changed. `puppet apply` uses a cached catalog that
 * exists instead of compiling (it never expires), so a recompile removes it first.
 */
export async function compileCatalog(dir: string, certname: string, manifest: string): Promise<string> {
  for (const d of ['var', 'conf', 'code']) mkdirSync(join(dir, d), { recursive: true });
  const site = join(dir, 'site.pp');
  writeFileSync(site, manifest);
  const catalog = join(dir, 'var', 'client_data', 'catalog', `${certname}.json`);
  rmSync(catalog, { force: true });
  await run('puppet', ['apply', '--noop', '--vardir', join(dir, 'var'), '--confdir', join(dir, 'conf'), '--codedir', join(dir, 'code'),
    '--certname', certname, '--catalog_cache_terminus', 'json', site], { timeout: 120_000, cwd: dir });
  return catalog;
}

/** The line of `needle` in `text`, 1-based (what Puppet records as the resource's line). */
export function lineOf(text: string, needle: string): number {
  const i = text.split('\n').findIndex((l) => l.includes(needle));
  if (i < 0) throw new Error(`${needle} is not in the manifest`);
  return i + 1;
}
