// The Services and endpoints as one node's kube-proxy sees them (kpng's "node-local
// state"): what every proxy mode generates its rules from, computed once, with the
// same family filtering, port matching and deduplication as kube-proxy's caches.
import { compareStrings } from './compare-strings';
import type { EndpointSlice } from './endpoint-slice';
import { familyOf, type IPFamily, joinHostPort } from './ip-address';
import { type NodeAddress, nodeIPs, ZONE_LABEL } from './node';
import type { Protocol } from './protocol';
import type { Scenario } from './scenario';
import type { Service, ServicePort, ServiceType, SessionAffinity, TrafficPolicy } from './service';

export interface NodeFacts {
  readonly name: string;
  /** False when the scenario has no Node of that name (addresses are then empty). */
  readonly known: boolean;
  /** InternalIP and ExternalIP addresses of the family, in the order given. */
  readonly addresses: readonly NodeAddress[];
  readonly internalIPs: readonly string[];
  readonly externalIPs: readonly string[];
  readonly podCIDR?: string;
  readonly subnet?: string;
  /** The node's topology.kubernetes.io/zone label (topology-aware hints compare endpoint hints with it). */
  readonly zone?: string;
}

export interface LocalEndpoint {
  readonly ip: string;
  readonly port: number;
  readonly ready: boolean;
  readonly serving: boolean;
  readonly terminating: boolean;
  readonly nodeName?: string;
  readonly zone?: string;
  /** The endpoint runs on this node. */
  readonly isLocal: boolean;
  readonly zoneHints: readonly string[];
  readonly nodeHints: readonly string[];
}

export interface ServicePortState {
  /** kube-proxy's ServicePortName string: `ns/name:port`, or `ns/name` for an unnamed port. */
  readonly servicePortName: string;
  readonly namespace: string;
  readonly serviceName: string;
  readonly portName: string;
  readonly protocol: Protocol;
  readonly type: ServiceType;
  readonly clusterIP: string;
  readonly port: number;
  readonly targetPort: number | string;
  readonly nodePort?: number;
  readonly externalIPs: readonly string[];
  /** VIP-mode load-balancer ingress IPs of the family. */
  readonly loadBalancerIPs: readonly string[];
  readonly loadBalancerSourceRanges: readonly string[];
  readonly externalTrafficPolicy: TrafficPolicy;
  readonly internalTrafficPolicy: TrafficPolicy;
  /** eTP Local on a Service reachable from outside (NodePort, LoadBalancer or external IPs). */
  readonly externalPolicyLocal: boolean;
  readonly internalPolicyLocal: boolean;
  readonly externallyAccessible: boolean;
  readonly usesClusterEndpoints: boolean;
  readonly usesLocalEndpoints: boolean;
  readonly sessionAffinity: SessionAffinity;
  /** 0 without ClientIP affinity. */
  readonly stickyMaxAgeSeconds: number;
  /** Only for LoadBalancer Services with eTP Local, as kube-proxy's NeedsHealthCheck. */
  readonly healthCheckNodePort?: number;
  /** Sorted as kube-proxy sorts them: by the `ip:port` string. */
  readonly endpoints: readonly LocalEndpoint[];
}

export interface NodeLocalState {
  readonly ipFamily: IPFamily;
  readonly node: NodeFacts;
  /** Proxied service ports, sorted by ServicePortName then protocol. */
  readonly servicePorts: readonly ServicePortState[];
}

function ofFamily(ips: readonly string[], family: IPFamily): string[] {
  return ips.filter((ip) => familyOf(ip) === family);
}

function nodeFacts(scenario: Scenario, nodeName: string, family: IPFamily): NodeFacts {
  const node = scenario.nodes.find((n) => n.name === nodeName);
  if (!node) return { name: nodeName, known: false, addresses: [], internalIPs: [], externalIPs: [] };
  const podCIDR = node.podCIDRs.find((c) => familyOf(c) === family);
  const subnet = node.subnet !== undefined && familyOf(node.subnet) === family ? node.subnet : undefined;
  const zone = node.labels[ZONE_LABEL];
  return {
    name: node.name,
    known: true,
    addresses: node.addresses.filter(
      (a) => (a.type === 'InternalIP' || a.type === 'ExternalIP') && familyOf(a.address) === family,
    ),
    internalIPs: nodeIPs(node, 'InternalIP', family),
    externalIPs: nodeIPs(node, 'ExternalIP', family),
    ...(podCIDR === undefined ? {} : { podCIDR }),
    ...(subnet === undefined ? {} : { subnet }),
    ...(zone === undefined ? {} : { zone }),
  };
}

/** GetClusterIPByFamily: the Service's cluster IP of the proxier's family, if any. */
function clusterIPOf(service: Service, family: IPFamily): string | undefined {
  if (service.type === 'ExternalName' || service.headless) return undefined;
  return service.clusterIPs.find((ip) => familyOf(ip) === family);
}

/**
 * The EndpointSliceCache merge for one service port: slices of the family in name
 * order, their port matched by name and protocol, each endpoint's first address,
 * deduplicated by `ip:port` with a local copy winning.
 */
