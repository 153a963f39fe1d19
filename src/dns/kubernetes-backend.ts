// The kubernetes plugin's record finding: which services, endpoints and pods a name
// stands for (CoreDNS's Records/findServices/findPods/Reverse/nsAddrs), as "backend
// services": a host (address or name), a port and the domain name they live at.
import { parseIP } from '../model';
import {
  type ClusterIndex,
  type DnsEndpointAddress,
  type DnsEndpoints,
  type DnsService,
  serviceKey,
} from './cluster-index';
import { fqdn, joinName, labelsOf, trimZone } from './domain-name';
import { parseRecordRequest, type RecordRequest } from './record-request';
import { addressFromReverse, reverseKind } from './reverse-name';
import type { KubernetesConfig } from './server-config';

export interface BackendService {
  /** An address, or a name (ExternalName) the record points to. */
  readonly host: string;
  readonly port: number;
  readonly ttl: number;
  /** The name this service lives at (CoreDNS's msg.Domain of its key). */
  readonly domain: string;
  readonly text?: string;
}

/** Why a name does not exist: all three are NXDOMAIN (or fallthrough). */
export type NameError = 'no-items' | 'namespace-not-exposed' | 'invalid-request';

export interface Lookup {
  readonly services: readonly BackendService[];
  readonly error?: NameError;
}

export interface KubernetesBackend {
  readonly config: KubernetesConfig;
  /** The cluster as this plugin's informers hold it (its `labels`, `namespace_labels` applied). */
  readonly index: ClusterIndex;
  /** The answering CoreDNS instance's own addresses (its pod IP). */
  readonly localIPs: readonly string[];
  /** SOA serial: CoreDNS uses the time of the last change it saw. */
  readonly serial: number;
}

const DNS_SCHEMA_VERSION = '1.1.0';
const DNS_SCHEMA_TTL = 28800;

export function isAddress(host: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.includes(':');
}

export function isIPv6(host: string): boolean {
  return host.includes(':');
}

function namespaceExposed(b: KubernetesBackend, namespace: string): boolean {
  const configured = b.config.namespaces.size === 0 || b.config.namespaces.has(namespace);
  return configured && b.index.namespaces.has(namespace);
}

const match = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

const portMatches = (r: RecordRequest, name: string, protocol: string) =>
  (r.port === '' || match(r.port, name)) && (r.protocol === '' || match(r.protocol, protocol));

/** CoreDNS's endpointHostname: the hostname, the pod name (endpoint_pod_names), or the dashed IP. */
export function endpointHostname(addr: DnsEndpointAddress, endpointPodNames: boolean): string {
  if (addr.hostname !== '') return addr.hostname;
  if (endpointPodNames && addr.targetRefName !== '') return addr.targetRefName;
  if (addr.ip.includes('.')) return addr.ip.replaceAll('.', '-');
  if (addr.ip.includes(':')) {
    const dashed = addr.ip.replaceAll(':', '-');
    return dashed.endsWith('-') ? `${dashed}0` : dashed;
  }
  return '';
}

function visibleServices(b: KubernetesBackend, name: string, namespace: string): readonly DnsService[] {
  return b.index.servicesNamed(name, namespace);
}

function visibleEndpoints(b: KubernetesBackend, name: string, namespace: string): readonly DnsEndpoints[] {
  return b.config.noEndpoints ? [] : b.index.endpointsOf(name, namespace);
}

