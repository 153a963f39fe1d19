// Membership tests as the kernel does them for a packet: hash types probe one key (net types
// one per prefix length present, most specific first, where a nomatch entry excludes).

import type { IPv4 } from '../net/ipv4';
import { maskOf } from '../net/ipv4';
import { addressMask } from './create-options';
import type { IpSet, IpsetEntry } from './set';

/**
 * What the kernel took from the packet for each dimension: `ip` for the first address (or the
 * address tested against hash:net), `proto`/`port` for the port dimension, `ip2` for the third.
 */
export interface IpsetLookup {
  readonly ip?: IPv4;
  readonly proto?: number;
  readonly port?: number;
  readonly ip2?: IPv4;
}

/**
 * `member` is the match result. `entry` is the entry that decided it: a matching one, or a
 * nomatch entry that excluded the packet (a `--return-nomatch` caller matches on that).
 * `probes` counts hash (or bitmap) look-ups, the cost the kernel paid.
 */
export interface Membership {
  readonly member: boolean;
  readonly probes: number;
  readonly entry?: IpsetEntry;
}

const MISS: Membership = { member: false, probes: 0 };

function decide(entry: IpsetEntry, probes: number): Membership {
  return { member: entry.options.nomatch !== true, probes, entry };
}

export function testMembership(set: IpSet, lookup: IpsetLookup): Membership {
  const { ip, proto, port, ip2 } = lookup;
  switch (set.type) {
    case 'hash:ip': {
      if (ip === undefined) return MISS;
      const entry = set.entries.get(String((ip & addressMask(set.options)) >>> 0));
      return entry ? decide(entry, 1) : { member: false, probes: 1 };
    }
    case 'hash:ip,port': {
      if (ip === undefined || proto === undefined || port === undefined) return MISS;
      const entry = set.entries.get(`${ip},${proto},${port}`);
      return entry ? decide(entry, 1) : { member: false, probes: 1 };
    }
    case 'hash:ip,port,ip': {
      if (ip === undefined || proto === undefined || port === undefined || ip2 === undefined) return MISS;
      const entry = set.entries.get(`${ip},${proto},${port},${ip2}`);
      return entry ? decide(entry, 1) : { member: false, probes: 1 };
    }
    case 'hash:ip,port,net': {
      if (ip === undefined || proto === undefined || port === undefined || ip2 === undefined) return MISS;
      const prefix = `${ip},${proto},${port},`;
      return probeNetworks(set, ip2, (net, length) => `${prefix}${net}/${length}`);
    }
    case 'hash:net':
      if (ip === undefined) return MISS;
      return probeNetworks(set, ip, (net, length) => `${net}/${length}`);
    case 'bitmap:port': {
      const range = set.options.range!;
      if (port === undefined || port < range.first || port > range.last) return MISS;
      const entry = set.entries.get(String(port));
      return entry ? decide(entry, 1) : { member: false, probes: 1 };
    }
  }
}

// The first entry found from the longest prefix length down decides, nomatch or not.
function probeNetworks(set: IpSet, address: IPv4, id: (net: number, length: number) => string): Membership {
  let probes = 0;
  for (let length = 32; length >= 1; length--) {
    if (set.prefixCounts[length] === 0) continue;
    probes++;
    const entry = set.entries.get(id((address & maskOf(length)) >>> 0, length));
    if (entry) return decide(entry, probes);
  }
  return { member: false, probes };
}
