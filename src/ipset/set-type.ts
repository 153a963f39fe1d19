// The set types knetsim models, with what each element dimension holds; names and the old
// aliases (iphash, portmap...) are the ones ipset 7.x accepts.

export type IpsetType =
  | 'hash:ip'
  | 'hash:ip,port'
  | 'hash:ip,port,ip'
  | 'hash:ip,port,net'
  | 'hash:net'
  | 'bitmap:port';

/**
 * What one comma-separated part of an element holds: `ip` an address, `port` a protocol and
 * port, `ip2` a second address, `net` a network in first place (hash:net), `net2` a network in
 * third place (hash:ip,port,net). The names are the fields of an element's key.
 */
export type Dimension = 'ip' | 'port' | 'ip2' | 'net' | 'net2';

export interface SetTypeInfo {
  readonly name: IpsetType;
  readonly dimensions: readonly Dimension[];
  readonly kind: 'hash' | 'bitmap';
  /** Whether elements may carry `nomatch` (only the types that store networks). */
  readonly nomatch: boolean;
}

export const SET_TYPES: Readonly<Record<IpsetType, SetTypeInfo>> = {
  'hash:ip': { name: 'hash:ip', dimensions: ['ip'], kind: 'hash', nomatch: false },
  'hash:ip,port': { name: 'hash:ip,port', dimensions: ['ip', 'port'], kind: 'hash', nomatch: false },
  'hash:ip,port,ip': { name: 'hash:ip,port,ip', dimensions: ['ip', 'port', 'ip2'], kind: 'hash', nomatch: false },
  'hash:ip,port,net': { name: 'hash:ip,port,net', dimensions: ['ip', 'port', 'net2'], kind: 'hash', nomatch: true },
  'hash:net': { name: 'hash:net', dimensions: ['net'], kind: 'hash', nomatch: true },
  'bitmap:port': { name: 'bitmap:port', dimensions: ['port'], kind: 'bitmap', nomatch: false },
};

const ALIASES: Readonly<Record<string, IpsetType>> = {
  iphash: 'hash:ip',
  ipporthash: 'hash:ip,port',
  ipportiphash: 'hash:ip,port,ip',
  ipportnethash: 'hash:ip,port,net',
  nethash: 'hash:net',
  portmap: 'bitmap:port',
};

// Real types knetsim does not model, so the error can say "not modelled" rather than "unknown".
const OTHER_KERNEL_TYPES = new Set([
  'bitmap:ip',
  'bitmap:ip,mac',
  'hash:ip,mac',
  'hash:ip,mark',
  'hash:mac',
  'hash:net,iface',
  'hash:net,net',
  'hash:net,port',
  'hash:net,port,net',
  'hash:ip,port,net,port',
  'list:set',
]);

/** The canonical type a type name or alias denotes, or why it is refused. */
export function resolveSetType(text: string): { type: IpsetType } | { reason: string } {
  if (Object.hasOwn(SET_TYPES, text)) return { type: text as IpsetType };
  const alias = Object.hasOwn(ALIASES, text) ? ALIASES[text] : undefined;
  if (alias) return { type: alias };
  if (OTHER_KERNEL_TYPES.has(text)) return { reason: `set type "${text}" is not modelled by knetsim` };
  return { reason: `set type "${text}" is unknown` };
}

export function isIpsetType(text: string): text is IpsetType {
  return Object.hasOwn(SET_TYPES, text);
}