function findServices(b: KubernetesBackend, r: RecordRequest, zone: string): Lookup {
  if (!namespaceExposed(b, r.namespace)) return { services: [], error: 'no-items' };
  if (r.service === '') return { services: [] };
  const out: BackendService[] = [];
  let error: NameError | undefined = 'no-items';
  const ttl = b.config.ttl;
  const svcDomain = (svc: DnsService) => joinName(svc.name, svc.namespace, 'svc', zone);
  for (const svc of visibleServices(b, r.service, r.namespace)) {
    const endpoints = () => visibleEndpoints(b, svc.name, svc.namespace);
    if (b.config.ignoreEmptyService && svc.type !== 'ExternalName' && !svc.headless) {
      if (endpoints().every((e) => e.addresses.length === 0)) continue;
    }
    if (svc.type === 'ExternalName') {
      if (r.endpoint !== '' || r.port !== '' || r.protocol !== '') continue;
      if (!isAddress(svc.externalName)) {
        out.push({ host: svc.externalName, port: 0, ttl, domain: svcDomain(svc) });
        error = undefined;
      }
      continue;
    }
    // Zone-scoped names are for headless Services only.
    if (r.topologyZone !== '' && !svc.headless) continue;
    if (svc.headless || r.endpoint !== '') {
      // A zone-scoped name that exists answers NODATA when its zone has no endpoint (pin).
      if (r.topologyZone !== '') error = undefined;
      const addForZone = (zone: string): number => {
        let added = 0;
        for (const ep of endpoints()) {
          if (ep.index !== serviceKey(svc.name, svc.namespace)) continue;
          for (const addr of ep.addresses) {
            if (zone !== '' && addr.zone !== zone) continue;
            const hostname = endpointHostname(addr, b.config.endpointPodNames);
            if (r.endpoint !== '' && !match(r.endpoint, hostname)) continue;
            for (const p of ep.ports) {
              if (!portMatches(r, p.name, p.protocol)) continue;
              out.push({ host: addr.ip, port: p.port, ttl, domain: joinName(hostname, svcDomain(svc)) });
              error = undefined;
              added++;
            }
          }
        }
        return added;
      };
      if (addForZone(r.topologyZone) === 0 && r.zonePrefer) addForZone('');
      continue;
    }
    for (const p of svc.ports) {
      if (!portMatches(r, p.name, p.protocol)) continue;
      error = undefined;
      for (const ip of svc.clusterIPs) out.push({ host: ip, port: p.port, ttl, domain: svcDomain(svc) });
    }
  }
  return error ? { services: out, error } : { services: out };
}

/** Pod names are the dashed address; `insecure` trusts them, `verified` needs a pod there. */
function findPods(b: KubernetesBackend, r: RecordRequest, zone: string): Lookup {
  if (b.config.pods === 'disabled') return { services: [], error: 'no-items' };
  if (!namespaceExposed(b, r.namespace)) return { services: [], error: 'no-items' };
  if (r.service === '') return { services: [] };
  const podname = r.service;
  const ip =
    (podname.match(/-/g)?.length ?? 0) === 3 && !podname.includes('--')
      ? podname.replaceAll('-', '.')
      : podname.replaceAll('-', ':');
  const domain = joinName(podname, r.namespace, 'pod', zone);
  const ttl = b.config.ttl;
  if (b.config.pods === 'insecure') {
    if (addressText(ip) === '') return { services: [], error: 'no-items' };
    return { services: [{ host: addressText(ip), port: 0, ttl, domain }] };
  }
  // verified: the pod index is keyed by status.podIP as written; the name's address must be that text.
  const out: BackendService[] = [];
  for (const p of b.index.podsWithIP(ip))
    if (p.ip === ip && match(r.namespace, p.namespace)) out.push({ host: addressText(ip), port: 0, ttl, domain });
  return out.length ? { services: out } : { services: [], error: 'no-items' };
}

/** Go's net.ParseIP(...).String() (leading zeros refused; IPv4-mapped is IPv4), '' when not an address. */
function addressText(text: string): string {
  const ip = parseIP(text);
  return ip && !ip.leadingZeros ? ip.text : '';
}

/** Records: the services a name below the zone stands for (CoreDNS's Records). */
export function records(b: KubernetesBackend, name: string, zone: string): Lookup {
  const parsed = parseRecordRequest(name.toLowerCase(), zone.toLowerCase(), b.config.zonal);
  if (!parsed.ok) return { services: [], error: 'invalid-request' };
  const r = parsed.request;
  if (r.podOrSvc === '') return { services: [] };
  if (reverseKind(name) > 0) return { services: [], error: 'no-items' };
  if (!namespaceExposed(b, r.namespace)) return { services: [], error: 'namespace-not-exposed' };
  if (r.podOrSvc === 'pod') return findPods(b, r, zone);
  return findServices(b, r, zone);
}

