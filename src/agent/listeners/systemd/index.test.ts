import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SystemdListener, systemdMonitor, systemdSchema, unitCheckState, unitNameFromPath } from './index.js';

test('unit object paths decode to unit names', () => {
  assert.equal(unitNameFromPath('/org/freedesktop/systemd1/unit/nginx_2eservice'), 'nginx.service');
  assert.equal(unitNameFromPath('/org/freedesktop/systemd1/unit/getty_40tty1_2eservice'), 'getty@tty1.service');
  assert.equal(unitNameFromPath('/org/freedesktop/systemd1'), undefined);
  fc.assert(fc.property(fc.string(), (s) => { unitNameFromPath('/org/freedesktop/systemd1/unit/' + s); }));
});

test('unit states map to check states; inactive is critical only when expected', () => {
  const u = (activeState: string, subState = 'dead', loadState = 'loaded') => ({ activeState, subState, loadState });
  assert.equal(unitCheckState(u('active', 'running'), false), 'ok');
  assert.equal(unitCheckState(u('failed', 'failed'), false), 'critical');
  assert.equal(unitCheckState(u('inactive'), false), 'ok');
  assert.equal(unitCheckState(u('inactive'), true), 'critical');
  assert.equal(unitCheckState(u('deactivating', 'stop-sigterm'), true), 'critical');
  assert.equal(unitCheckState(u('activating', 'auto-restart'), false), 'warning');
  assert.equal(unitCheckState(u('activating', 'start'), false), 'ok');
});

test('a unit expected to be stopped (ensure => stopped) is critical while it runs or starts, ok otherwise', () => {
  const u = (activeState: string, subState = 'dead', loadState = 'loaded') => ({ activeState, subState, loadState });
  assert.equal(unitCheckState(u('active', 'running'), 'stopped'), 'critical');
  assert.equal(unitCheckState(u('activating', 'start'), 'stopped'), 'critical');
  assert.equal(unitCheckState(u('reloading', 'running'), 'stopped'), 'critical');
  assert.equal(unitCheckState(u('inactive'), 'stopped'), 'ok');
  assert.equal(unitCheckState(u('failed', 'failed'), 'stopped'), 'ok');
  assert.equal(unitCheckState(u('inactive', 'dead', 'not-found'), 'stopped'), 'ok');
});

test('plain unit names in the config are expected to run, globs are not', () => {
  const l = new SystemdListener(systemdSchema.parse({ units: ['nginx.service', '*.service'] }));
  assert.equal(l.isExpected('nginx.service'), true);
  assert.equal(l.isExpected('cron.service'), false);
  assert.deepEqual(systemdSchema.parse({}).units, ['*.service', '*.socket', '*.mount', '*.timer']);
  assert.equal(systemdMonitor.create(systemdSchema.parse({}), { host: 'h', dataDir: '/tmp' }).length, 1);
  assert.equal(systemdSchema.safeParse({ bus: 'nonsense' }).success, false);
});
