// A CoreDNS server built from a scenario: its Corefile's server blocks on port 53,
// each a chain of plugins in CoreDNS's fixed order (autopath, transfer, hosts,
// kubernetes, forward), answering one question from one client.
import type { Scenario } from '../model';
import { type ClusterIndex, indexCluster, selectIndex } from './cluster-index';
import { COREFILE_PATH } from './corefile';
import { corefileFiles } from './corefile-files';
import { fqdn, isSubdomain, joinName, labelsOf, matchZone, sameName, trimZone } from './domain-name';
import { serveHosts } from './hosts-plugin';
import type { KubernetesBackend } from './kubernetes-backend';
import { serveKubernetes } from './kubernetes-plugin';
import type { QueryType, ResourceRecord } from './record';
import { type DnsResponse, type Question, reply } from './response';
import { restoreResponse, rewriteQuestion } from './rewrite';
import { type DnsServerConfig, readDnsServerConfig, type ServerConfig } from './server-config';
import { answerFromUpstream, parseUpstream, type UpstreamZone } from './upstream-zone';
import { zoneFileText, zoneTransferRecords } from './zone-transfer';

export interface CoreDns {
  readonly config: DnsServerConfig;
  readonly index: ClusterIndex;
  readonly upstream: UpstreamZone;
  /** The CoreDNS pod answering (its IP), when the cluster has one. */
  readonly localIPs: readonly string[];
  readonly serial: number;
  /** The cluster's DNS domain (`cluster.local`), fully qualified. */
  readonly clusterDomain: string;
}

export interface DnsClient {
  /** The source address CoreDNS sees (a pod's IP for autopath, `transfer to` checks). */
  readonly ip?: string;
  /** How the question came; undefined is TCP for zone transfers (as dig asks them). */
  readonly transport?: 'udp' | 'tcp';
}

