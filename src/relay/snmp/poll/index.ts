import type { Component } from '../../../core/component.js';
import { BlickError } from '../../../core/errors.js';
import type { SourceDeps } from '../source.js';
import type { DeviceConfig } from './config.js';

/** The SNMP poller of `relay.snmp.devices` (placeholder: the poller's work replaces this). */
export function createPoller(_devices: DeviceConfig[], _deps: SourceDeps): Component {
  throw new BlickError('CONFIG_INVALID', 'relay.snmp.devices is not implemented yet');
}
