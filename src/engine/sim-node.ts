// A simulated node: its interfaces and addresses, routes, loaded rules, ipsets
// and conntrack table, built from dumps or from what the controllers produced.

import type { VirtualService } from '../ipvs';
import type { LoadBalancerRR } from '../kube-proxy';
import {
  ConntrackTable,
  type IPv4,
  type IPv4Prefix,
  isLoopback,
  maskOf,
  type PolicyRule,
  type Route,
  type VxlanDevice,
} from '../net';
import type { AddrType, CompiledRuleset, NfPacket, SetEdit } from '../netfilter';
import type { NftRuleset } from '../nftables';

export interface InterfaceAddress {
  readonly address: IPv4;
  readonly prefixLength: number;
}

export interface NodeInterface {
  readonly name: string;
  readonly addresses: readonly InterfaceAddress[];
  /**
   * A Linux bridge (cni0): with br_netfilter and bridge-nf-call-iptables=1, as on every
   * Kubernetes node, packets entering through one of its ports carry that port as physdev-in.
   */
  readonly bridge?: boolean;
}

/** A VXLAN device (flannel.1) and the tables that say where its packets go: next hop → VTEP MAC → remote IP. */
export interface VxlanEndpoint {
  readonly device: VxlanDevice;
  readonly mtu: number;
  /** Permanent neighbour entries on the device (`ip neigh`). */
  readonly neighbours: ReadonlyMap<IPv4, string>;
  /** The device's forwarding database (`bridge fdb`): VTEP MAC → remote public IP. */
  readonly fdb: ReadonlyMap<string, IPv4>;
}

/** What `-m set` needs from the node's ipsets; the engine does not care how they are stored. */
export interface SetLookup {
  /** Membership, once SET targets' changes (`edits`, in order) are applied to the set. */
  test(name: string, flags: readonly ('src' | 'dst')[], packet: NfPacket, edits?: readonly SetEdit[]): boolean;
  has(name: string): boolean;
  readonly lookups: number;
  /** A copy SET edits can change in place (the node's own sets stay as loaded); absent: sets SET cannot change. */
  editable?(): EditableSets;
}

/** Sets that SET edits change in place: what sampled connections leave on the node. */
export interface EditableSets extends SetLookup {
  apply(edits: readonly SetEdit[]): void;
}

/** A kube-proxy userspace-mode proxy socket: where it listens on the node and whom it proxies to. */
export interface UserspaceProxy {
  readonly protocol: 'tcp' | 'udp' | 'sctp' | 'icmp';
  /** The proxy port (kube-proxy listens on every address). */
  readonly port: number;
  readonly servicePortName: string;
  readonly endpoints: readonly { readonly address: IPv4; readonly port: number }[];
}

export interface SimNode {
  readonly name: string;
  readonly interfaces: readonly NodeInterface[];
  /** Empty when unknown: then local addresses decide, and everything else leaves by the default interface. */
  readonly routes: readonly Route[];
  readonly ruleset: CompiledRuleset;
  readonly sets: SetLookup | null;
  readonly conntrack: ConntrackTable;
  /** The interface outside traffic arrives on and leaves by when no route says otherwise. */
  readonly defaultInterface: string;
  /**
   * net.ipv4.conf.all.route_localnet. Off: a packet arriving on a device with a 127/8 source or
   * destination is dropped as a martian. Absent: not known (a node's dumps), taken as on.
   */
  readonly routeLocalnet?: boolean;
  /** kube-proxy userspace mode's proxy sockets; empty otherwise. */
  readonly userspace?: readonly UserspaceProxy[];
  /** kube-proxy's LoadBalancerRR as it stands (sampled packets advance it, as real connections do). */
  readonly userspaceBalancer?: { lb: LoadBalancerRR };
  /** IPVS virtual services (kube-proxy IPVS mode, or a node's ipvsadm dump); empty otherwise. */
  readonly ipvs?: readonly VirtualService[];
  /** nftables tables (kube-proxy nftables mode, or a node's `nft list ruleset`); their base chains run beside iptables'. */
  readonly nft?: NftRuleset;
  /** flannel VXLAN's flannel.1, when the node has one. */
  readonly vxlan?: VxlanEndpoint;
  /**
   * The policy routing rules (`ip rule`) routing goes through; absent: the kernel's default three
   * (local, main, default), the fast path every scenario node takes.
   */
  readonly policyRules?: readonly PolicyRule[];
  /**
   * Address ranges no host owns (a cluster's service CIDR): a packet that leaves the node for one
   * is answered by nobody (a ClusterIP kube-proxy did not translate). Absent: not known (dumps).
   */
  readonly virtualCIDRs?: readonly IPv4Prefix[];
  /** Pod subnets of other nodes the CNI could not route to, and why (host-gw off the node's subnet). */
  readonly unroutable?: readonly { readonly prefix: IPv4Prefix; readonly why: string }[];
}

