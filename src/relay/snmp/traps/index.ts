import type { Component } from '../../../core/component.js';
import { BlickError } from '../../../core/errors.js';
import type { SourceDeps } from '../source.js';
import type { TrapsConfig } from './config.js';

/** The SNMP trap listener (placeholder: the trap listener's work replaces this). */
export function createTrapListener(_config: TrapsConfig, _deps: SourceDeps): Component {
  throw new BlickError('CONFIG_INVALID', 'relay.snmp.traps is not implemented yet');
}
