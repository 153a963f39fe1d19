// Which endpoints a service port's traffic may go to, per traffic policy, as
// kube-proxy's CategorizeEndpoints decides: ready endpoints (node and zone
// topology hints applied), serving-terminating ones as a fallback, and the local ones for
// Local policy. Shared by every proxy mode.
import type { LocalEndpoint, ServicePortState } from '../model';

export interface CategorizedEndpoints {
  /** For Cluster traffic policy. */
  readonly cluster: readonly LocalEndpoint[];
  /** For Local traffic policy. */
  readonly local: readonly LocalEndpoint[];
  /** Every endpoint some rule may send to (each gets a KUBE-SEP chain). */
  readonly allReachable: readonly LocalEndpoint[];
  /** The service has a usable endpoint somewhere in the cluster. */
  readonly hasAny: boolean;
}

export function endpointKey(ep: LocalEndpoint): string {
  return ep.ip.includes(':') ? `[${ep.ip}]:${ep.port}` : `${ep.ip}:${ep.port}`;
}

/** Where a node sits, for topology hints: its name and its zone label (absent: none); ProxierSettings has both. */
export interface NodeTopology {
  readonly nodeName?: string;
  readonly nodeZone?: string;
}

/**
 * Which hints Cluster traffic follows (topologyModeFromHints; PreferSameTrafficDistribution on,
 * as from 1.34): node hints when every ready endpoint has one and one is for this node; else
 * zone hints when every ready endpoint has one and one is for this node's zone; else none.
 */
function topologyMode(endpoints: readonly LocalEndpoint[], node: NodeTopology): 'node' | 'zone' | null {
  let ready = false;
  let allNodeHints = true;
  let forNode = false;
  let allZoneHints = true;
  let forZone = false;
  for (const e of endpoints) {
    if (!e.ready) continue;
    ready = true;
    if (e.nodeHints.length === 0) allNodeHints = false;
    else if (node.nodeName !== undefined && e.nodeHints.includes(node.nodeName)) forNode = true;
    if (e.zoneHints.length === 0) allZoneHints = false;
    else if (node.nodeZone !== undefined && e.zoneHints.includes(node.nodeZone)) forZone = true;
  }
  if (!ready) return null;
  if (allNodeHints && forNode) return 'node';
  if (allZoneHints && forZone) return 'zone';
  return null;
}

/** Whether an endpoint serves this node under the topology mode chosen. */
function availableForTopology(e: LocalEndpoint, mode: 'node' | 'zone' | null, node: NodeTopology): boolean {
  if (mode === 'node') return e.nodeHints.includes(node.nodeName!);
  if (mode === 'zone') return e.zoneHints.includes(node.nodeZone!);
  return true;
}

export function categorizeEndpoints(svc: ServicePortState, node: NodeTopology = {}): CategorizedEndpoints {
  const endpoints = svc.endpoints;
  let cluster: LocalEndpoint[] = [];
  let hasAny = false;
  if (svc.usesClusterEndpoints) {
    const mode = topologyMode(endpoints, node);
    cluster = endpoints.filter((e) => e.ready && availableForTopology(e, mode, node));
    // No ready endpoint anywhere: fall back to the ones still serving while terminating.
    if (cluster.length === 0) cluster = endpoints.filter((e) => e.serving && e.terminating);
    hasAny = cluster.length > 0;
  }
  if (!svc.usesLocalEndpoints) return { cluster, local: [], allReachable: cluster, hasAny };

  let localReady = false;
  let localServingTerminating = false;
  for (const e of endpoints) {
    if (e.ready) {
      hasAny = true;
      if (e.isLocal) localReady = true;
    } else if (e.serving && e.terminating) {
      hasAny = true;
      if (e.isLocal) localServingTerminating = true;
    }
  }
  let local: LocalEndpoint[] = [];
  if (localReady) local = endpoints.filter((e) => e.isLocal && e.ready);
  else if (localServingTerminating) local = endpoints.filter((e) => e.isLocal && e.serving && e.terminating);
  if (!svc.usesClusterEndpoints) return { cluster, local, allReachable: local, hasAny };

  const merged = new Map<string, LocalEndpoint>();
  for (const e of [...cluster, ...local]) merged.set(endpointKey(e), e);
  const allReachable = [...merged.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, e]) => e);
  return { cluster, local, allReachable, hasAny };
}

/** The chain internal and external traffic goes to, per traffic policy, and whether it has endpoints there. */
export interface PolicyChains<C> {
  readonly internal: C;
  readonly hasInternal: boolean;
  /** The chain externalTrafficPolicy sends to (behind the external chain kube-proxy writes). */
  readonly externalPolicy: C;
  readonly hasExternal: boolean;
}

/**
 * As syncProxyRules chooses them: Local policy sends to the local-endpoints chain, which
 * has endpoints only where this node runs one; Cluster policy to the cluster chain.
 */
export function policyChains<C>(
  svc: ServicePortState,
  eps: CategorizedEndpoints,
  chains: { readonly cluster: C; readonly local: C },
): PolicyChains<C> {
  const noLocal = eps.local.length === 0;
  return {
    internal: svc.internalPolicyLocal ? chains.local : chains.cluster,
    hasInternal: eps.hasAny && !(svc.internalPolicyLocal && noLocal),
    externalPolicy: svc.externalPolicyLocal ? chains.local : chains.cluster,
    hasExternal: eps.hasAny && !(svc.externalPolicyLocal && noLocal),
  };
}