export function makeSimNode(spec: Omit<SimNode, 'conntrack'> & { conntrack?: ConntrackTable }): SimNode {
  return { ...spec, conntrack: spec.conntrack ?? new ConntrackTable() };
}

export function localAddresses(node: SimNode): IPv4[] {
  return node.interfaces.flatMap((i) => i.addresses.map((a) => a.address));
}

// The look-ups below run for every traced packet: loops over the interfaces, with no closures or
// prefix objects made per call.

export function isLocalAddress(node: SimNode, address: IPv4): boolean {
  return isLoopback(address) || interfaceHolding(node, address) !== null;
}

export function interfaceOfAddress(node: SimNode, address: IPv4): string | null {
  if (isLoopback(address)) return 'lo';
  return interfaceHolding(node, address)?.name ?? null;
}

/** The node's interface of that name. */
export function interfaceNamed(node: SimNode, name: string): SimNode['interfaces'][number] | null {
  const interfaces = node.interfaces;
  for (let i = 0; i < interfaces.length; i++) if (interfaces[i]!.name === name) return interfaces[i]!;
  return null;
}

/** The interface that has the address as one of its own. */
function interfaceHolding(node: SimNode, address: IPv4): SimNode['interfaces'][number] | null {
  const interfaces = node.interfaces;
  for (let i = 0; i < interfaces.length; i++) {
    const addresses = interfaces[i]!.addresses;
    for (let k = 0; k < addresses.length; k++) if (addresses[k]!.address === address) return interfaces[i]!;
  }
  return null;
}

/** The interface whose subnet holds the address (where a pod or a neighbour is attached). */
export function interfaceOnLink(node: SimNode, address: IPv4): string | null {
  const interfaces = node.interfaces;
  for (let i = 0; i < interfaces.length; i++) {
    const addresses = interfaces[i]!.addresses;
    for (let k = 0; k < addresses.length; k++) {
      const a = addresses[k]!;
      // As int32 words (no numbers above 2^31 to box): both sides masked alike.
      const mask = maskOf(a.prefixLength) | 0;
      if (a.prefixLength < 32 && (a.address & mask) === (address & mask)) return interfaces[i]!.name;
    }
  }
  return null;
}

export function primaryAddress(node: SimNode, iface: string): IPv4 | null {
  return interfaceNamed(node, iface)?.addresses[0]?.address ?? null;
}

/** A node's addresses that are not UNICAST (its own: LOCAL; its subnets' broadcasts: BROADCAST), as addressType finds them. */
const LOCAL_TYPES = new WeakMap<SimNode, Map<IPv4, AddrType>>();

function localTypesOf(node: SimNode): Map<IPv4, AddrType> {
  let types = LOCAL_TYPES.get(node);
  if (types) return types;
  types = new Map();
  const first = (address: IPv4, type: AddrType) => {
    if (!types!.has(address)) types!.set(address, type);
  };
  // In addressType's order: the interfaces' addresses and broadcasts, then the local routing table.
  for (const i of node.interfaces)
    for (const a of i.addresses) {
      first(a.address, 'LOCAL');
      if (a.prefixLength < 31) first((a.address | (~maskOf(a.prefixLength) >>> 0)) >>> 0, 'BROADCAST');
    }
  for (const r of node.routes)
    if (r.table === 'local' && r.dst.length === 32)
      first(r.dst.address, r.type === 'broadcast' ? 'BROADCAST' : 'LOCAL');
  LOCAL_TYPES.set(node, types);
  return types;
}

/** inet_addr_type: what -m addrtype sees. With an interface, only that interface's addresses are LOCAL. */
export function addressType(node: SimNode, address: IPv4, limitIface: string | null): AddrType {
  if (address >>> 24 === 0 || address === 0xffffffff) return 'BROADCAST';
  if (address >>> 28 === 0xe) return 'MULTICAST';
  if (limitIface === null) {
    if (isLoopback(address)) return 'LOCAL';
    // Routing asks this of every packet (and -m addrtype of many): the node's answer per address, made once.
    return localTypesOf(node).get(address) ?? 'UNICAST';
  }
  const ifaces = node.interfaces.filter((i) => i.name === limitIface);
  if (isLoopback(address) && limitIface === 'lo') return 'LOCAL';
  for (const i of ifaces)
    for (const a of i.addresses) {
      if (a.address === address) return 'LOCAL';
      const hostBits = ~maskOf(a.prefixLength) >>> 0;
      if (a.prefixLength < 31 && (a.address | hostBits) >>> 0 === address) return 'BROADCAST';
    }
  // __inet_dev_addr_type: the local table's answer counts only when its route's device is that one.
  for (const r of node.routes)
    if (
      r.table === 'local' &&
      r.dst.length === 32 &&
      r.dst.address === address &&
      (r.dev === null || r.dev === limitIface)
    )
      return r.type === 'broadcast' ? 'BROADCAST' : 'LOCAL';
  return 'UNICAST';
}
