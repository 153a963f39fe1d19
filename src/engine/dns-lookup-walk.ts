// A name resolved the way a pod resolves it, as packets: each question its resolver
// sends is a UDP datagram from the pod to its nameserver, walked through the nodes'
// rules (kube-proxy's DNAT to a CoreDNS pod, maybe on another node) and answered back
// through conntrack. The trace of the connection that follows starts from the answer.
import type { PodLookup } from '../dns';
import { parseIPv4 } from '../net';
import { type ClusterPath, walkCluster, walkReply } from './cluster-walk';
import { seededRandom } from './sample-packets';
import type { SimNode } from './sim-node';

export interface DnsQueryWalk {
  readonly name: string;
  readonly type: string;
  readonly rcode: string;
  /** Answer records' data (addresses, CNAME targets). */
  readonly answers: readonly string[];
  readonly sport: number;
  /** Every way the query datagram may go, with its probability (empty: sent outside the cluster). */
  readonly paths: readonly ClusterPath[];
  /** One query, as sent (path drawn by the seed), and its answer's way back. */
  readonly sent?: ClusterPath;
  readonly replies: readonly ClusterPath[];
}

export interface DnsLookupWalk {
  readonly nameserver: string;
  readonly queries: readonly DnsQueryWalk[];
  /** The IPv4 address the lookup ended with, if any. */
  readonly address?: string;
}

/** The first source port of the resolver's queries (glibc picks random ones; these are fixed for repeatability). */
const FIRST_QUERY_PORT = 41000;

export function walkDnsLookup(
  nodes: ReadonlyMap<string, SimNode>,
  start: string,
  podIP: string,
  lookup: PodLookup,
  options: { readonly local?: boolean; readonly seed?: number } = {},
): DnsLookupWalk {
  const seed = options.seed ?? 1;
  const server = parseIPv4(lookup.nameserver);
  const src = parseIPv4(podIP);
  const queries = lookup.queries.map((q, i): DnsQueryWalk => {
    const base = {
      name: q.name,
      type: q.type,
      rcode: q.response.rcode,
      answers: q.response.answer.map((a) =>
        a.type === 'A' || a.type === 'AAAA' ? a.address : a.type === 'CNAME' ? `CNAME ${a.target}` : a.type,
      ),
      sport: FIRST_QUERY_PORT + i,
    };
    if (server === null || src === null) return { ...base, paths: [], replies: [] };
    const request = {
      src,
      dst: server,
      protocol: 'udp' as const,
      sport: base.sport,
      dport: 53,
      length: 28 + 12 + q.name.length + 1 + 4,
      // A pod on the host network sends from the node itself; any other from its veth into cni0.
      origin: options.local ? { kind: 'local' as const } : { kind: 'interface' as const, iface: 'cni0' },
    };
    const paths = walkCluster(nodes, start, request);
    const [sent] = walkCluster(nodes, start, { ...request, commit: true, sample: seededRandom(seed + i) });
    return { ...base, paths, ...(sent ? { sent } : {}), replies: sent ? walkReply(nodes, sent) : [] };
  });
  const address = lookup.final.answer.find((a) => a.type === 'A');
  return {
    nameserver: lookup.nameserver,
    queries,
    ...(address?.type === 'A' ? { address: address.address } : {}),
  };
}
