// A node's devices and routes as flannel and the CNI bridge plugin leave them:
// eth0 on the underlay, cni0 as the pods' gateway, flannel.1 for VXLAN, and one
// route per remote node's pod subnet (via flannel.1 for VXLAN, via the node's
// address for host-gw or VXLAN with directRouting on the same subnet).
// VXLAN also needs, per remote node, a permanent neighbour entry (its `.0`
// address → its VtepMAC) and an FDB entry (VtepMAC → its public IP). host-gw
// can only route to nodes on its own L2 segment: for others flanneld's route
// add fails, so no route exists and `notes` says why.
// Encapsulation itself is not modelled here yet.
import type { ClusterConfig, Node } from '../model';
import { formatIPv4, maskOf, parseIPv4 } from '../net';
import { vtepMac } from './vtep-mac';

export interface DeviceAddress {
  readonly address: string;
  readonly prefixLength: number;
}

export interface Device {
  readonly name: string;
  readonly addresses: readonly DeviceAddress[];
  readonly mtu?: number;
}

export interface NodeNetwork {
  readonly devices: readonly Device[];
  /** `ip route show table all` lines (IPv4). */
  readonly routes: readonly string[];
  /** `ip neigh show` lines: flannel's permanent entries on flannel.1. */
  readonly neighbours: readonly string[];
  /** `bridge fdb show` lines: flannel's entries on flannel.1. */
  readonly fdb: readonly string[];
  /** Why a remote node's pod subnet has no route (as flanneld would log it). */
  readonly notes: readonly string[];
  /** The same, per pod subnet, for traces to say why a packet for it leaves by the default route. */
  readonly unroutable: readonly { readonly cidr: string; readonly why: string }[];
  /** VXLAN: the local VTEP, and per remote node its `.0` address, VtepMAC and public IP. */
  readonly vxlan?: {
    readonly local: string;
    readonly vni: number;
    readonly port: number;
    readonly mtu: number;
    readonly remotes: readonly { readonly address: string; readonly mac: string; readonly publicIP: string }[];
  };
}

function v4(ip: string): boolean {
  return !ip.includes(':');
}

function toNumber(ip: string): number {
  return parseIPv4(ip)!;
}

const toText = formatIPv4;

function network(cidr: string): { base: number; length: number } {
  const [ip, len] = cidr.split('/');
  const length = Number(len);
  return { base: (toNumber(ip!) & maskOf(length)) >>> 0, length };
}

/** The node's flannel lease: its IPv4 pod CIDR (the kube subnet manager uses `spec.podCIDR`). */
export function leaseOf(node: Node): string | undefined {
  return node.podCIDRs.find((c) => v4(c));
}

function internalIPs(node: Node): string[] {
  return node.addresses.filter((a) => a.type === 'InternalIP' && v4(a.address)).map((a) => a.address);
}

/** The address flanneld publishes as the node's public IP: its first IPv4 InternalIP. */
export function publicIPOf(node: Node): string | undefined {
  return internalIPs(node)[0];
}

function subnetOf(node: Node, ip: string): string {
  if (node.subnet && v4(node.subnet)) return node.subnet;
  return `${toText((toNumber(ip) & 0xffffff00) >>> 0)}/24`;
}

function sameSubnet(a: string, b: string, subnet: string): boolean {
  const { base, length } = network(subnet);
  const mask = maskOf(length);
  return (toNumber(a) & mask) >>> 0 === base && (toNumber(b) & mask) >>> 0 === base;
}

