// v1 Service: every type, its ports and the policies kube-proxy and CoreDNS act on.
import {
  fieldPath,
  indexPath,
  readBool,
  readCIDR,
  readEnum,
  readInt,
  readIP,
  readList,
  readMap,
  readPort,
  readString,
  readStringMap,
  requireField,
  type YamlMap,
} from './field-reader';
import { familyOf, type IPFamily } from './ip-address';
import { checkName, type ObjectMeta } from './object-meta';
import { type Protocol, readProtocol } from './protocol';
import { type ObjectContext, reportError, reportWarning } from './validation-issue';

export const SERVICE_TYPES = ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'] as const;
export type ServiceType = (typeof SERVICE_TYPES)[number];
export const TRAFFIC_POLICIES = ['Cluster', 'Local'] as const;
export type TrafficPolicy = (typeof TRAFFIC_POLICIES)[number];
/** The values the API takes (PreferClose is PreferSameZone's older name; PreferSameNode from 1.33). */
export const TRAFFIC_DISTRIBUTIONS = ['PreferClose', 'PreferSameZone', 'PreferSameNode'] as const;
export type TrafficDistribution = (typeof TRAFFIC_DISTRIBUTIONS)[number];
export const SESSION_AFFINITIES = ['None', 'ClientIP'] as const;
export type SessionAffinity = (typeof SESSION_AFFINITIES)[number];

/** kube-apiserver's default for sessionAffinityConfig.clientIP.timeoutSeconds (3 hours). */
export const DEFAULT_AFFINITY_TIMEOUT_SECONDS = 10800;

export interface ServicePort {
  /** Empty for the single unnamed port. */
  readonly name: string;
  readonly protocol: Protocol;
  readonly port: number;
  /** A number, or a container port name resolved per pod; defaults to `port`. */
  readonly targetPort: number | string;
  readonly nodePort?: number;
  readonly appProtocol?: string;
}

export interface LoadBalancerIngress {
  readonly ip?: string;
  readonly hostname?: string;
  /** `Proxy` ingress IPs are not programmed by kube-proxy. */
  readonly ipMode?: 'VIP' | 'Proxy';
}

export interface Service {
  readonly namespace: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly type: ServiceType;
  /** Canonical primary cluster IP, `None` for a headless Service, absent for ExternalName. */
  readonly clusterIP?: string;
  /** Canonical cluster IPs, at most one per family (never `None`). */
  readonly clusterIPs: readonly string[];
  readonly headless: boolean;
  readonly ipFamilies: readonly IPFamily[];
  readonly ipFamilyPolicy?: string;
  readonly externalName?: string;
  readonly ports: readonly ServicePort[];
  /** Absent (or empty) means no selector: endpoints are managed by hand. */
  readonly selector?: Readonly<Record<string, string>>;
  readonly sessionAffinity: SessionAffinity;
  readonly sessionAffinityTimeoutSeconds: number;
  readonly externalTrafficPolicy: TrafficPolicy;
  readonly internalTrafficPolicy: TrafficPolicy;
  /**
   * spec.trafficDistribution: the EndpointSlice controller hints a derived slice's ready endpoints
   * for their own zone (PreferClose, PreferSameZone) and node (PreferSameNode), which kube-proxy follows.
   */
  readonly trafficDistribution?: TrafficDistribution;
  readonly externalIPs: readonly string[];
  /** Canonical CIDRs, whitespace trimmed as kube-proxy does. */
  readonly loadBalancerSourceRanges: readonly string[];
  readonly loadBalancerIngress: readonly LoadBalancerIngress[];
  readonly publishNotReadyAddresses: boolean;
  readonly healthCheckNodePort?: number;
  readonly allocateLoadBalancerNodePorts?: boolean;
}

/** IANA_SVC_NAME: 1-15 characters of a-z, 0-9 and '-', a letter among them, no '-' at an end or twice in a row. */
function isServiceName(text: string): boolean {
  return /^[a-z0-9]([a-z0-9]|-(?!-))*$/.test(text) && text.length <= 15 && /[a-z]/.test(text) && !text.endsWith('-');
}

function readTargetPort(ctx: ObjectContext, value: unknown, path: string, port: number | undefined): number | string {
  // A quoted number is still a number to anyone writing YAML by hand.
  if (typeof value === 'string' && /^\d+$/.test(value)) value = Number(value);
  if (typeof value === 'string') {
    // A port's name (IANA_SVC_NAME, as the API server checks it): at most 15 lower-case letters,
    // digits and single '-' inside, with a letter.
    if (value !== '' && !isServiceName(value))
      reportError(
        ctx,
        path,
        'invalid-port-name',
        `${JSON.stringify(value)}: must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-), at most 15 characters, with at least one letter, no hyphen at either end or next to another`,
      );
    if (value !== '') return value;
  } else if (value !== 0) {
    const n = readPort(ctx, value, path);
    if (n !== undefined) return n;
  }
  return port ?? 0;
}

