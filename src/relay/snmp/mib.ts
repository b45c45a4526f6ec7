/**
 * The MIB-II names Blick knows without MIB files (Debian ships none): the
 * system group, the interfaces table and ifXTable, the SNMPv2 trap objects and
 * the standard traps. Shared by the trap listener and the poller, so that a
 * varbind has the same attribute name whichever way it arrived.
 */

/** Object names by numeric OID (no leading dot, no instance). */
export const MIB_NAMES: ReadonlyMap<string, string> = new Map<string, string>([
  // system (1.3.6.1.2.1.1)
  ['1.3.6.1.2.1.1.1', 'sysDescr'],
  ['1.3.6.1.2.1.1.2', 'sysObjectID'],
  ['1.3.6.1.2.1.1.3', 'sysUpTime'],
  ['1.3.6.1.2.1.1.4', 'sysContact'],
  ['1.3.6.1.2.1.1.5', 'sysName'],
  ['1.3.6.1.2.1.1.6', 'sysLocation'],
  ['1.3.6.1.2.1.1.7', 'sysServices'],
  // interfaces (1.3.6.1.2.1.2)
  ['1.3.6.1.2.1.2.1', 'ifNumber'],
  ['1.3.6.1.2.1.2.2.1.1', 'ifIndex'],
  ['1.3.6.1.2.1.2.2.1.2', 'ifDescr'],
  ['1.3.6.1.2.1.2.2.1.3', 'ifType'],
  ['1.3.6.1.2.1.2.2.1.4', 'ifMtu'],
  ['1.3.6.1.2.1.2.2.1.5', 'ifSpeed'],
  ['1.3.6.1.2.1.2.2.1.6', 'ifPhysAddress'],
  ['1.3.6.1.2.1.2.2.1.7', 'ifAdminStatus'],
  ['1.3.6.1.2.1.2.2.1.8', 'ifOperStatus'],
  ['1.3.6.1.2.1.2.2.1.9', 'ifLastChange'],
  ['1.3.6.1.2.1.2.2.1.10', 'ifInOctets'],
  ['1.3.6.1.2.1.2.2.1.11', 'ifInUcastPkts'],
  ['1.3.6.1.2.1.2.2.1.13', 'ifInDiscards'],
  ['1.3.6.1.2.1.2.2.1.14', 'ifInErrors'],
  ['1.3.6.1.2.1.2.2.1.16', 'ifOutOctets'],
  ['1.3.6.1.2.1.2.2.1.17', 'ifOutUcastPkts'],
  ['1.3.6.1.2.1.2.2.1.19', 'ifOutDiscards'],
  ['1.3.6.1.2.1.2.2.1.20', 'ifOutErrors'],
  // ifXTable (1.3.6.1.2.1.31.1.1.1)
  ['1.3.6.1.2.1.31.1.1.1.1', 'ifName'],
  ['1.3.6.1.2.1.31.1.1.1.6', 'ifHCInOctets'],
  ['1.3.6.1.2.1.31.1.1.1.10', 'ifHCOutOctets'],
  ['1.3.6.1.2.1.31.1.1.1.15', 'ifHighSpeed'],
  ['1.3.6.1.2.1.31.1.1.1.18', 'ifAlias'],
  // SNMPv2-MIB trap objects and SNMP-COMMUNITY-MIB
  ['1.3.6.1.6.3.1.1.4.1', 'snmpTrapOID'],
  ['1.3.6.1.6.3.1.1.4.3', 'snmpTrapEnterprise'],
  ['1.3.6.1.6.3.18.1.3', 'snmpTrapAddress'],
  ['1.3.6.1.6.3.18.1.4', 'snmpTrapCommunity'],
]);

/** Well-known numeric OIDs. */
export const OID = {
  sysUpTime0: '1.3.6.1.2.1.1.3.0',
  snmpTrapOID0: '1.3.6.1.6.3.1.1.4.1.0',
  snmpTrapEnterprise0: '1.3.6.1.6.3.1.1.4.3.0',
  snmpTrapAddress0: '1.3.6.1.6.3.18.1.3.0',
  snmpTrapCommunity0: '1.3.6.1.6.3.18.1.4.0',
} as const;

/** The standard traps (SNMPv2-MIB snmpTraps, 1.3.6.1.6.3.1.1.5.N; v1 generic-trap N-1). */
export const STANDARD_TRAPS: ReadonlyMap<string, string> = new Map([
  ['1.3.6.1.6.3.1.1.5.1', 'coldStart'],
  ['1.3.6.1.6.3.1.1.5.2', 'warmStart'],
  ['1.3.6.1.6.3.1.1.5.3', 'linkDown'],
  ['1.3.6.1.6.3.1.1.5.4', 'linkUp'],
  ['1.3.6.1.6.3.1.1.5.5', 'authenticationFailure'],
  ['1.3.6.1.6.3.1.1.5.6', 'egpNeighborLoss'],
]);

/**
 * The SNMPv2 trap OID of an SNMPv1 trap (RFC 3584 section 3.1): generic traps
 * 0–5 are the standard traps, enterpriseSpecific (6) is `enterprise.0.specific`.
 */
export function v1TrapOid(enterprise: string, generic: number, specific: number): string {
  if (generic >= 0 && generic <= 5) return `1.3.6.1.6.3.1.1.5.${generic + 1}`;
  return `${normalizeOid(enterprise)}.0.${specific}`;
}

/** Enumerations rendered by label (`down`, not `2`), for the objects whose numbers say nothing. */
const ENUMS: ReadonlyMap<string, readonly string[]> = new Map([
  // RFC 2863: index = value
  ['ifAdminStatus', ['', 'up', 'down', 'testing']],
  ['ifOperStatus', ['', 'up', 'down', 'testing', 'unknown', 'dormant', 'notPresent', 'lowerLayerDown']],
]);

/** The label of an enumerated value (`ifOperStatus` 2 → `down`), or undefined. */
export function enumLabel(name: string, value: number): string | undefined {
  const labels = ENUMS.get(name);
  return labels && Number.isInteger(value) && value > 0 ? labels[value] : undefined;
}

/** An OID without its leading dot (`.1.3.6` → `1.3.6`). */
export function normalizeOid(oid: string): string {
  return oid.startsWith('.') ? oid.slice(1) : oid;
}

/** The name of an OID and its instance suffix (`1.3.6.1.2.1.2.2.1.8.3` → `{ name: 'ifOperStatus', instance: '3' }`), if the object is known. */
export function oidName(oid: string): { name: string; instance: string } | undefined {
  const o = normalizeOid(oid);
  // the longest known prefix wins; OIDs are short, so walk back over the dots
  for (let end = o.length; end > 0; end = o.lastIndexOf('.', end - 1)) {
    const name = MIB_NAMES.get(o.slice(0, end));
    if (name !== undefined) return { name, instance: o.slice(end + 1) };
  }
  return undefined;
}