export function nodeNetwork(cluster: ClusterConfig, nodes: readonly Node[], nodeName: string): NodeNetwork {
  const self = nodes.find((n) => n.name === nodeName);
  const devices: Device[] = [{ name: 'lo', addresses: [{ address: '127.0.0.1', prefixLength: 8 }] }];
  const routes: string[] = [];
  const neighbours: string[] = [];
  const fdb: string[] = [];
  const notes: string[] = [];
  const unroutable: { cidr: string; why: string }[] = [];
  const remotes: { address: string; mac: string; publicIP: string }[] = [];
  if (!self) return { devices, routes, neighbours, fdb, notes, unroutable };
  const ips = internalIPs(self);
  const primary = ips[0];
  if (primary) {
    const subnet = subnetOf(self, primary);
    const { base, length } = network(subnet);
    devices.push({
      name: 'eth0',
      addresses: ips.map((address) => ({ address, prefixLength: network(subnetOf(self, address)).length })),
      mtu: cluster.cni.underlayMTU,
    });
    routes.push(`default via ${toText(base + 1)} dev eth0`);
    routes.push(`${toText(base)}/${length} dev eth0 proto kernel scope link src ${primary}`);
  }
  const podCIDR = leaseOf(self);
  const vxlan = cluster.cni.backend === 'vxlan';
  if (podCIDR) {
    const { base, length } = network(podCIDR);
    const podMTU = flannelMTU(cluster);
    devices.push({ name: 'cni0', addresses: [{ address: toText(base + 1), prefixLength: length }], mtu: podMTU });
    if (vxlan)
      devices.push({ name: 'flannel.1', addresses: [{ address: toText(base), prefixLength: 32 }], mtu: podMTU });
    routes.push(`${toText(base)}/${length} dev cni0 proto kernel scope link src ${toText(base + 1)}`);
  }
  for (const other of [...nodes].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (other.name === nodeName) continue;
    const otherCIDR = leaseOf(other);
    const otherIP = publicIPOf(other);
    if (!otherCIDR || !otherIP) continue;
    const onSegment = primary !== undefined && sameSubnet(primary, otherIP, subnetOf(self, primary));
    const { base, length } = network(otherCIDR);
    const dst = `${toText(base)}/${length}`;
    if (!vxlan && !onSegment) {
      const why = `host-gw: no route to ${dst} of ${other.name}: its address ${otherIP} is not on this node's subnet ${primary ? subnetOf(self, primary) : '(none)'} (the kernel refuses a gateway that is not directly reachable: network is unreachable)`;
      notes.push(why);
      unroutable.push({ cidr: dst, why });
      continue;
    }
    if (!vxlan || (cluster.cni.directRouting && onSegment)) {
      routes.push(`${dst} via ${otherIP} dev eth0`);
      continue;
    }
    const mac = vtepMac(other);
    routes.push(`${dst} via ${toText(base)} dev flannel.1 onlink`);
    remotes.push({ address: toText(base), mac, publicIP: otherIP });
    neighbours.push(`${toText(base)} dev flannel.1 lladdr ${mac} PERMANENT`);
    fdb.push(`${mac} dev flannel.1 dst ${otherIP} self permanent`);
  }
  for (const d of devices)
    for (const a of d.addresses)
      if (d.name !== 'lo')
        routes.push(`local ${a.address} dev ${d.name} table local proto kernel scope host src ${a.address}`);
  const vtep =
    vxlan && podCIDR && primary
      ? {
          vxlan: {
            local: primary,
            vni: cluster.cni.vni,
            port: cluster.cni.port,
            mtu: flannelMTU(cluster),
            remotes,
          },
        }
      : {};
  return { devices, routes, neighbours, fdb, notes, unroutable, ...vtep };
}

/** cni0's address: the pod subnet's first host, also FLANNEL_SUBNET's address in subnet.env. */
export function bridgeAddress(podCIDR: string): string {
  return toText(network(podCIDR).base + 1);
}

/** The pods' MTU: the underlay's, less VXLAN's 50 bytes (outer IPv4 20, UDP 8, VXLAN 8, inner Ethernet 14). */
export function flannelMTU(cluster: ClusterConfig): number {
  return cluster.cni.backend === 'vxlan' ? cluster.cni.underlayMTU - 50 : cluster.cni.underlayMTU;
}
