import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadBlickConfig } from '../cli/config.js';

const README = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'src', 'relay', 'README.md');

test('the README\'s example is a valid configuration and means what it says', () => {
  const yaml = /```yaml\n([\s\S]*?)```/.exec(readFileSync(README, 'utf8'))?.[1];
  assert.ok(yaml, 'the README has a yaml example');
  const c = loadBlickConfig('README.md', { text: yaml, env: {} });
  assert.equal(c.relay.host, 'relay-r12');
  assert.equal(c.relay.upstreams.length, 2);
  assert.equal(c.relay.spool.max_bytes, 1024 ** 3);
  assert.equal(c.relay.snmp.devices.length, 2);
  assert.equal(c.curve?.allow?.length, 2);
});

test('relay defaults are those of PRODUCT.md', () => {
  const c = loadBlickConfig(undefined, { env: {} });
  assert.equal(c.relay.ingest, 'tcp://0.0.0.0:5557');
  assert.equal(c.relay.http, '127.0.0.1:8081');
  assert.deepEqual(c.relay.upstreams, ['tcp://127.0.0.1:5556']);
  assert.equal(c.relay.insecure_ingest, false);
  assert.equal(c.relay.snmp.traps, undefined, 'SNMP parts are off until configured');
});
