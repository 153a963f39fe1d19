// VXLAN encapsulation as the kernel's vxlan driver does it for flannel.1:
// the inner Ethernet frame inside a VXLAN header (8 bytes, flags 0x08, 24-bit
// VNI) inside UDP to the remote VTEP's port (8472, Linux's pre-IANA default
// that flannel keeps) inside an outer IPv4 header. 50 bytes of overhead.
import { ETHERNET_HEADER, IPV4_HEADER, UDP_HEADER, VXLAN_HEADER } from './header-sizes';
import type { IPv4 } from './ipv4';
import type { Packet } from './packet';

/** What VXLAN adds to an inner IPv4 packet: inner Ethernet, VXLAN, UDP and outer IPv4 headers. */
export const VXLAN_OVERHEAD = ETHERNET_HEADER + VXLAN_HEADER + UDP_HEADER + IPV4_HEADER;

/** The kernel's default net.ipv4.ip_local_port_range, used when the device sets no srcport range. */
export const VXLAN_SOURCE_PORT_MIN = 32768;
export const VXLAN_SOURCE_PORT_END = 61000; // exclusive: the range's 60999 plus one, as udp_flow_src_port does

export interface VxlanDevice {
  readonly name: string;
  readonly vni: number;
  /** UDP destination port. */
  readonly port: number;
  /** The local VTEP address (the node's public IP). */
  readonly local: IPv4;
}

export interface Encapsulated {
  /** The outer UDP packet; `inner` is the original packet. */
  readonly outer: Packet;
  readonly vni: number;
  /** Bytes of the outer Ethernet frame as a capture on the underlay shows it. */
  readonly frameBytes: number;
}

/** FNV-1a over 32-bit words: a stand-in for the kernel's flow hash (see vxlanSourcePort). */
function flowHash(words: readonly number[]): number {
  let h = 0x811c9dc5;
  for (const w of words)
    for (let shift = 0; shift < 32; shift += 8) h = Math.imul(h ^ ((w >>> shift) & 0xff), 0x01000193) >>> 0;
  return h >>> 0;
}

/**
 * The outer UDP source port for an inner flow. The kernel takes the inner
 * flow's hash (skb_get_hash), folds it (hash ^= hash << 16) and scales it into
 * the port range, so every packet of one flow leaves on one port and flows
 * spread over the range for ECMP. The kernel keys that hash with a secret
 * chosen at boot, so no model can predict the exact port a real host picks:
 * we keep its properties (per flow, in range, the same fold and scaling) with
 * a fixed hash. Fragments hash without ports (the flow dissector does not
 * parse them), so a fragmented packet's frames share one port, a different one
 * from its flow's unfragmented packets. ICMP has no ports to hash either
 * (proto_ports_offset knows none for it): its type and code do not count.
 */
export function vxlanSourcePort(inner: Packet): number {
  const ports =
    inner.fragment || inner.protocol === 'icmp' ? 0 : ((inner.sport & 0xffff) << 16) | (inner.dport & 0xffff);
  let hash = flowHash([inner.src, inner.dst, ports, inner.protocol.length]);
  hash = (hash ^ (hash << 16)) >>> 0;
  const span = VXLAN_SOURCE_PORT_END - VXLAN_SOURCE_PORT_MIN;
  return Math.floor((hash * span) / 2 ** 32) + VXLAN_SOURCE_PORT_MIN;
}

/** Wrap a packet for the remote VTEP. The outer header does not set DF (the vxlan device's `df unset` default). */
export function vxlanEncapsulate(inner: Packet, device: VxlanDevice, remote: IPv4): Encapsulated {
  const outer: Packet = {
    src: device.local,
    dst: remote,
    protocol: 'udp',
    sport: vxlanSourcePort(inner),
    dport: device.port,
    length: inner.length + VXLAN_OVERHEAD,
    tcpFlags: null,
    df: false,
    inner,
  };
  return { outer, vni: device.vni, frameBytes: outer.length + ETHERNET_HEADER };
}

/** The receiving VTEP's view: the inner packet, if the outer one is VXLAN for this device. */
export function vxlanDecapsulate(outer: Packet, device: VxlanDevice): Packet | null {
  if (outer.protocol !== 'udp' || outer.dport !== device.port || outer.dst !== device.local) return null;
  return outer.inner;
}

/**
 * The outer header's TOS byte for an inner one: a tunnel with no TOS of its own (flannel's) carries
 * the inner ECN bits, a congestion mark (CE) as ECT(0) (INET_ECN_encapsulate).
 */
export function ecnEncapsulated(innerTos: number): number {
  const ecn = innerTos & 3;
  return ecn === 3 ? 2 : ecn;
}
