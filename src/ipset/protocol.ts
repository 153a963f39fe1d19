// IP protocols by the names ipset reads and prints: the tool resolves names through
// /etc/protocols (name or alias, case as written) and prints the first name, else the number.
import { parseUnsigned } from './number-text';

/** The protocol numbers the data plane treats specially. */
export const IPPROTO = { ICMP: 1, TCP: 6, UDP: 17, ICMPV6: 58, SCTP: 132, UDPLITE: 136 } as const;

// [number, name, ...aliases] as in Debian's /etc/protocols (netbase), numbers 1-255 only:
// protocol 0 is refused by the kernel and numbers above 255 do not fit the IP header.
const PROTOCOLS: readonly (readonly [number, string, ...string[]])[] = [
  [1, 'icmp', 'ICMP'],
  [2, 'igmp', 'IGMP'],
  [3, 'ggp', 'GGP'],
  [4, 'ipencap', 'IP-ENCAP'],
  [5, 'st', 'ST'],
  [6, 'tcp', 'TCP'],
  [8, 'egp', 'EGP'],
  [9, 'igp', 'IGP'],
  [12, 'pup', 'PUP'],
  [17, 'udp', 'UDP'],
  [20, 'hmp', 'HMP'],
  [22, 'xns-idp', 'XNS-IDP'],
  [27, 'rdp', 'RDP'],
  [29, 'iso-tp4', 'ISO-TP4'],
  [33, 'dccp', 'DCCP'],
  [36, 'xtp', 'XTP'],
  [37, 'ddp', 'DDP'],
  [38, 'idpr-cmtp', 'IDPR-CMTP'],
  [41, 'ipv6', 'IPv6'],
  [43, 'ipv6-route', 'IPv6-Route'],
  [44, 'ipv6-frag', 'IPv6-Frag'],
  [45, 'idrp', 'IDRP'],
  [46, 'rsvp', 'RSVP'],
  [47, 'gre', 'GRE'],
  [50, 'esp', 'IPSEC-ESP'],
  [51, 'ah', 'IPSEC-AH'],
  [57, 'skip', 'SKIP'],
  [58, 'ipv6-icmp', 'IPv6-ICMP'],
  [59, 'ipv6-nonxt', 'IPv6-NoNxt'],
  [60, 'ipv6-opts', 'IPv6-Opts'],
  [73, 'rspf', 'RSPF', 'CPHB'],
  [81, 'vmtp', 'VMTP'],
  [88, 'eigrp', 'EIGRP'],
  [89, 'ospf', 'OSPFIGP'],
  [93, 'ax.25', 'AX.25'],
  [94, 'ipip', 'IPIP'],
  [97, 'etherip', 'ETHERIP'],
  [98, 'encap', 'ENCAP'],
  [103, 'pim', 'PIM'],
  [108, 'ipcomp', 'IPCOMP'],
  [112, 'vrrp', 'VRRP'],
  [115, 'l2tp', 'L2TP'],
  [124, 'isis', 'ISIS'],
  [132, 'sctp', 'SCTP'],
  [133, 'fc', 'FC'],
  [135, 'mobility-header', 'Mobility-Header'],
  [136, 'udplite', 'UDPLite'],
  [137, 'mpls-in-ip', 'MPLS-in-IP'],
  [138, 'manet'],
  [139, 'hip', 'HIP'],
  [140, 'shim6', 'Shim6'],
  [141, 'wesp', 'WESP'],
  [142, 'rohc', 'ROHC'],
  [143, 'ethernet', 'Ethernet'],
];

const BY_NAME = new Map<string, number>();
const NAME_OF = new Map<number, string>();
for (const [number, name, ...aliases] of PROTOCOLS) {
  NAME_OF.set(number, name);
  for (const n of [name, ...aliases]) BY_NAME.set(n, number);
}

/** The protocol a name, alias or decimal number (1-255) denotes, or null. */
export function protocolNumber(text: string): number | null {
  const named = BY_NAME.get(text);
  if (named !== undefined) return named;
  // A number as ipset reads one (strtoul, base 0: "0x2f" and "057" are gre); 0 is refused.
  const value = parseUnsigned(text, 255);
  return value === null || value === 0 ? null : value;
}

/** The protocol as ipset save prints it. */
export function protocolName(protocol: number): string {
  return NAME_OF.get(protocol) ?? String(protocol);
}

/** Protocols whose packets carry ports the kernel can read (ip_set_proto_with_ports). */
export function protocolHasPorts(protocol: number): boolean {
  return (
    protocol === IPPROTO.TCP || protocol === IPPROTO.UDP || protocol === IPPROTO.SCTP || protocol === IPPROTO.UDPLITE
  );
}