function endpointsFor(
  slices: readonly EndpointSlice[],
  sp: ServicePort,
  family: IPFamily,
  nodeName: string,
): LocalEndpoint[] {
  const byKey = new Map<string, LocalEndpoint>();
  for (const slice of slices) {
    for (const port of slice.ports) {
      if (port.port === undefined || port.name !== sp.name || port.protocol !== sp.protocol) continue;
      for (const ep of slice.endpoints) {
        const ip = ep.addresses[0];
        if (ip === undefined || familyOf(ip) !== family) continue;
        const isLocal = nodeName !== '' && ep.nodeName === nodeName;
        const key = joinHostPort(ip, port.port);
        if (byKey.has(key) && !isLocal) continue;
        const local: { -readonly [K in keyof LocalEndpoint]: LocalEndpoint[K] } = {
          ip,
          port: port.port,
          ready: ep.ready,
          serving: ep.serving,
          terminating: ep.terminating,
          isLocal,
          zoneHints: ep.zoneHints,
          nodeHints: ep.nodeHints,
        };
        if (ep.nodeName !== undefined) local.nodeName = ep.nodeName;
        if (ep.zone !== undefined) local.zone = ep.zone;
        byKey.set(key, local);
      }
    }
  }
  return [...byKey.entries()].sort(([a], [b]) => compareStrings(a, b)).map(([, ep]) => ep);
}

function servicePortState(
  slices: readonly EndpointSlice[],
  service: Service,
  sp: ServicePort,
  clusterIP: string,
  family: IPFamily,
  nodeName: string,
): ServicePortState {
  const reachableFromOutside =
    service.type === 'NodePort' || service.type === 'LoadBalancer' || service.externalIPs.length > 0;
  const externalPolicyLocal = reachableFromOutside && service.externalTrafficPolicy === 'Local';
  const internalPolicyLocal = service.internalTrafficPolicy === 'Local';
  const externalIPs = ofFamily(service.externalIPs, family);
  const loadBalancerIPs = ofFamily(
    service.loadBalancerIngress.filter((i) => i.ip !== undefined && i.ipMode !== 'Proxy').map((i) => i.ip!),
    family,
  );
  const familyRanges = service.loadBalancerSourceRanges.filter((c) => familyOf(c) === family);
  // A zero-length prefix allows any source: the same as giving no ranges (kube-proxy's newBaseServiceInfo).
  const loadBalancerSourceRanges = familyRanges.some((c) => c.endsWith('/0')) ? [] : familyRanges;
  const externallyAccessible = sp.nodePort !== undefined || loadBalancerIPs.length > 0 || externalIPs.length > 0;
  const needsHealthCheck = service.type === 'LoadBalancer' && externalPolicyLocal;
  return {
    servicePortName: `${service.namespace}/${service.name}${sp.name === '' ? '' : `:${sp.name}`}`,
    namespace: service.namespace,
    serviceName: service.name,
    portName: sp.name,
    protocol: sp.protocol,
    type: service.type,
    clusterIP,
    port: sp.port,
    targetPort: sp.targetPort,
    ...(sp.nodePort === undefined ? {} : { nodePort: sp.nodePort }),
    externalIPs,
    loadBalancerIPs,
    loadBalancerSourceRanges,
    externalTrafficPolicy: service.externalTrafficPolicy,
    internalTrafficPolicy: service.internalTrafficPolicy,
    externalPolicyLocal,
    internalPolicyLocal,
    externallyAccessible,
    usesClusterEndpoints: !internalPolicyLocal || externallyAccessible,
    usesLocalEndpoints: internalPolicyLocal || (externalPolicyLocal && externallyAccessible),
    sessionAffinity: service.sessionAffinity,
    stickyMaxAgeSeconds: service.sessionAffinity === 'ClientIP' ? service.sessionAffinityTimeoutSeconds : 0,
    ...(needsHealthCheck && service.healthCheckNodePort !== undefined
      ? { healthCheckNodePort: service.healthCheckNodePort }
      : {}),
    endpoints: endpointsFor(slices, sp, family, nodeName),
  };
}

/**
 * What `nodeName`'s kube-proxy (one single-stack proxier of `ipFamily`) would act on.
 * ExternalName and headless Services, and Services without a cluster IP of the family,
 * are not proxied; addresses of the other family are ignored throughout.
 */
export function nodeLocalState(scenario: Scenario, nodeName: string, ipFamily: IPFamily = 'IPv4'): NodeLocalState {
  const slicesByService = new Map<string, EndpointSlice[]>();
  for (const slice of scenario.endpointSlices) {
    if (slice.serviceName === undefined || slice.addressType === 'FQDN') continue;
    const key = `${slice.namespace}/${slice.serviceName}`;
    slicesByService.set(key, [...(slicesByService.get(key) ?? []), slice]);
  }
  for (const list of slicesByService.values()) list.sort((a, b) => compareStrings(a.name, b.name));

  const servicePorts: ServicePortState[] = [];
  for (const service of scenario.services) {
    const clusterIP = clusterIPOf(service, ipFamily);
    if (clusterIP === undefined) continue;
    const slices = slicesByService.get(`${service.namespace}/${service.name}`) ?? [];
    for (const sp of service.ports) {
      servicePorts.push(servicePortState(slices, service, sp, clusterIP, ipFamily, nodeName));
    }
  }
  servicePorts.sort(
    (a, b) => compareStrings(a.servicePortName, b.servicePortName) || compareStrings(a.protocol, b.protocol),
  );
  return { ipFamily, node: nodeFacts(scenario, nodeName, ipFamily), servicePorts };
}