/** FNV-1a over the cluster's DNS-visible state: a stable stand-in for CoreDNS's "last modified" serial. */
function serialOf(index: ClusterIndex): number {
  const text = JSON.stringify([index.services, index.endpoints]);
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** The addresses of the pods behind the cluster DNS Service (the first is the one that answers). */
export function coreDnsPodIPs(scenario: Scenario): string[] {
  const svc = scenario.services.find((s) => s.clusterIPs.includes(scenario.cluster.dnsServiceIP));
  if (!svc) return [];
  return scenario.endpointSlices
    .filter((es) => es.serviceName === svc.name && es.namespace === svc.namespace)
    .flatMap((es) => es.endpoints.filter((e) => e.ready).flatMap((e) => e.addresses));
}

/** Builds the server; a bad Corefile or upstream line throws (CorefileError, ZoneLineError). */
export function buildCoreDns(scenario: Scenario, answeringPodIP?: string): CoreDns {
  const index = indexCluster(scenario);
  const pods = coreDnsPodIPs(scenario);
  const local = answeringPodIP ?? pods[0];
  // What the container sees: its ConfigMaps' files (the Corefile in effect among them) and /etc/hosts.
  const files = corefileFiles(scenario, local).set(COREFILE_PATH, scenario.cluster.dns.corefile);
  return {
    config: readDnsServerConfig(scenario.cluster.dns.corefile, files),
    index,
    upstream: parseUpstream(scenario.cluster.dns.upstream),
    localIPs: local ? [local] : [scenario.cluster.dnsServiceIP],
    serial: serialOf(index),
    clusterDomain: fqdn(scenario.cluster.dnsDomain),
  };
}

const selected = new WeakMap<ClusterIndex, WeakMap<ServerConfig, ClusterIndex>>();

/** The cluster as a server's kubernetes plugin sees it: its informers narrowed by `labels` and `namespace_labels`. */
function pluginIndex(dns: CoreDns, server: ServerConfig): ClusterIndex {
  const k = server.kubernetes;
  if (!k) return dns.index;
  const perServer = selected.get(dns.index) ?? new WeakMap<ServerConfig, ClusterIndex>();
  selected.set(dns.index, perServer);
  const index = perServer.get(server) ?? selectIndex(dns.index, k.labels, k.namespaceLabels);
  perServer.set(server, index);
  return index;
}

function backendOf(dns: CoreDns, server: ServerConfig): KubernetesBackend | undefined {
  if (!server.kubernetes) return undefined;
  return { config: server.kubernetes, index: pluginIndex(dns, server), localIPs: dns.localIPs, serial: dns.serial };
}

/** The server block for a name: the longest zone match, as CoreDNS's dnsserver picks it. */
function serverFor(dns: CoreDns, name: string): ServerConfig | undefined {
  let best: ServerConfig | undefined;
  let bestLength = -1;
  for (const s of dns.config.servers) {
    const z = matchZone(s.zones, name);
    if (z !== undefined && labelsOf(z).length > bestLength) {
      best = s;
      bestLength = labelsOf(z).length;
    }
  }
  return best;
}

type Handler = (q: Question) => DnsResponse | 'next';

/**
 * CoreDNS's upstream for names the kubernetes plugin points outside its zone: the whole
 * server again. When the server has nothing for the name (no server block, no plugin:
 * REFUSED or SERVFAIL) but the scenario says what the upstream knows, that answers, as
 * CoreDNS's own tests stub the upstream.
 */
function upstreamLookup(dns: CoreDns, name: string, type: QueryType, client: DnsClient): DnsResponse {
  const r = resolve(dns, { name, type }, client);
  if ((r.rcode === 'REFUSED' || r.rcode === 'SERVFAIL') && dns.upstream.records.length > 0)
    return answerFromUpstream(dns.upstream, { name, type });
  return r;
}

/** Responses no plugin wrote (the end of the chain): the server's SERVFAIL. */
const unwritten = new WeakSet<DnsResponse>();

/** The plugins after autopath, in CoreDNS's order; SERVFAIL when none answers. */
function chain(dns: CoreDns, server: ServerConfig, client: DnsClient): (q: Question) => DnsResponse {
  const backend = backendOf(dns, server);
  const handlers: Handler[] = [];
  if (server.transfer) handlers.push((q) => transfer(server, backend, q, client));
  // hosts comes before kubernetes in CoreDNS's plugin order: its names shadow the cluster's.
  const hosts = server.hosts;
  if (hosts)
    handlers.push((q) => {
      const r = serveHosts(hosts, q);
      if (r !== 'servfail') return r;
      const failure = reply(q, 'SERVFAIL');
      unwritten.add(failure);
      return failure;
    });
  if (backend)
    handlers.push((q) => serveKubernetes(backend, q, (name, type) => upstreamLookup(dns, name, type, client)));
  if (server.forward) {
    const fwd = server.forward;
    handlers.push((q) => {
      if (!isSubdomain(fwd.from, q.name) || fwd.except.some((e) => isSubdomain(e, q.name))) return 'next';
      return answerFromUpstream(dns.upstream, q);
    });
  }
  return (q) => {
    for (const h of handlers) {
      const r = h(q);
      if (r !== 'next') return r;
    }
    // No plugin wrote an answer: the server writes SERVFAIL, but autopath sees nothing written.
    const failure = reply(q, 'SERVFAIL');
    unwritten.add(failure);
    return failure;
  };
}

/** The host of a `transfer to` entry (`10.0.0.5`, `10.0.0.5:53`, `[fd00::5]:53`). */
function transferHost(entry: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(entry);
  if (bracketed) return bracketed[1]!;
  return /^[^:]+:\d+$/.test(entry) ? entry.slice(0, entry.lastIndexOf(':')) : entry;
}

/**
 * The transfer plugin: zone transfers over TCP only, to the hosts `to` allows; an IXFR
 * needs the client's SOA (its serial) in the authority section. The kubernetes plugin
 * hands out any name inside its zones as a zone; a serial equal to its own gets the SOA only.
 */
function transfer(
  server: ServerConfig,
  backend: KubernetesBackend | undefined,
  q: Question,
  client: DnsClient,
): DnsResponse | 'next' {
  if (q.type !== 'AXFR' && q.type !== 'IXFR') return 'next';
  if (client.transport === 'udp') return reply(q, 'REFUSED');
  const t = server.transfer!;
  if (matchZone(t.zones, q.name) === undefined) return 'next';
  const allowed = t.to.some((h) => h === '*' || (client.ip !== undefined && transferHost(h) === client.ip));
  if (!allowed) return reply(q, 'REFUSED');
  if (q.type === 'IXFR' && q.ixfrSerial === undefined) return reply(q, 'SERVFAIL');
  if (!backend || matchZone(backend.config.zones, q.name) === undefined) return 'next';
  const records = zoneTransferRecords(backend, fqdn(q.name).toLowerCase());
  if (q.ixfrSerial !== undefined && q.ixfrSerial !== 0 && q.ixfrSerial === backend.serial)
    return reply(q, 'NOERROR', { aa: true, answer: records.slice(0, 1) });
  return reply(q, 'NOERROR', { aa: true, answer: records });
}

/** autopath @kubernetes: the search path of the asking pod (pods verified only), else none. */
function searchPathOf(dns: CoreDns, server: ServerConfig, name: string, client: DnsClient): string[] {
  const k = server.kubernetes;
  if (k?.pods !== 'verified' || client.ip === undefined) return [];
  const zone = matchZone(k.zones, name);
  if (zone === undefined) return [];
  const pod = pluginIndex(dns, server).podsWithIP(client.ip)[0];
  if (!pod) return [];
  return [joinName(pod.namespace, 'svc', zone), joinName('svc', zone), zone, ''];
}

/** Puts a CNAME from the asked name to the first answer's name in front, as autopath does. */
function cnamer(response: DnsResponse, original: string): DnsResponse {
  const first = response.answer.find((a) => !sameName(a.name, original));
  const answer: ResourceRecord[] = first
    ? [{ name: original, ttl: first.ttl, type: 'CNAME', target: first.name }, ...response.answer]
    : [...response.answer];
  return { ...response, question: { ...response.question, name: original }, answer };
}

function autopath(
  dns: CoreDns,
  server: ServerConfig,
  q: Question,
  client: DnsClient,
  next: (q: Question) => DnsResponse,
) {
  const zones = server.autopath?.zones;
  if (!zones || matchZone(zones, q.name) === undefined) return next(q);
  const search = searchPathOf(dns, server, q.name, client);
  if (search.length === 0 || !isSubdomain(search[0]!, q.name)) return next(q);
  const base = trimZone(q.name, search[0]!);
  let first: DnsResponse | undefined;
  for (const domain of search) {
    const r = next({ ...q, name: joinName(base, domain) });
    first ??= r;
    // As CoreDNS's autopath: a name error, or nothing written, tries the next search domain.
    if (r.rcode === 'NXDOMAIN' || unwritten.has(r)) continue;
    return cnamer(r, q.name);
  }
  return first!;
}

/** One question to the server, as one client asks it. */
export function resolve(dns: CoreDns, question: Question, client: DnsClient = {}): DnsResponse {
  const q = { ...question, name: fqdn(question.name) };
  const server = serverFor(dns, q.name);
  if (!server) return reply(q, 'REFUSED');
  const next = chain(dns, server, client);
  // Plugin order: rewrite, then autopath, then the rest.
  const rewritten = rewriteQuestion(server.rewrites, q.name);
  const asked = { ...q, name: rewritten.name };
  const r = server.autopath ? autopath(dns, server, asked, client, next) : next(asked);
  return restoreResponse(r, q.name, rewritten);
}

/** The kubernetes zone as a zone file (default: the cluster domain); undefined when no server is authoritative for it. */
export function zoneFileOf(dns: CoreDns, zone: string = dns.clusterDomain): string | undefined {
  const z = fqdn(zone).toLowerCase();
  for (const server of dns.config.servers) {
    const backend = backendOf(dns, server);
    if (backend?.config.zones.includes(z)) return zoneFileText(backend, z);
  }
  return undefined;
}
