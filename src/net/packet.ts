// The packet as the data plane sees it: IPv4 + L4 header fields that netfilter,
// conntrack and routing look at. Encapsulation nests a whole inner packet.
import { formatIPv4, type IPv4 } from './ipv4';

export type L4Protocol = 'tcp' | 'udp' | 'sctp' | 'icmp';

/** IANA protocol numbers, as `-p 6` or `/etc/protocols` name them. */
export const PROTOCOL_NUMBERS: Readonly<Record<L4Protocol, number>> = { tcp: 6, udp: 17, sctp: 132, icmp: 1 };

/** The TTL a Linux host's packets start with (net.ipv4.ip_default_ttl). */
export const DEFAULT_TTL = 64;

export interface TcpFlags {
  readonly syn: boolean;
  readonly ack: boolean;
  readonly fin: boolean;
  readonly rst: boolean;
  readonly psh: boolean;
  readonly urg: boolean;
}

export const SYN: TcpFlags = { syn: true, ack: false, fin: false, rst: false, psh: false, urg: false };
export const ACK: TcpFlags = { syn: false, ack: true, fin: false, rst: false, psh: false, urg: false };

/**
 * An ICMP packet carries its message type where other packets have their source port, and its
 * code where they have the destination port: -m icmp, ipsets' icmp: elements and conntrack read
 * them there. (The echo identifier, which ICMP NAT may change on a clash, is not modelled.)
 */
export const ICMP_ECHO_REQUEST = 8;

/**
 * ICMP queries and their answers, both ways (nf_conntrack_proto_icmp's invmap): a query starts a
 * connection and its answer is the reply direction. No other ICMP message can start one.
 */
const ICMP_COUNTERPART: ReadonlyMap<number, number> = new Map([
  [8, 0],
  [0, 8],
  [13, 14],
  [14, 13],
  [15, 16],
  [16, 15],
  [17, 18],
  [18, 17],
]);

/** The ICMP type answering (or answered by) `type`; undefined for a type with no counterpart (errors). */
export function icmpCounterpart(type: number): number | undefined {
  return ICMP_COUNTERPART.get(type);
}

/**
 * The message a Linux host sends back for an ICMP message it receives: an echo or timestamp
 * reply; undefined for anything else (it discards information and address-mask requests).
 */
export function icmpAnswerOf(type: number): number | undefined {
  return type === 8 || type === 13 ? icmpCounterpart(type) : undefined;
}

/** Whether an ICMP message of this type opens a connection: echo, timestamp, info and address mask requests. */
export function isIcmpQuery(type: number): boolean {
  return type === 8 || type === 13 || type === 15 || type === 17;
}

export interface Packet {
  readonly src: IPv4;
  readonly dst: IPv4;
  readonly protocol: L4Protocol;
  /** Source and destination ports (ICMP: type and code; see ICMP_ECHO_REQUEST). */
  readonly sport: number;
  readonly dport: number;
  /** Total IPv4 length in bytes. */
  readonly length: number;
  readonly tcpFlags: TcpFlags | null;
  /** Don't-fragment bit. */
  readonly df: boolean;
  /** One fragment of a larger packet (its ports are not visible to a flow hash). */
  readonly fragment?: boolean;
  /** The encapsulated packet, when this one is an outer VXLAN/UDP header. */
  readonly inner: Packet | null;
}

export interface PacketSpec {
  src: IPv4;
  dst: IPv4;
  protocol: L4Protocol;
  sport?: number;
  dport: number;
  length?: number;
  tcpFlags?: TcpFlags | null;
}

/**
 * The length of a packet nobody gave one: a bare SYN (60 bytes), a small datagram (64), or
 * ping's default echo request (84: 56 bytes of data after the ICMP header).
 */
export function defaultLength(protocol: L4Protocol): number {
  return protocol === 'tcp' ? 60 : protocol === 'icmp' ? 84 : 64;
}

/** A first packet of a connection: a TCP SYN, a UDP/SCTP datagram, or an ICMP message (echo request unless `sport` says). */
export function makePacket(spec: PacketSpec): Packet {
  return {
    src: spec.src,
    dst: spec.dst,
    protocol: spec.protocol,
    sport: spec.sport ?? (spec.protocol === 'icmp' ? ICMP_ECHO_REQUEST : 40000),
    dport: spec.dport,
    length: spec.length ?? defaultLength(spec.protocol),
    tcpFlags: spec.tcpFlags === undefined ? (spec.protocol === 'tcp' ? SYN : null) : spec.tcpFlags,
    df: true,
    inner: null,
  };
}

/**
 * A packet's addresses and ports as traces print them: "tcp 10.0.0.2:40000 -> 10.180.0.1:80";
 * an ICMP packet's type and code instead of ports: "icmp 10.0.0.2 -> 10.180.0.1 type 8 code 0".
 */
export function formatFlow(p: {
  readonly protocol: string;
  readonly src: IPv4;
  readonly sport: number;
  readonly dst: IPv4;
  readonly dport: number;
}): string {
  if (p.protocol === 'icmp') return `icmp ${formatIPv4(p.src)} -> ${formatIPv4(p.dst)} type ${p.sport} code ${p.dport}`;
  return `${p.protocol} ${formatIPv4(p.src)}:${p.sport} -> ${formatIPv4(p.dst)}:${p.dport}`;
}

/** Where a connection goes as traces name it: "10.244.1.5:8080", or the address alone for ICMP (no ports). */
export function formatEndpoint(protocol: string, address: IPv4, port: number): string {
  return protocol === 'icmp' ? formatIPv4(address) : `${formatIPv4(address)}:${port}`;
}
