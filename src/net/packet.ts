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

export interface Packet {
  readonly src: IPv4;
  readonly dst: IPv4;
  readonly protocol: L4Protocol;
  /** Source and destination ports (ICMP: type and code). */
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

/** A first packet of a connection: a TCP SYN, or a UDP/SCTP datagram. */
export function makePacket(spec: PacketSpec): Packet {
  return {
    src: spec.src,
    dst: spec.dst,
    protocol: spec.protocol,
    sport: spec.sport ?? 40000,
    dport: spec.dport,
    length: spec.length ?? (spec.protocol === 'tcp' ? 60 : 64),
    tcpFlags: spec.tcpFlags === undefined ? (spec.protocol === 'tcp' ? SYN : null) : spec.tcpFlags,
    df: true,
    inner: null,
  };
}

/** A packet's addresses and ports as traces print them: "tcp 10.0.0.2:40000 -> 10.180.0.1:80". */
export function formatFlow(p: {
  readonly protocol: string;
  readonly src: IPv4;
  readonly sport: number;
  readonly dst: IPv4;
  readonly dport: number;
}): string {
  return `${p.protocol} ${formatIPv4(p.src)}:${p.sport} -> ${formatIPv4(p.dst)}:${p.dport}`;
}
