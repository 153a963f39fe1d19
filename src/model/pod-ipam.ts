// Pod addresses as flannel's host-local IPAM assigns them: the next free address of
// the node's pod CIDR from .2 upward (.1 is cni0's); hostNetwork pods use the node's.
import { cidrContains, cidrSize, formatIP, IP_FAMILIES, type ParsedCIDR, parseCIDR, parseIP } from './ip-address';
import { type Node, primaryNodeIP } from './node';
import type { PodDraft } from './pod';

export interface IpamResult {
  readonly pods: PodDraft[];
  /** Scheduled pods that got no address, and why. */
  readonly failures: readonly { readonly pod: PodDraft; readonly reason: string }[];
}

interface Pool {
  readonly cidr: ParsedCIDR;
  /** Offset of the next candidate inside the CIDR. */
  next: bigint;
}

/**
 * Assigns IPs in pod order. Addresses some pod already has (explicit values) are
 * never handed out again, on any node.
 */
export function assignPodIPs(nodes: readonly Node[], pods: readonly PodDraft[]): IpamResult {
  const nodeByName = new Map(nodes.map((n) => [n.name, n]));
  const used = new Set<string>(pods.flatMap((p) => (p.spec.hostNetwork ? [] : p.podIPs)));
  const pools = new Map<string, Pool[]>();
  const poolsOf = (node: Node): Pool[] => {
    let list = pools.get(node.name);
    if (!list) {
      list = node.podCIDRs.map((text) => ({ cidr: parseCIDR(text)!, next: 2n }));
      pools.set(node.name, list);
    }
    return list;
  };

  const failures: { pod: PodDraft; reason: string }[] = [];
  const out = pods.map((pod) => {
    const node = pod.spec.nodeName === undefined ? undefined : nodeByName.get(pod.spec.nodeName);
    if (!node) return pod;
    const hostIP = pod.hostIP ?? primaryNodeIP(node, 'IPv4') ?? primaryNodeIP(node, 'IPv6');
    const withHost = hostIP === undefined ? pod : { ...pod, hostIP };
    if (pod.podIPs.length > 0) return withHost;
    if (pod.spec.hostNetwork) {
      const ips = IP_FAMILIES.map((f) => primaryNodeIP(node, f)).filter((ip) => ip !== undefined);
      if (ips.length === 0) failures.push({ pod, reason: `node ${node.name} has no address` });
      return { ...withHost, podIPs: ips };
    }
    const nodePools = poolsOf(node);
    if (nodePools.length === 0) {
      failures.push({ pod, reason: `node ${node.name} has no pod CIDR` });
      return withHost;
    }
    const ips: string[] = [];
    for (const pool of nodePools) {
      const ip = takeNext(pool, used);
      if (ip === undefined) failures.push({ pod, reason: `pod CIDR ${pool.cidr.text} of node ${node.name} is full` });
      else ips.push(ip);
    }
    return { ...withHost, podIPs: ips };
  });
  return { pods: out, failures };
}

/** host-local's range: network+2 .. the last address before broadcast (IPv4) or the end (IPv6). */
function takeNext(pool: Pool, used: Set<string>): string | undefined {
  const size = cidrSize(pool.cidr);
  const last = pool.cidr.family === 'IPv4' ? size - 2n : size - 1n;
  while (pool.next <= last) {
    const ip = formatIP(pool.cidr.family, pool.cidr.network + pool.next);
    pool.next++;
    if (!used.has(ip)) {
      used.add(ip);
      return ip;
    }
  }
  return undefined;
}

/** An explicit pod IP outside its node's pod CIDRs (only worth a warning: the pod may predate a change). */
export function outsidePodCIDR(pod: PodDraft, node: Node): string | undefined {
  if (pod.spec.hostNetwork) return undefined;
  const cidrs = node.podCIDRs.map((c) => parseCIDR(c)!);
  return pod.podIPs.find((text) => {
    const ip = parseIP(text);
    const sameFamily = cidrs.filter((c) => c.family === ip?.family);
    return ip !== undefined && sameFamily.length > 0 && !sameFamily.some((c) => cidrContains(c, ip));
  });
}