/** The CoreDNS instance's name server addresses: the services its own pod IP backs. */
export function nsAddresses(b: KubernetesBackend, zone: string): { name: string; address: string }[] {
  const out: { name: string; address: string }[] = [];
  let found = false;
  for (const local of b.localIPs) {
    for (const ep of b.index.endpointsWithIP(local)) {
      found = true;
      for (const svc of b.index.servicesWithKey(ep.index)) {
        const svcName = joinName(svc.name, svc.namespace, 'svc', zone);
        if (svc.headless) {
          for (const a of ep.addresses)
            out.push({ name: joinName(endpointHostname(a, b.config.endpointPodNames), svcName), address: a.ip });
        } else for (const ip of svc.clusterIPs) out.push({ name: svcName, address: ip });
      }
    }
  }
  if (!found) for (const local of b.localIPs) out.push({ name: joinName('ns.dns', zone), address: local });
  return out;
}

/** `ns.dns.<zone>`: CoreDNS matches the lower-cased name against the zone as asked. */
const isDefaultNS = (name: string, zone: string) => fqdn(name).toLowerCase() === `ns.dns.${fqdn(zone)}`;

/** CoreDNS's Kubernetes.Services: what a question of this type finds at this name. */
export function services(b: KubernetesBackend, qname: string, qtype: string, zone: string): Lookup {
  const ttl = b.config.ttl;
  if (qtype === 'TXT') {
    const t = labelsOf(trimZone(qname, zone));
    if (t.length === 1 && t[0]!.toLowerCase() === 'dns-version')
      return { services: [{ host: '', port: 0, ttl: DNS_SCHEMA_TTL, domain: qname, text: DNS_SCHEMA_VERSION }] };
    const found = records(b, qname, zone);
    if (found.services.length > 0) return { services: [] };
    // An existing zone-scoped name has no TXT record: NODATA.
    if (found.error === undefined && b.config.zonal) {
      const r = parseRecordRequest(qname.toLowerCase(), zone.toLowerCase(), true);
      if (r.ok && r.request.topologyZone !== '') return { services: [] };
    }
    return { services: [], error: 'no-items' };
  }
  if (qtype === 'NS') {
    return { services: nsAddresses(b, zone).map((ns) => ({ host: ns.address, port: 0, ttl, domain: ns.name })) };
  }
  if (isDefaultNS(qname, zone)) {
    const want = qtype === 'A' ? (ip: string) => !isIPv6(ip) : qtype === 'AAAA' ? isIPv6 : () => false;
    return {
      services: nsAddresses(b, zone)
        .filter((ns) => want(ns.address))
        .map((ns) => ({ host: ns.address, port: 0, ttl, domain: qname })),
    };
  }
  const found = records(b, qname, zone);
  if (qtype !== 'SRV') return found;
  const internal = found.services.filter((s) => isAddress(s.host));
  return found.error ? { services: internal, error: found.error } : { services: internal };
}

/** CoreDNS's Kubernetes.Reverse: the names an address in a reverse zone belongs to. */
export function reverse(b: KubernetesBackend, qname: string, zone: string): Lookup {
  const ip = addressFromReverse(qname);
  if (ip === '') {
    const found = records(b, qname, zone);
    return found.error ? { services: [], error: found.error } : { services: [] };
  }
  const ttl = b.config.ttl;
  const limited = b.config.namespaces.size > 0;
  for (const svc of b.index.servicesWithIP(ip)) {
    if (limited && !namespaceExposed(b, svc.namespace)) continue;
    return {
      services: [{ host: joinName(svc.name, svc.namespace, 'svc', b.config.primaryZone), port: 0, ttl, domain: qname }],
    };
  }
  const out: BackendService[] = [];
  for (const ep of b.index.endpointsWithIP(ip)) {
    if (limited && !namespaceExposed(b, ep.namespace)) continue;
    for (const a of ep.addresses)
      if (a.ip === ip)
        out.push({
          host: joinName(endpointHostname(a, b.config.endpointPodNames), ep.index, 'svc', b.config.primaryZone),
          port: 0,
          ttl,
          domain: qname,
        });
  }
  return out.length ? { services: out } : { services: [], error: 'no-items' };
}
