// The element iptables' SET target adds to or deletes from a set, taken from a packet as
// the kernel's kadt functions take it: hash:net and hash:ip,port,net add the packet's
// address under the longest prefix length the set holds (INIT_CIDR(h->nets[0].cidr[0],
// HOST_MASK)), hash:ip masks it with the set's netmask, bitmap:port skips a port outside
// its range. A failed add or delete (present, absent, full) changes nothing, as the target
// ignores the error.
import { maskOf } from '../net/ipv4';
import { addressMask } from './create-options';
import type { IpsetKey } from './element';
import { elementForFlags, type PacketFields, type SetFlag } from './packet-lookup';
import { addKey, deleteKey, type IpSet } from './set';

/** The longest prefix length the set holds an element of (32 when it holds none). */
function longestPrefix(set: IpSet): number {
  for (let length = 32; length >= 1; length--) if (set.prefixCounts[length]! > 0) return length;
  return 32;
}

/** The key the kernel adds or deletes for this packet, or null when it takes none from it. */
export function keyFromPacket(set: IpSet, flags: readonly SetFlag[], packet: PacketFields): IpsetKey | null {
  const lookup = elementForFlags(set.type, flags, packet);
  if (lookup === null) return null;
  const { ip, proto, port, ip2 } = lookup;
  switch (set.type) {
    case 'hash:ip':
      return ip === undefined ? null : { ip: (ip & addressMask(set.options)) >>> 0 };
    case 'hash:ip,port':
      return ip === undefined || port === undefined ? null : { ip, proto: proto!, port };
    case 'hash:ip,port,ip':
      return ip === undefined || port === undefined || ip2 === undefined ? null : { ip, proto: proto!, port, ip2 };
    case 'hash:ip,port,net': {
      if (ip === undefined || port === undefined || ip2 === undefined) return null;
      const cidr2 = longestPrefix(set);
      return { ip, proto: proto!, port, ip2: (ip2 & maskOf(cidr2)) >>> 0, cidr2 };
    }
    case 'hash:net': {
      if (ip === undefined) return null;
      const cidr = longestPrefix(set);
      return { ip: (ip & maskOf(cidr)) >>> 0, cidr };
    }
    case 'bitmap:port': {
      const range = set.options.range!;
      return port === undefined || port < range.first || port > range.last ? null : { port };
    }
  }
}

/** Adds (or deletes) the packet's element; false when nothing changed. */
export function editFromPacket(set: IpSet, add: boolean, flags: readonly SetFlag[], packet: PacketFields): boolean {
  const key = keyFromPacket(set, flags, packet);
  if (key === null) return false;
  if (!add) return deleteKey(set, key).ok;
  return addKey(set, key).ok;
}
