import { z } from 'zod';

/** One entry of `relay.snmp.devices` (placeholder: the poller's work replaces this schema). */
export const deviceConfigSchema = z.strictObject({
  host: z.string().min(1),
  address: z.string().min(1),
});
export type DeviceConfig = z.output<typeof deviceConfigSchema>;

/** `relay.snmp.devices` */
export const devicesConfigSchema = z.array(deviceConfigSchema).default([]);