function readServicePorts(ctx: ObjectContext, value: unknown): ServicePort[] {
  const out: ServicePort[] = [];
  const items = readList(ctx, value, 'spec.ports');
  items.forEach((item, i) => {
    const path = indexPath('spec.ports', i);
    const map = readMap(ctx, item, path);
    if (!map) return;
    // Port 0 (or none) is Go's zero value: the API rejects it, but kube-proxy serves it as is
    // (its own tests leave Port unset), so it is read as 0 with a warning.
    const unset = map.port === 0 || map.port === undefined || map.port === null;
    if (unset) reportWarning(ctx, fieldPath(path, 'port'), 'zero-port', 'port 0 (not set): kube-proxy uses it as is');
    const port = unset ? 0 : readPort(ctx, map.port, fieldPath(path, 'port'));
    const name = readString(ctx, map.name, fieldPath(path, 'name')) ?? '';
    const protocol = readProtocol(ctx, map.protocol, fieldPath(path, 'protocol'));
    const targetPort = readTargetPort(ctx, map.targetPort, fieldPath(path, 'targetPort'), port);
    // nodePort 0 is the API's "not set"; small ports are legal (kube-proxy's own tests use 3001).
    const nodePort = map.nodePort === 0 ? undefined : readPort(ctx, map.nodePort, fieldPath(path, 'nodePort'));
    const appProtocol = readString(ctx, map.appProtocol, fieldPath(path, 'appProtocol'));
    if (items.length > 1 && name === '') {
      reportError(
        ctx,
        fieldPath(path, 'name'),
        'missing-port-name',
        'a name is required when a Service has several ports',
      );
    }
    const earlier = out.findIndex((p) => p.name === name && name !== '');
    if (earlier >= 0) {
      reportError(
        ctx,
        fieldPath(path, 'name'),
        'duplicate-port-name',
        `${JSON.stringify(name)} is already the name of spec.ports[${earlier}]`,
      );
    }
    if (port === undefined) return;
    if (out.some((p) => p.port === port && p.protocol === protocol)) {
      reportError(ctx, path, 'duplicate-port', `port ${port}/${protocol} is listed twice`);
    }
    out.push({
      name,
      protocol,
      port,
      targetPort,
      ...(nodePort === undefined ? {} : { nodePort }),
      ...(appProtocol === undefined ? {} : { appProtocol }),
    });
  });
  return out;
}

function readClusterIPs(ctx: ObjectContext, spec: YamlMap): { clusterIP?: string; clusterIPs: string[] } {
  const one = readString(ctx, spec.clusterIP, 'spec.clusterIP');
  const many: string[] = [];
  let headless = one === 'None';
  readList(ctx, spec.clusterIPs, 'spec.clusterIPs').forEach((item, i) => {
    if (item === 'None') {
      headless = true;
      return;
    }
    const ip = readIP(ctx, item, indexPath('spec.clusterIPs', i));
    if (ip) many.push(ip.text);
  });
  if (headless) return { clusterIP: 'None', clusterIPs: [] };
  if (one === undefined || one === '')
    return many.length > 0 ? { clusterIP: many[0]!, clusterIPs: many } : { clusterIPs: [] };
  const primary = readIP(ctx, one, 'spec.clusterIP')?.text;
  if (primary === undefined) return { clusterIPs: many };
  if (many.length > 0 && many[0] !== primary) {
    reportError(ctx, 'spec.clusterIPs[0]', 'invalid-value', `${many[0]} must equal spec.clusterIP (${primary})`);
  }
  return { clusterIP: primary, clusterIPs: many.length > 0 ? many : [primary] };
}

function readIngress(ctx: ObjectContext, status: YamlMap): LoadBalancerIngress[] {
  const lb = readMap(ctx, status.loadBalancer, 'status.loadBalancer') ?? {};
  const out: LoadBalancerIngress[] = [];
  readList(ctx, lb.ingress, 'status.loadBalancer.ingress').forEach((item, i) => {
    const path = indexPath('status.loadBalancer.ingress', i);
    const map = readMap(ctx, item, path);
    if (!map) return;
    const ip = readIP(ctx, map.ip, fieldPath(path, 'ip'))?.text;
    const hostname = readString(ctx, map.hostname, fieldPath(path, 'hostname'));
    const ipMode = readEnum(ctx, map.ipMode, fieldPath(path, 'ipMode'), ['VIP', 'Proxy'] as const);
    out.push({
      ...(ip === undefined ? {} : { ip }),
      ...(hostname === undefined ? {} : { hostname }),
      ...(ipMode === undefined ? {} : { ipMode }),
    });
  });
  return out;
}

