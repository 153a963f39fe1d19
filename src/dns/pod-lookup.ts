// A name looked up from a pod, end to end: its resolv.conf, each question its resolver
// sends, and who answers it (CoreDNS behind the cluster DNS Service, or the node's
// upstream resolver for dnsPolicy Default and foreign nameservers).
import type { Pod, Scenario } from '../model';
import { type CoreDns, resolve } from './coredns-server';
import type { QueryType } from './record';
import type { DnsResponse } from './response';
import { podResolvConf, type ResolvConf, type SentQuery, stubResolve } from './stub-resolver';
import { answerFromUpstream } from './upstream-zone';

export interface PodLookup {
  readonly resolvConf: ResolvConf;
  /** Every question sent, in order, each with its response. */
  readonly queries: readonly SentQuery[];
  /** The response that ended the lookup (an answer, or the last failure). */
  readonly final: DnsResponse;
  /** Who the questions went to. */
  readonly nameserver: string;
}

/** Whether a nameserver address reaches CoreDNS: the DNS Service IP or a CoreDNS pod. */
function reachesCoreDns(scenario: Scenario, dns: CoreDns, nameserver: string): boolean {
  return nameserver === scenario.cluster.dnsServiceIP || dns.localIPs.includes(nameserver);
}

export function lookupFromPod(
  scenario: Scenario,
  dns: CoreDns,
  pod: Pod,
  name: string,
  types: readonly QueryType[],
): PodLookup {
  const conf = podResolvConf(pod, scenario.cluster);
  const nameserver = conf.nameservers[0] ?? '';
  const client = pod.podIPs[0] !== undefined ? { ip: pod.podIPs[0] } : {};
  const ask = (qname: string, type: QueryType): DnsResponse =>
    reachesCoreDns(scenario, dns, nameserver)
      ? resolve(dns, { name: qname, type }, client)
      : answerFromUpstream(dns.upstream, { name: qname, type });
  const queries = stubResolve(name, types, conf, ask);
  const answered = queries.find((q) => q.response.rcode === 'NOERROR' && q.response.answer.length > 0);
  return { resolvConf: conf, queries, final: (answered ?? queries[queries.length - 1]!).response, nameserver };
}
