// The cluster as CoreDNS's kubernetes plugin sees it through its informers: services,
// one endpoints object per EndpointSlice holding only ready addresses, pods by IP (not
// terminating, not finished), namespaces, and the reverse indexes by address. The
// `labels` option narrows the service, EndpointSlice and pod informers, `namespace_labels`
// the namespace informer.
import { type Scenario, selectorMatches } from '../model';
import type { LabelRequirement } from './label-selector';

export interface DnsPort {
  readonly name: string;
  readonly protocol: string;
  /** -1: the sentinel CoreDNS adds when a Service or slice has no ports. */
  readonly port: number;
}

export interface DnsService {
  readonly namespace: string;
  readonly name: string;
  readonly type: 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';
  /** The cluster IPs, `['None']` for a headless Service, `['']` for ExternalName. */
  readonly clusterIPs: readonly string[];
  readonly headless: boolean;
  readonly externalName: string;
  readonly ports: readonly DnsPort[];
  readonly externalIPs: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
}

export interface DnsEndpointAddress {
  readonly ip: string;
  readonly hostname: string;
  /** The target pod's name when shorter than 64 characters (a valid label). */
  readonly targetRefName: string;
  readonly nodeName: string;
  /** topology.kubernetes.io/zone of the endpoint, lower case ('' when none). */
  readonly zone: string;
}

/** One EndpointSlice, as CoreDNS converts it. */
export interface DnsEndpoints {
  readonly namespace: string;
  readonly sliceName: string;
  /** `service.namespace`, the key CoreDNS indexes endpoints by. */
  readonly index: string;
  readonly addresses: readonly DnsEndpointAddress[];
  readonly ports: readonly DnsPort[];
  readonly labels: Readonly<Record<string, string>>;
}

export interface DnsPod {
  readonly namespace: string;
  readonly name: string;
  /** status.podIP, as the API gives it. */
  readonly ip: string;
  readonly labels: Readonly<Record<string, string>>;
}

export interface ClusterIndex {
  readonly services: readonly DnsService[];
  readonly endpoints: readonly DnsEndpoints[];
  readonly pods: readonly DnsPod[];
  /** The namespaces that exist, with their labels. */
  readonly namespaceLabels: ReadonlyMap<string, Readonly<Record<string, string>>>;
  readonly namespaces: ReadonlySet<string>;
  servicesNamed(name: string, namespace: string): readonly DnsService[];
  /** Services by CoreDNS's index key `name.namespace`. */
  servicesWithKey(key: string): readonly DnsService[];
  endpointsOf(name: string, namespace: string): readonly DnsEndpoints[];
  /** Services with this cluster IP. */
  servicesWithIP(ip: string): readonly DnsService[];
  /** Endpoints objects holding this ready address. */
  endpointsWithIP(ip: string): readonly DnsEndpoints[];
  podsWithIP(ip: string): readonly DnsPod[];
}

