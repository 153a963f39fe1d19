// Public surface of the ipset model: set types, elements, membership tests as `-m set` does
// them, the registry of a node's sets, and the `ipset save` / `ipset restore` text format.

export type { AddressRange } from './address-spec';
export { parseAddressRange, parseNetworks, rangeToPrefixes } from './address-spec';
export type { CreateOptions, CreateOptionsInput } from './create-options';
export { formatCreateOptions, normalizeCreateOptions, parseCreateOptions } from './create-options';
export type { IpsetKey } from './element';
export { formatElement, keyId, MAX_EXPANSION, parseElement } from './element';
export type { EntryOptions } from './entry-options';
export { formatEntryOptions, parseEntryOptions } from './entry-options';
export { formatIcmpType, icmpValue, parseIcmpType } from './icmp-type';
export type { IpsetLookup, Membership } from './membership';
export { testMembership } from './membership';
export { editFromPacket, keyFromPacket } from './packet-edit';
export type { PacketFields, SetFlag } from './packet-lookup';
export { elementForFlags, parseSetFlags } from './packet-lookup';
export type { PortRange } from './port-spec';
export { formatPortSpec, parsePortSpec } from './port-spec';
export { IPPROTO, protocolName, protocolNumber } from './protocol';
export type { IpsetRegistry, IpsetStats } from './registry';
export { cloneRegistry, createRegistry, matchSet } from './registry';
export type { IpsetError, RestoreOptions } from './restore';
export { applyIpsetRestore, parseIpsetSave } from './restore';
export type { Problem, Result } from './result';
export { formatAddLine, formatCreateLine, formatIpsetSave, formatSetSave } from './save';
export type { AddOptions, IpSet, IpsetEntry } from './set';
export {
  addElement,
  addKey,
  cloneSet,
  createSet,
  deleteElement,
  deleteKey,
  flushSet,
  MAX_SET_NAME_LENGTH,
  savedEntries,
} from './set';
export type { Dimension, IpsetType, SetTypeInfo } from './set-type';
export { isIpsetType, resolveSetType, SET_TYPES } from './set-type';
