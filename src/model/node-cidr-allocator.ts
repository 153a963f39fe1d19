// Pod CIDRs for nodes that do not declare one, as kube-controller-manager's range
// allocator hands them out: consecutive /24s (/64 for IPv6) of the cluster CIDR.
import { compareStrings } from './compare-strings';
import { addressBits, cidrsOverlap, formatIP, type ParsedCIDR, parseCIDR } from './ip-address';
import type { Node } from './node';

export interface NodeCIDRAllocation {
  readonly nodes: Node[];
  /** Nodes left without a pod CIDR because the cluster CIDR is exhausted. */
  readonly exhausted: readonly string[];
}

/**
 * Nodes are served in name order (a real cluster uses registration order, which a
 * scenario does not have); CIDRs some node already declares are skipped.
 */
export function allocateNodeCIDRs(nodes: readonly Node[], clusterCIDR: string): NodeCIDRAllocation {
  const cluster = parseCIDR(clusterCIDR)!;
  const maskSize = Math.max(cluster.family === 'IPv4' ? 24 : 64, cluster.prefixLength);
  const step = 1n << BigInt(addressBits(cluster.family) - maskSize);
  const count = 1n << BigInt(maskSize - cluster.prefixLength);
  const taken: ParsedCIDR[] = nodes.flatMap((n) => n.podCIDRs.map((c) => parseCIDR(c)!));

  const assigned = new Map<string, string>();
  const exhausted: string[] = [];
  let next = 0n;
  const waiting = nodes.filter((n) => n.podCIDRs.length === 0).sort((a, b) => compareStrings(a.name, b.name));
  for (const node of waiting) {
    let found: string | undefined;
    while (next < count && found === undefined) {
      const network = cluster.network + next * step;
      next++;
      const candidate = parseCIDR(`${formatIP(cluster.family, network)}/${maskSize}`)!;
      if (!taken.some((t) => cidrsOverlap(t, candidate))) found = candidate.text;
    }
    if (found === undefined) exhausted.push(node.name);
    else assigned.set(node.name, found);
  }
  return {
    nodes: nodes.map((node) => {
      const cidr = assigned.get(node.name);
      return cidr === undefined ? node : { ...node, podCIDRs: [cidr], podCIDRSource: 'allocated' as const };
    }),
    exhausted,
  };
}
