// EndpointSlices for Services with a selector, derived from the matching Pods as the
// EndpointSlice controller (kube-controller-manager) would write them.
import { compareStrings } from './compare-strings';
import type { Endpoint, EndpointPort, EndpointSlice } from './endpoint-slice';
import { SERVICE_NAME_LABEL } from './endpoint-slice';
import { familyOf, IP_FAMILIES, type IPFamily } from './ip-address';
import { labelsMatch } from './label-selector';
import { type Node, ZONE_LABEL } from './node';
import { isTerminal, type Pod } from './pod';
import type { Service, ServicePort } from './service';
import { uniqueGeneratedName } from './stable-hash';

export const ENDPOINTSLICE_CONTROLLER = 'endpointslice-controller.k8s.io';

/** podutil.FindPort: a number as is; a name looked up in the containers' ports (same protocol). */
export function resolveTargetPort(pod: Pod, port: ServicePort): number | undefined {
  if (typeof port.targetPort === 'number') return port.targetPort;
  for (const container of pod.spec.containers) {
    for (const p of container.ports) {
      if (p.name === port.targetPort && p.protocol === port.protocol) return p.containerPort;
    }
  }
  return undefined;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const NO_HINTS: readonly string[] = [];

/**
 * Whether the Service asks for topology-aware routing by annotation (Auto): the controller then
 * ignores trafficDistribution and hints endpoints from CPU-proportional zone allocations, which
 * need the nodes' allocatable CPU; knetsim does not model that cache, so such slices get no hints.
 */
function topologyModeRequested(service: Service): boolean {
  // The deprecated annotation, when present, decides (hintsEnabled).
  const value =
    service.annotations['service.kubernetes.io/topology-aware-hints'] ??
    service.annotations['service.kubernetes.io/topology-mode'];
  return value === 'Auto' || value === 'auto';
}

/** The controller's endpoint for a pod: ready only if serving and not terminating, unless publishNotReadyAddresses. */
function podEndpoint(pod: Pod, address: string, service: Service, node: Node | undefined): Endpoint {
  const serving = pod.ready;
  const terminating = pod.deletionTimestamp !== undefined;
  // Built field by field: this runs once per pod per Service, the loader's hottest loop.
  const endpoint: Mutable<Endpoint> = {
    addresses: [address],
    ready: service.publishNotReadyAddresses || (serving && !terminating),
    serving,
    terminating,
    targetRef: { kind: 'Pod', namespace: pod.namespace, name: pod.name },
    zoneHints: NO_HINTS,
    nodeHints: NO_HINTS,
  };
  if (pod.spec.nodeName !== undefined) endpoint.nodeName = pod.spec.nodeName;
  const zone = node?.labels[ZONE_LABEL];
  if (zone) endpoint.zone = zone;
  if (service.trafficDistribution !== undefined && endpoint.ready && !topologyModeRequested(service)) {
    // trafficdist's heuristics: a ready endpoint is hinted for its own zone, and with PreferSameNode
    // also for its own node (the zone hint stays, for proxies that know only zones).
    if (zone) endpoint.zoneHints = [zone];
    if (service.trafficDistribution === 'PreferSameNode' && endpoint.nodeName !== undefined)
      endpoint.nodeHints = [endpoint.nodeName];
  }
  if (pod.spec.hostname !== undefined && pod.spec.subdomain === service.name) endpoint.hostname = pod.spec.hostname;
  return endpoint;
}

/** The slice ports for a set of resolved target ports (ports a pod lacks are left out). */
function endpointPorts(
  servicePorts: readonly ServicePort[],
  resolved: readonly (number | undefined)[],
): EndpointPort[] {
  const out: EndpointPort[] = [];
  servicePorts.forEach((sp, i) => {
    const port = resolved[i];
    if (port === undefined) return;
    out.push({
      name: sp.name,
      port,
      protocol: sp.protocol,
      ...(sp.appProtocol === undefined ? {} : { appProtocol: sp.appProtocol }),
    });
  });
  return out;
}

/** Pods by `namespace`, `key=value` label, so a Service finds its candidates without scanning every pod. */
export type PodLabelIndex = ReadonlyMap<string, readonly Pod[]>;

function labelKey(namespace: string, key: string, value: string): string {
  return `${namespace}\n${key}=${value}`;
}

export function indexPodsByLabel(pods: readonly Pod[]): PodLabelIndex {
  const index = new Map<string, Pod[]>();
  for (const pod of pods) {
    for (const [key, value] of Object.entries(pod.labels)) {
      const k = labelKey(pod.namespace, key, value);
      const list = index.get(k);
      if (list) list.push(pod);
      else index.set(k, [pod]);
    }
  }
  // Sorted once here rather than once per Service that selects them.
  for (const list of index.values()) list.sort((a, b) => compareStrings(a.name, b.name));
  return index;
}

/** The pods behind a Service: same namespace, selected, with an IP, not Succeeded/Failed; by name (the index's order). */
function selectedPods(service: Service, index: PodLabelIndex): Pod[] {
  const selector = service.selector;
  const first = selector && Object.entries(selector)[0];
  if (!selector || !first) return [];
  const candidates = index.get(labelKey(service.namespace, first[0], first[1])) ?? [];
  return candidates.filter((p) => labelsMatch(selector, p.labels) && p.podIPs.length > 0 && !isTerminal(p.phase));
}

function addressFamilies(service: Service, pods: readonly Pod[]): IPFamily[] {
  if (service.ipFamilies.length > 0) return [...service.ipFamilies];
  // A headless Service without families: whatever the pods have (IPv4 when none).
  const present = IP_FAMILIES.filter((f) => pods.some((p) => p.podIPs.some((ip) => familyOf(ip) === f)));
  return present.length > 0 ? present : ['IPv4'];
}

/**
 * Slices for one Service: one per address family and per distinct set of resolved
 * ports (a pod lacking a named port is left out of that port, as kube does). A Service
 * that selects nothing gets an empty placeholder slice, as the controller writes one.
 */
export function deriveEndpointSlices(
  service: Service,
  pods: PodLabelIndex,
  nodeByName: ReadonlyMap<string, Node>,
  takenNames: Set<string>,
): EndpointSlice[] {
  if (!service.selector || service.type === 'ExternalName') return [];
  const members = selectedPods(service, pods);
  const labels: Record<string, string> = {
    ...service.labels,
    [SERVICE_NAME_LABEL]: service.name,
    'endpointslice.kubernetes.io/managed-by': ENDPOINTSLICE_CONTROLLER,
    ...(service.headless ? { 'service.kubernetes.io/headless': '' } : {}),
  };
  const slices: EndpointSlice[] = [];
  for (const family of addressFamilies(service, members)) {
    const groups = new Map<string, { ports: EndpointPort[]; endpoints: Endpoint[] }>();
    for (const pod of members) {
      const address = pod.podIPs.find((ip) => familyOf(ip) === family);
      if (address === undefined) continue;
      const resolved = service.ports.map((sp) => resolveTargetPort(pod, sp));
      const key = resolved.join(',');
      let group = groups.get(key);
      if (!group) {
        group = { ports: endpointPorts(service.ports, resolved), endpoints: [] };
        groups.set(key, group);
      }
      group.endpoints.push(podEndpoint(pod, address, service, nodeByName.get(pod.spec.nodeName ?? '')));
    }
    if (groups.size === 0) groups.set('', { ports: [], endpoints: [] });
    for (const [key, group] of groups) {
      slices.push({
        namespace: service.namespace,
        name: uniqueGeneratedName(
          `${service.name}-`,
          `controller/${service.namespace}/${service.name}/${family}/${key}`,
          takenNames,
        ),
        labels,
        serviceName: service.name,
        addressType: family,
        endpoints: group.endpoints,
        ports: group.ports,
        origin: 'controller',
      });
    }
  }
  return slices;
}
