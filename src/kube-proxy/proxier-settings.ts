// The settings a kube-proxy instance runs with on one node, from the Cluster
// document's proxy section and the node's own facts.

import type { ClusterConfig, NodeFacts, ProxyMode } from '../model';

export interface LocalDetector {
  /** Arguments that match traffic from this cluster's pods ("-s 10.244.0.0/16"). */
  readonly ifLocal: readonly string[];
  readonly ifNotLocal: readonly string[];
  /** The same for nftables rules ("ip saddr 10.244.0.0/16", "iifname cni0"). */
  readonly ifLocalNFT: readonly string[];
  readonly ifNotLocalNFT: readonly string[];
}

/** kube-proxy's detectors (pkg/proxy/util/localdetector.go): by pod CIDR, bridge or interface prefix. */
function detectByCIDR(cidr: string): LocalDetector {
  return {
    ifLocal: ['-s', cidr],
    ifNotLocal: ['!', '-s', cidr],
    ifLocalNFT: ['ip', 'saddr', cidr],
    ifNotLocalNFT: ['ip', 'saddr', '!=', cidr],
  };
}

function detectByInterface(iptablesName: string, nftName: string): LocalDetector {
  return {
    ifLocal: ['-i', iptablesName],
    ifNotLocal: ['!', '-i', iptablesName],
    ifLocalNFT: ['iifname', nftName],
    ifNotLocalNFT: ['iifname', '!=', nftName],
  };
}

export interface ProxierSettings {
  /** The masquerade mark as kube-proxy writes it ("0x4000"). */
  readonly masqueradeMark: string;
  readonly masqueradeAll: boolean;
  /** null: no detector (localDetector None, or NodeCIDR without a pod CIDR). */
  readonly localDetector: LocalDetector | null;
  /** CIDRs of --nodeport-addresses; empty means every local address. */
  readonly nodePortCIDRs: readonly string[];
  /** The node's addresses that NodePorts answer on when nodePortCIDRs is not empty. */
  readonly nodePortIPs: readonly string[];
  /** --iptables-localhost-nodeports, off when nodePortCIDRs leave out loopback (as NewProxier does). */
  readonly localhostNodePorts: boolean;
  readonly nfacctCounters: ReadonlySet<string>;
  readonly masqueradeRandomFully: boolean;
  readonly conntrackTCPLiberal: boolean;
  /** The node's zone label, for topology hints. */
  readonly nodeZone?: string;
  /** The node's name, for node topology hints (PreferSameNode). */
  readonly nodeName?: string;
  /** The node's first IP (kube-proxy's nodeIP), for the firewall's allow-from-node rule. */
  readonly nodeIP: string | null;
}

/** Above this many endpoints kube-proxy drops per-endpoint comments (largeClusterEndpointsThreshold). */
export const LARGE_CLUSTER_ENDPOINTS = 1000;

function ipv4ToNumber(ip: string): number {
  return ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}

export function cidrContainsIPv4(cidr: string, ip: string): boolean {
  const [net, lenText] = cidr.split('/');
  if (!net || ip.includes(':') || net.includes(':')) return false;
  const len = Number(lenText ?? 32);
  const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  return (ipv4ToNumber(ip) & mask) >>> 0 === (ipv4ToNumber(net) & mask) >>> 0;
}

/** The addresses kube-proxy would find on the node's interfaces: its node IPs and loopback. */
function interfaceAddresses(node: NodeFacts): string[] {
  return [...node.internalIPs, '127.0.0.1'];
}

export function proxierSettings(cluster: ClusterConfig, node: NodeFacts, nodeZone?: string): ProxierSettings {
  const p = cluster.proxy;
  const nodeIP = node.internalIPs[0] ?? node.externalIPs[0] ?? null;
  let localDetector: LocalDetector | null = null;
  if (p.localDetector === 'ClusterCIDR') localDetector = detectByCIDR(cluster.clusterCIDR);
  else if (p.localDetector === 'NodeCIDR' && node.podCIDR) localDetector = detectByCIDR(node.podCIDR);
  else if (p.localDetector === 'BridgeInterface' && p.bridgeInterface)
    localDetector = detectByInterface(p.bridgeInterface, p.bridgeInterface);
  else if (p.localDetector === 'InterfaceNamePrefix' && p.interfaceNamePrefix)
    localDetector = detectByInterface(`${p.interfaceNamePrefix}+`, `${p.interfaceNamePrefix}*`);
  // Each proxier keeps only the CIDRs of its own family (NewNodePortAddresses): an IPv4 proxier
  // given only IPv6 CIDRs matches every address, and "::/0" does not make it match all.
  const cidrs = p.nodePortAddresses
    .flatMap((c) => (c === 'primary' ? (nodeIP ? [`${nodeIP}/32`] : []) : [c]))
    .filter((c) => !c.includes(':'));
  const matchAll = cidrs.length === 0 || cidrs.some((c) => c.endsWith('/0'));
  const nodePortIPs = matchAll
    ? []
    : [...new Set(interfaceAddresses(node).filter((ip) => cidrs.some((c) => cidrContainsIPv4(c, ip))))].sort();
  // ContainsIPv4Loopback: a CIDR on 127/8 or holding 127.0.0.0 (as 0.0.0.0/0 does). Without one the
  // iptables proxier turns localhost NodePorts off, whatever the flag says (NewProxier).
  const containsIPv4Loopback = matchAll || cidrs.some((c) => c.startsWith('127.') || cidrContainsIPv4(c, '127.0.0.0'));
  return {
    masqueradeMark: `0x${((1 << p.masqueradeBit) >>> 0).toString(16)}`,
    masqueradeAll: p.masqueradeAll,
    localDetector,
    nodePortCIDRs: matchAll ? [] : cidrs,
    nodePortIPs,
    localhostNodePorts: p.localhostNodePorts && containsIPv4Loopback,
    nfacctCounters: new Set(p.nfacctCounters),
    masqueradeRandomFully: p.masqueradeRandomFully,
    conntrackTCPLiberal: p.conntrackTCPLiberal,
    ...(nodeZone === undefined ? {} : { nodeZone }),
    nodeName: node.name,
    nodeIP,
  };
}

/**
 * net.ipv4.conf.all.route_localnet as the proxier leaves it: the iptables proxier turns it on
 * for localhost NodePorts (which need --nodeport-addresses to cover loopback), the IPVS proxier
 * always; the nftables proxier never. Undefined where not modelled (userspace).
 */
export function routeLocalnetFor(mode: ProxyMode, s: ProxierSettings): boolean | undefined {
  if (mode === 'iptables') return s.localhostNodePorts;
  if (mode === 'ipvs') return true;
  if (mode === 'nftables') return false;
  return undefined;
}