export function parseService(ctx: ObjectContext, meta: ObjectMeta, body: YamlMap): Service {
  const spec = readMap(ctx, body.spec, 'spec') ?? {};
  const status = readMap(ctx, body.status, 'status') ?? {};
  const type = readEnum(ctx, spec.type, 'spec.type', SERVICE_TYPES) ?? 'ClusterIP';
  const isExternalName = type === 'ExternalName';
  const { clusterIP, clusterIPs } = isExternalName
    ? { clusterIP: undefined, clusterIPs: [] }
    : readClusterIPs(ctx, spec);
  const ipFamilies: IPFamily[] = [];
  readList(ctx, spec.ipFamilies, 'spec.ipFamilies').forEach((item, i) => {
    const family = readEnum(ctx, item, indexPath('spec.ipFamilies', i), ['IPv4', 'IPv6'] as const);
    if (family && !ipFamilies.includes(family)) ipFamilies.push(family);
  });
  for (const ip of clusterIPs) {
    const family = familyOf(ip);
    if (!ipFamilies.includes(family)) ipFamilies.push(family);
  }
  const externalName = readString(ctx, spec.externalName, 'spec.externalName');
  if (isExternalName) requireField(ctx, spec.externalName, 'spec.externalName');
  // The API server takes a lowercase RFC 1123 subdomain (a trailing dot allowed) for an ExternalName.
  if (isExternalName && externalName)
    checkName(ctx, externalName.replace(/\.$/, ''), 'spec.externalName', 'subdomain', 'invalid-external-name');
  // What the API server refuses in a Service's shape.
  if (clusterIP === 'None' && (type === 'NodePort' || type === 'LoadBalancer'))
    reportError(ctx, 'spec.clusterIP', 'headless-node-port', `may not be set to 'None' for ${type} services`);
  const selector = readStringMap(ctx, spec.selector, 'spec.selector');
  const affinityConfig = readMap(ctx, spec.sessionAffinityConfig, 'spec.sessionAffinityConfig') ?? {};
  const clientIP = readMap(ctx, affinityConfig.clientIP, 'spec.sessionAffinityConfig.clientIP') ?? {};
  const externalIPs: string[] = [];
  readList(ctx, spec.externalIPs, 'spec.externalIPs').forEach((item, i) => {
    const ip = readIP(ctx, item, indexPath('spec.externalIPs', i));
    if (ip) externalIPs.push(ip.text);
  });
  const loadBalancerSourceRanges: string[] = [];
  readList(ctx, spec.loadBalancerSourceRanges, 'spec.loadBalancerSourceRanges').forEach((item, i) => {
    const cidr = readCIDR(ctx, item, indexPath('spec.loadBalancerSourceRanges', i), true);
    if (cidr) loadBalancerSourceRanges.push(cidr.text);
  });
  const healthCheckNodePort =
    spec.healthCheckNodePort === 0 ? undefined : readPort(ctx, spec.healthCheckNodePort, 'spec.healthCheckNodePort');
  const ipFamilyPolicy = readString(ctx, spec.ipFamilyPolicy, 'spec.ipFamilyPolicy');
  const trafficDistribution = readEnum(
    ctx,
    spec.trafficDistribution,
    'spec.trafficDistribution',
    TRAFFIC_DISTRIBUTIONS,
  );
  const allocateLoadBalancerNodePorts = readBool(
    ctx,
    spec.allocateLoadBalancerNodePorts,
    'spec.allocateLoadBalancerNodePorts',
  );
  return {
    namespace: meta.namespace,
    name: meta.name,
    labels: meta.labels,
    annotations: meta.annotations,
    type,
    ...(clusterIP === undefined ? {} : { clusterIP }),
    clusterIPs,
    headless: clusterIP === 'None',
    ipFamilies,
    ...(ipFamilyPolicy === undefined ? {} : { ipFamilyPolicy }),
    ...(externalName === undefined ? {} : { externalName }),
    ports: readServicePorts(ctx, spec.ports),
    ...(Object.keys(selector).length === 0 ? {} : { selector }),
    sessionAffinity: readEnum(ctx, spec.sessionAffinity, 'spec.sessionAffinity', SESSION_AFFINITIES) ?? 'None',
    sessionAffinityTimeoutSeconds:
      readInt(ctx, clientIP.timeoutSeconds, 'spec.sessionAffinityConfig.clientIP.timeoutSeconds', {
        min: 1,
        max: 86400,
      }) ?? DEFAULT_AFFINITY_TIMEOUT_SECONDS,
    externalTrafficPolicy:
      readEnum(ctx, spec.externalTrafficPolicy, 'spec.externalTrafficPolicy', TRAFFIC_POLICIES) ?? 'Cluster',
    internalTrafficPolicy:
      readEnum(ctx, spec.internalTrafficPolicy, 'spec.internalTrafficPolicy', TRAFFIC_POLICIES) ?? 'Cluster',
    ...(trafficDistribution === undefined ? {} : { trafficDistribution }),
    externalIPs,
    loadBalancerSourceRanges,
    loadBalancerIngress: readIngress(ctx, status),
    publishNotReadyAddresses: readBool(ctx, spec.publishNotReadyAddresses, 'spec.publishNotReadyAddresses') ?? false,
    ...(healthCheckNodePort === undefined ? {} : { healthCheckNodePort }),
    ...(allocateLoadBalancerNodePorts === undefined ? {} : { allocateLoadBalancerNodePorts }),
  };
}

/** Services whose traffic kube-proxy programs: not ExternalName, not headless, with a cluster IP. */
export function isProxied(service: Service): boolean {
  return service.type !== 'ExternalName' && !service.headless && service.clusterIPs.length > 0;
}

export function serviceKey(service: { readonly namespace: string; readonly name: string }): string {
  return `${service.namespace}/${service.name}`;
}
