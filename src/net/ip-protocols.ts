// IANA protocol numbers by the names iptables accepts after -p: the official names of
// Debian's /etc/protocols (netbase), which iptables-save also prints (getprotobynumber),
// and the few xtables knows itself.
import { parseCNumber } from './c-number';

/** Official name -> number, as /etc/protocols lists them. */
const OFFICIAL: ReadonlyArray<readonly [string, number]> = [
  ['ip', 0],
  ['hopopt', 0],
  ['icmp', 1],
  ['igmp', 2],
  ['ggp', 3],
  ['ipencap', 4],
  ['st', 5],
  ['tcp', 6],
  ['egp', 8],
  ['igp', 9],
  ['pup', 12],
  ['udp', 17],
  ['hmp', 20],
  ['xns-idp', 22],
  ['rdp', 27],
  ['iso-tp4', 29],
  ['dccp', 33],
  ['xtp', 36],
  ['ddp', 37],
  ['idpr-cmtp', 38],
  ['ipv6', 41],
  ['ipv6-route', 43],
  ['ipv6-frag', 44],
  ['idrp', 45],
  ['rsvp', 46],
  ['gre', 47],
  ['esp', 50],
  ['ah', 51],
  ['skip', 57],
  ['ipv6-icmp', 58],
  ['ipv6-nonxt', 59],
  ['ipv6-opts', 60],
  ['rspf', 73],
  ['vmtp', 81],
  ['eigrp', 88],
  ['ospf', 89],
  ['ax.25', 93],
  ['ipip', 94],
  ['etherip', 97],
  ['encap', 98],
  ['pim', 103],
  ['ipcomp', 108],
  ['vrrp', 112],
  ['l2tp', 115],
  ['isis', 124],
  ['sctp', 132],
  ['fc', 133],
  ['mobility-header', 135],
  ['udplite', 136],
  ['mpls-in-ip', 137],
  ['manet', 138],
  ['hip', 139],
  ['shim6', 140],
  ['wesp', 141],
  ['rohc', 142],
  ['ethernet', 143],
  ['mptcp', 262],
];

/** Names xtables resolves without /etc/protocols (xtables_chain_protos). */
const XTABLES_ONLY: ReadonlyArray<readonly [string, number]> = [
  ['icmpv6', 58],
  ['ipv6-mh', 135],
  ['mh', 135],
];

const BY_NAME = new Map<string, number>([...XTABLES_ONLY, ...OFFICIAL]);
/** The first official name of each number (getprotobynumber's answer). */
const BY_NUMBER = new Map<number, string>();
for (const [name, n] of OFFICIAL) if (!BY_NUMBER.has(n)) BY_NUMBER.set(n, name);

/**
 * The protocol number `-p TEXT` means (case-insensitive, as iptables lowercases it; "all" is 0), or
 * null. A number is read as strtoul reads it with base 0: 0x hex, a leading 0 octal ("0x6", "06": tcp).
 */
export function ipProtocolNumber(text: string): number | null {
  const lower = text.toLowerCase();
  const n = parseCNumber(lower, 255);
  if (n !== null) return n;
  if (lower === 'all') return 0;
  return BY_NAME.get(lower) ?? null;
}

/** The name iptables-save prints for a protocol number: its /etc/protocols name, else the number. */
export function ipProtocolName(n: number): string {
  return BY_NUMBER.get(n) ?? String(n);
}