export const serviceKey = (name: string, namespace: string) => `${name}.${namespace}`.toLowerCase();

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** Builds the index from a loaded scenario. */
export function indexCluster(scenario: Scenario): ClusterIndex {
  const services: DnsService[] = scenario.services.map((s) => ({
    namespace: s.namespace,
    name: s.name,
    type: s.type,
    clusterIPs: s.type === 'ExternalName' ? [''] : s.headless ? ['None'] : s.clusterIPs.length ? s.clusterIPs : [''],
    headless: s.type !== 'ExternalName' && s.headless,
    externalName: s.externalName ?? '',
    ports: s.ports.length
      ? s.ports.map((p) => ({ name: p.name, protocol: p.protocol, port: p.port }))
      : [{ name: '', protocol: '', port: -1 }],
    externalIPs: [
      ...s.externalIPs,
      ...s.loadBalancerIngress.map((i) => i.ip ?? i.hostname ?? '').filter((x) => x !== ''),
    ],
    labels: s.labels,
  }));
  const endpoints: DnsEndpoints[] = scenario.endpointSlices
    .filter((es) => es.serviceName !== undefined)
    .map((es) => ({
      namespace: es.namespace,
      sliceName: es.name,
      index: serviceKey(es.serviceName!, es.namespace),
      addresses: es.endpoints
        .filter((e) => e.ready)
        .flatMap((e) =>
          e.addresses.map((ip) => ({
            ip,
            hostname: e.hostname ?? '',
            targetRefName: e.targetRef && e.targetRef.name.length < 64 ? e.targetRef.name : '',
            nodeName: e.nodeName ?? '',
            zone: (e.zone ?? '').toLowerCase(),
          })),
        ),
      ports: es.ports.length
        ? es.ports.map((p) => ({ name: p.name, protocol: p.protocol, port: p.port ?? -1 }))
        : [{ name: '', protocol: '', port: -1 }],
      labels: es.labels,
    }));
  // The pod informer lists every phase but Succeeded, Failed and Unknown; terminating pods are dropped.
  const pods: DnsPod[] = scenario.pods
    .filter((p) => p.deletionTimestamp === undefined && p.podIPs.length > 0)
    .filter((p) => p.phase !== 'Succeeded' && p.phase !== 'Failed' && p.phase !== 'Unknown')
    .map((p) => ({ namespace: p.namespace, name: p.name, ip: p.podIPs[0]!, labels: p.labels }));
  return buildIndex(services, endpoints, pods, new Map(scenario.namespaces.map((n) => [n.name, n.labels])));
}

/** What the informers hold when the `labels` and `namespace_labels` selectors filter them. */
export function selectIndex(
  index: ClusterIndex,
  labels: readonly LabelRequirement[] | undefined,
  namespaceLabels: readonly LabelRequirement[] | undefined,
): ClusterIndex {
  if (!labels && !namespaceLabels) return index;
  const only = (requirements: readonly LabelRequirement[]) => ({ matchLabels: {}, matchExpressions: requirements });
  const keep = <T extends { readonly labels: Readonly<Record<string, string>> }>(list: readonly T[]) =>
    labels ? list.filter((x) => selectorMatches(only(labels), x.labels)) : list;
  const namespaces = namespaceLabels
    ? new Map([...index.namespaceLabels].filter(([, l]) => selectorMatches(only(namespaceLabels), l)))
    : index.namespaceLabels;
  return buildIndex(keep(index.services), keep(index.endpoints), keep(index.pods), namespaces);
}

function buildIndex(
  services: readonly DnsService[],
  endpoints: readonly DnsEndpoints[],
  pods: readonly DnsPod[],
  namespaceLabels: ReadonlyMap<string, Readonly<Record<string, string>>>,
): ClusterIndex {
  const byName = new Map<string, DnsService[]>();
  const byIP = new Map<string, DnsService[]>();
  for (const s of services) {
    push(byName, serviceKey(s.name, s.namespace), s);
    for (const ip of s.clusterIPs) if (ip !== '' && ip !== 'None') push(byIP, ip, s);
  }
  const epByIndex = new Map<string, DnsEndpoints[]>();
  const epByIP = new Map<string, DnsEndpoints[]>();
  for (const e of endpoints) {
    push(epByIndex, e.index, e);
    for (const ip of new Set(e.addresses.map((a) => a.ip))) push(epByIP, ip, e);
  }
  const podsByIP = new Map<string, DnsPod[]>();
  for (const p of pods) push(podsByIP, p.ip, p);

  return {
    services,
    endpoints,
    pods,
    namespaceLabels,
    namespaces: new Set(namespaceLabels.keys()),
    servicesNamed: (name, namespace) => byName.get(serviceKey(name, namespace)) ?? [],
    servicesWithKey: (key) => byName.get(key) ?? [],
    endpointsOf: (name, namespace) => epByIndex.get(serviceKey(name, namespace)) ?? [],
    servicesWithIP: (ip) => byIP.get(ip) ?? [],
    endpointsWithIP: (ip) => epByIP.get(ip) ?? [],
    podsWithIP: (ip) => podsByIP.get(ip) ?? [],
  };
}
