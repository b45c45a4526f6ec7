import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { trapsConfigSchema } from './config.js';

// tests run from dist/src/relay/snmp/traps/; the README stays beside the source
const README = fileURLToPath(new URL('../../../../../src/relay/snmp/traps/README.md', import.meta.url));

test('README: the Configuration sample parses with the schema, and the table documents exactly the schema\'s keys', () => {
  const text = readFileSync(README, 'utf8');
  const sample = /## Configuration\n\n```yaml\n([^]*?)```/.exec(text)?.[1];
  assert.ok(sample, 'a yaml sample under Configuration');
  const traps = parse(sample).relay.snmp.traps;
  const parsed = trapsConfigSchema.parse(traps);
  assert.deepEqual(parsed.communities, ['public']);
  assert.equal(parsed.users[0]?.priv?.protocol, 'aes');

  const section = text.slice(text.indexOf('## Configuration'), text.indexOf('## Events produced'));
  const documented = [...section.matchAll(/^\| `([a-z_.]+)` \|/gm)].map((m) => m[1]!).sort();
  const defaults = trapsConfigSchema.parse({});
  const keys: string[] = [];
  for (const [k, v] of Object.entries(defaults)) {
    if (v && typeof v === 'object' && !Array.isArray(v) && k !== 'map') for (const sub of Object.keys(v)) keys.push(`${k}.${sub}`);
    else keys.push(k);
  }
  keys.push('resolver.servers'); // optional, so absent from the defaults
  assert.deepEqual(documented, keys.sort());
});
