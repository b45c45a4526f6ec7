/**
 * `npm run bench [-- NAME…]`: runs the benchmarks (all, or the named ones) and
 * writes their sections into bench/RESULTS.md, keeping the sections of those
 * not run. Each benchmark is a module with `run(): Promise<string>` returning
 * a Markdown section that starts with `## `.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpus } from 'node:os';

const BENCHES: Record<string, () => Promise<{ run: (log?: (s: string) => void) => Promise<string> }>> = {
  ingest: () => import('./ingest.js'),
  statsd: () => import('./statsd.js'),
  agent: () => import('./agent.js'),
  relay: () => import('./relay.js'),
};

// optional benchmarks of parts that may not be built in this checkout
const OPTIONAL = ['alerting', 'dashboard'];

const here = dirname(fileURLToPath(import.meta.url));
const resultsFile = join(here, '..', '..', 'bench', 'RESULTS.md');

function sections(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const parts = text.split(/^(?=<!-- bench:)/m);
  for (const p of parts) {
    const m = /^<!-- bench:(\w+) -->\n/.exec(p);
    if (m) out.set(m[1]!, p.slice(m[0].length).trimEnd());
  }
  return out;
}

async function main(): Promise<void> {
  const names = process.argv.slice(2);
  const all = [...Object.keys(BENCHES), ...OPTIONAL];
  const chosen = names.length > 0 ? names : all;
  for (const n of chosen) if (!all.includes(n)) throw new Error(`unknown benchmark ${n}; known: ${all.join(', ')}`);
  const previous = existsSync(resultsFile) ? sections(readFileSync(resultsFile, 'utf8')) : new Map<string, string>();
  for (const name of chosen) {
    let mod;
    try {
      mod = BENCHES[name] ? await BENCHES[name]!() : await import(`./${name}.js`);
    } catch (err) {
      if (OPTIONAL.includes(name) && names.length === 0) continue;
      throw err;
    }
    process.stderr.write(`bench: ${name}…\n`);
    const t0 = Date.now();
    const section = await mod.run((s: string) => process.stderr.write(`  ${s}\n`));
    process.stdout.write(section + '\n');
    previous.set(name, `${section.trimEnd()}\n\n_Run ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC in ${Math.round((Date.now() - t0) / 1000)} s._`);
  }
  const order = [...all.filter((n) => previous.has(n)), ...[...previous.keys()].filter((n) => !all.includes(n))];
  const text = [
    '# Benchmark results',
    '',
    `Measured with \`npm run bench\` (or \`npm run bench -- ${all.join('|')}\`) on this project's machine: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), Node ${process.version}. Ratios are against the reference program run side by side in the same run. The machine is shared with builds and other work, so figures vary by about ±15 % between runs.`,
    '',
    ...order.map((n) => `<!-- bench:${n} -->\n${previous.get(n)}\n`),
  ].join('\n');
  writeFileSync(resultsFile, text);
  process.stderr.write(`bench: wrote ${resultsFile}\n`);
}

main().catch((err) => { console.error(err); process.exit(1); });
