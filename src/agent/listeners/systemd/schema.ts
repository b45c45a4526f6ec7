import { z } from 'zod';

/** `agent.systemd`: which units to watch on the system bus. */
export const systemdSchema = z.strictObject({
  /**
   * Unit names or globs. A plain name (`nginx.service`) is also *expected to run*:
   * inactive is critical for it. Default: every service, socket, mount and timer.
   */
  units: z.array(z.string().min(1)).default(['*.service', '*.socket', '*.mount', '*.timer']),
  /** the D-Bus address (default: DBUS_SYSTEM_BUS_ADDRESS, else unix:path=/run/dbus/system_bus_socket) */
  bus: z.string().regex(/^(unix|tcp):/, 'must be a D-Bus address, e.g. unix:path=/run/dbus/system_bus_socket').optional(),
});
export type SystemdConfig = z.output<typeof systemdSchema>;
