import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SystemdListener, systemdSchema } from '../../src/agent/listeners/systemd/index.js';
import { recordingContext } from '../../src/agent/listeners/testing.js';
import { deferrals } from '../fixtures/blick.js';
import { missing } from './require.js';
import { bootSystemd, systemdNamespaceMissing } from './systemd-namespace.js';

const SLEEPER = `[Unit]
Description=Blick classified sleeper
[Service]
ExecStart=/bin/sleep infinity
`;

test('classified units under real systemd: expected running and expected stopped, with their derived attributes; leaving the set → one ok, then silence', { timeout: 60_000 }, async (t) => {
  const why = await systemdNamespaceMissing();
  if (why) { missing(t, why, 'needed to boot systemd in a namespace'); return; }
  const defer = deferrals(t);
  const ns = await bootSystemd();
  defer(() => ns.stop());
  await ns.addUnit('must-run.service', SLEEPER);
  await ns.addUnit('must-stop.service', SLEEPER);
  await ns.systemctl('start', 'must-run.service');
  await ns.systemctl('start', 'must-stop.service');
  // the config watches nothing: what is reported comes from the classification
  const l = new SystemdListener(systemdSchema.parse({ units: [], bus: ns.busAddress }));
  const ctx = recordingContext({ realClock: true });
  await l.start(ctx);
  defer(() => l.stop());
  const attrs = (r: string, line: number) => ({ derived_from: r, derived_file: '/etc/puppet/site.pp', derived_line: String(line) });
  await l.setClassifiedUnits({ running: new Map([['must-run', attrs('Service[must-run]', 3)]]), stopped: new Map([['must-stop.service', attrs('Service[must-stop]', 7)]]) });
  const last = (unit: string) => ctx.events.filter((e) => e.service === `systemd ${unit}`).at(-1);
  const wait = (unit: string, state: string) => ctx.waitFor((e) => e.service === `systemd ${unit}` && e.state === state && e === last(unit), 10_000);

  const bad = await wait('must-stop.service', 'critical');
  assert.match(bad.description!, /expected to be stopped \(Service\[must-stop\] at \/etc\/puppet\/site\.pp:7\)/);
  assert.equal(bad.attributes!.expected, 'stopped');
  assert.equal((await wait('must-run.service', 'ok')).attributes!.derived_from, 'Service[must-run]');

  await ns.systemctl('stop', 'must-stop.service');
  await wait('must-stop.service', 'ok');
  await ns.systemctl('stop', 'must-run.service');
  const down = await wait('must-run.service', 'critical');
  assert.match(down.description!, /expected to run \(Service\[must-run\] at \/etc\/puppet\/site\.pp:3\)/);

  await l.setClassifiedUnits({ running: new Map(), stopped: new Map() });
  for (const unit of ['must-run.service', 'must-stop.service']) {
    const gone = last(unit)!;
    assert.equal(gone.state, 'ok');
    assert.equal(gone.description, `${unit} is no longer in the desired state`);
  }
  const count = ctx.events.length;
  await ns.systemctl('start', 'must-stop.service');
  await ns.systemctl('start', 'must-run.service');
  // systemd has sent its signals by the time `systemctl start` returns; a unit the listener still watched would show
  await ns.systemctl('stop', 'must-run.service');
  await l.setExpectedUnits(['dbus.service']);
  await ctx.waitFor((e) => e.service === 'systemd dbus.service');
  assert.deepEqual(ctx.events.slice(count).filter((e) => e.service !== 'systemd dbus.service').map((e) => `${e.service} ${e.state}`), [], 'units that left the set are not reported');
});
