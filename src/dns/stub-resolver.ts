// The pod's side of DNS: the resolv.conf the kubelet writes for its dnsPolicy, and the
// questions glibc's resolver sends for a name (search list, ndots), in order.
import type { ClusterConfig, Pod } from '../model';
import { fqdn } from './domain-name';
import type { QueryType } from './record';
import type { DnsResponse } from './response';

export interface ResolvConf {
  readonly nameservers: readonly string[];
  readonly search: readonly string[];
  readonly ndots: number;
  /** Other options as written (`timeout:2`, `attempts:3`, `single-request`...). */
  readonly options: readonly string[];
}

/** The kubelet's limits: 3 nameservers, 32 search domains. */
const MAX_NAMESERVERS = 3;
const MAX_SEARCH = 32;

/** What the node's own /etc/resolv.conf holds in the simulation: the upstream resolver, no search list. */
export const NODE_RESOLVER = 'upstream';

function clusterFirst(pod: Pod, cluster: ClusterConfig): ResolvConf {
  const zone = cluster.dnsDomain;
  return {
    nameservers: [cluster.dnsServiceIP],
    search: [`${pod.namespace}.svc.${zone}`, `svc.${zone}`, zone],
    ndots: 5,
    options: [],
  };
}

const nodeDefault: ResolvConf = { nameservers: [NODE_RESOLVER], search: [], ndots: 1, options: [] };

/** The resolv.conf of a pod, as the kubelet builds it from dnsPolicy and dnsConfig. */
export function podResolvConf(pod: Pod, cluster: ClusterConfig): ResolvConf {
  const policy = pod.spec.dnsPolicy;
  let base: ResolvConf;
  if (policy === 'None') base = { nameservers: [], search: [], ndots: 1, options: [] };
  else if (policy === 'Default') base = nodeDefault;
  else if (policy === 'ClusterFirst' && pod.spec.hostNetwork) base = nodeDefault;
  else base = clusterFirst(pod, cluster);
  const extra = pod.spec.dnsConfig;
  if (!extra) return base;
  const nameservers = [...new Set([...base.nameservers, ...extra.nameservers])].slice(0, MAX_NAMESERVERS);
  const search = [...new Set([...base.search, ...extra.searches])].slice(0, MAX_SEARCH);
  let ndots = base.ndots;
  const options = new Map<string, string | undefined>(base.options.map((o) => [o.split(':')[0]!, o.split(':')[1]]));
  for (const o of extra.options) {
    if (o.name === 'ndots') ndots = Math.min(15, Math.max(0, Number(o.value ?? ndots)));
    else options.set(o.name, o.value);
  }
  return {
    nameservers,
    search,
    ndots,
    options: [...options].map(([k, v]) => (v === undefined ? k : `${k}:${v}`)),
  };
}

/** resolv.conf as the kubelet writes it. */
export function resolvConfText(conf: ResolvConf): string {
  const lines = conf.nameservers.map((n) => `nameserver ${n}`);
  if (conf.search.length) lines.push(`search ${conf.search.join(' ')}`);
  lines.push(`options ${[`ndots:${conf.ndots}`, ...conf.options].join(' ')}`);
  return `${lines.join('\n')}\n`;
}

/**
 * The names glibc's res_search tries, in order: a trailing dot means only the name;
 * fewer dots than ndots means the search list first and the name itself last;
 * otherwise the name first, then the search list.
 */
export function searchCandidates(name: string, conf: ResolvConf): string[] {
  if (name.endsWith('.')) return [name];
  const dots = (name.match(/\./g) ?? []).length;
  const searched = conf.search.map((d) => fqdn(`${name}.${d}`));
  return dots >= conf.ndots ? [fqdn(name), ...searched] : [...searched, fqdn(name)];
}

export interface SentQuery {
  readonly name: string;
  readonly type: QueryType;
  readonly response: DnsResponse;
}

/**
 * Sends the questions for a name as glibc does, asking `ask` each one, until a name
 * gives an answer: res_search goes on past NXDOMAIN, NODATA and SERVFAIL, and stops on
 * any other error. With `types` A and AAAA (getaddrinfo) both go out for each name.
 */
export function stubResolve(
  name: string,
  types: readonly QueryType[],
  conf: ResolvConf,
  ask: (name: string, type: QueryType) => DnsResponse,
): SentQuery[] {
  const sent: SentQuery[] = [];
  for (const candidate of searchCandidates(name, conf)) {
    let answered = false;
    let stop = false;
    for (const type of types) {
      const response = ask(candidate, type);
      sent.push({ name: candidate, type, response });
      if (response.rcode === 'NOERROR' && response.answer.length > 0) answered = true;
      else if (!['NOERROR', 'NXDOMAIN', 'SERVFAIL'].includes(response.rcode)) stop = true;
    }
    if (answered || stop) break;
  }
  return sent;
}
