// CoreDNS as a controller: a Corefile-configured server answering from the cluster's
// objects as the kubernetes plugin does, the pod's stub resolver, and the wire format.
export type { ClusterIndex } from './cluster-index';
export { buildCoreDns, type CoreDns, coreDnsPodIPs, type DnsClient, resolve, zoneFileOf } from './coredns-server';
export { CorefileError } from './corefile';
export { fqdn, nameProblem } from './domain-name';
export { encodeMessage } from './message-encoder';
export { lookupFromPod, type PodLookup } from './pod-lookup';
export {
  presentData,
  presentRecord,
  QUERY_TYPES,
  type QueryType,
  RECORD_TYPES,
  type RecordType,
  type ResourceRecord,
  recordJson,
} from './record';
export { type DnsResponse, flagList, type Question, type Rcode, reply } from './response';
export { reverseNameOf } from './reverse-name';
export {
  podResolvConf,
  type ResolvConf,
  resolvConfText,
  type SentQuery,
  searchCandidates,
  stubResolve,
} from './stub-resolver';
export { ZoneLineError } from './upstream-zone';
export { CLASSIC_UDP_LIMIT, decodeQuery, decodeResponse } from './wire';
export { answerWire, type Transport, type WireExchange } from './wire-server';
