import type { MonitorFactory } from './monitor.js';
import { filesMonitor } from './listeners/files/index.js';
import { logPatternMonitor } from './listeners/log-pattern/index.js';
import { mysqlSlowLogMonitor } from './listeners/mysql-slow-log/index.js';
import { systemdMonitor } from './listeners/systemd/index.js';
import { cpuMonitor } from './observers/cpu/index.js';
import { diskMonitor } from './observers/disk/index.js';
import { loadMonitor } from './observers/load/index.js';
import { memoryMonitor } from './observers/memory/index.js';
import { networkMonitor } from './observers/network/index.js';
import { processMonitor } from './observers/process/index.js';

/**
 * The built-in monitors, by the key they take under `agent:` in the config.
 * An explicit list (no registration by import side effect).
 *
 * With no configuration: cpu, memory (and swap), load, disk and network run
 * every 10s; the systemd listener runs when the host was booted with systemd;
 * files, log patterns, the MySQL slow log and process presence run only when
 * configured.
 */
export const BUILTIN_MONITORS: MonitorFactory[] = [
  cpuMonitor,
  memoryMonitor,
  loadMonitor,
  diskMonitor,
  networkMonitor,
  processMonitor,
  systemdMonitor,
  filesMonitor,
  logPatternMonitor,
  mysqlSlowLogMonitor,
] as MonitorFactory[];
