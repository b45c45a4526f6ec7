import type { MonitorFactory } from './monitor.js';

/**
 * The built-in monitors, by the key they take under `agent:` in the config.
 * An explicit list (no registration by import side effect).
 */
export const BUILTIN_MONITORS: MonitorFactory[] = [];
