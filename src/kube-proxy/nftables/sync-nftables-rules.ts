// kube-proxy's nftables mode: the transaction one full sync sends to `nft -f`,
// command for command as syncProxyRules builds it on a node that has none of its
// state yet: table `kube-proxy`, its base chains (filter before DNAT, NAT at dstnat
// and srcnat), dispatch through the service-ips / service-nodeports verdict maps,
// no-endpoint and firewall maps, and per service port its service-, local-,
// external-, firewall- and endpoint- chains and affinity sets.
import type { LocalEndpoint, NodeLocalState, ServicePortState } from '../../model';
import type { NftRuleset } from '../../nftables';
import { categorizeEndpoints, policyChains } from '../categorize-endpoints';
import { cidrContainsIPv4, type ProxierSettings } from '../proxier-settings';
import { type ServiceChanges, serviceKeyOf } from '../service-changes';
import { nftAffinitySet, nftEndpointChain, nftServiceChains } from './nft-chain-names';

export const KUBE_PROXY_TABLE = 'kube-proxy';
const T = `ip ${KUBE_PROXY_TABLE}`;

const SERVICES = 'services';
const SERVICE_IPS = 'service-ips';
const SERVICE_NODEPORTS = 'service-nodeports';
const NODEPORT_IPS = 'nodeport-ips';
const CLUSTER_IPS = 'cluster-ips';
const SERVICE_ENDPOINTS_CHECK = 'service-endpoints-check';
const NODEPORT_ENDPOINTS_CHECK = 'nodeport-endpoints-check';
const NO_ENDPOINT_SERVICES = 'no-endpoint-services';
const NO_ENDPOINT_NODEPORTS = 'no-endpoint-nodeports';
const REJECT_CHAIN = 'reject-chain';
const CLUSTER_IPS_CHECK = 'cluster-ips-check';
const FIREWALL_IPS = 'firewall-ips';
const FIREWALL_CHECK = 'firewall-check';
const MARK_MASQ = 'mark-for-masquerade';
const MASQUERADING = 'masquerading';

/** Filter chains run before DNAT (-110) to see the service address; the others at the standard priorities. */
const BASE_CHAINS: readonly { name: string; type: string; hook: string; priority: number }[] = [
  { name: 'filter-prerouting-pre-dnat', type: 'filter', hook: 'prerouting', priority: -110 },
  { name: 'filter-output-pre-dnat', type: 'filter', hook: 'output', priority: -110 },
  { name: 'filter-input', type: 'filter', hook: 'input', priority: 0 },
  { name: 'filter-forward', type: 'filter', hook: 'forward', priority: 0 },
  { name: 'filter-output', type: 'filter', hook: 'output', priority: 0 },
  { name: 'nat-prerouting', type: 'nat', hook: 'prerouting', priority: -100 },
  { name: 'nat-output', type: 'nat', hook: 'output', priority: -100 },
  { name: 'nat-postrouting', type: 'nat', hook: 'postrouting', priority: 100 },
];

/** Regular chains jumped to from base chains. Reject is only allowed from input/forward/output. */
const JUMP_CHAINS: readonly { to: string; from: string; match: string }[] = [
  { to: NODEPORT_ENDPOINTS_CHECK, from: 'filter-input', match: 'ct state new' },
  { to: SERVICE_ENDPOINTS_CHECK, from: 'filter-input', match: 'ct state new' },
  { to: SERVICE_ENDPOINTS_CHECK, from: 'filter-forward', match: 'ct state new' },
  { to: SERVICE_ENDPOINTS_CHECK, from: 'filter-output', match: 'ct state new' },
  { to: FIREWALL_CHECK, from: 'filter-prerouting-pre-dnat', match: 'ct state new' },
  { to: FIREWALL_CHECK, from: 'filter-output-pre-dnat', match: 'ct state new' },
  { to: SERVICES, from: 'nat-output', match: '' },
  { to: SERVICES, from: 'nat-prerouting', match: '' },
  { to: MASQUERADING, from: 'nat-postrouting', match: '' },
  { to: CLUSTER_IPS_CHECK, from: 'filter-forward', match: 'ct state new' },
  { to: CLUSTER_IPS_CHECK, from: 'filter-output', match: 'ct state new' },
];

export interface NftablesSync {
  /** What kube-proxy pipes to `nft -f` on its first full sync. */
  readonly transaction: string;
  readonly chains: number;
  readonly rules: number;
  readonly elements: number;
}

/** The maps and sets whose elements kube-proxy tracks between syncs (nftElementStorage). */
const TRACKED_CONTAINERS = [
  CLUSTER_IPS,
  SERVICE_IPS,
  FIREWALL_IPS,
  NO_ENDPOINT_SERVICES,
  NO_ENDPOINT_NODEPORTS,
  SERVICE_NODEPORTS,
];

/** A transaction being written, with knftables' spelling of each command. */
class Transaction {
  readonly lines: string[] = [];
  private readonly created = new Set<string>();
  /** Service and endpoint chains in use after this sync. */
  readonly activeChains = new Set<string>();
  readonly activeAffinitySets = new Set<string>();
  /** A partial sync's current Service is unchanged: its chains and rules are left as they are. */
  skip = false;
  chains = 0;
  rules = 0;
  elements = 0;
  private readonly used = new Map<string, Set<string>>();

  /** What the tracked maps hold, by key: the kernel's (partial sync) or nothing (full sync), then this sync's writes. */
  private readonly current = new Map<string, Map<string, string>>();

  /** `storage`: what the tracked maps hold now, by key (partial sync); empty on a full sync. */
  constructor(private readonly storage: ReadonlyMap<string, ReadonlyMap<string, string>> = new Map()) {
    for (const [set, elements] of storage) this.current.set(set, new Map(elements));
  }

  add(line: string): void {
    this.lines.push(`add ${line}`);
  }
  flush(what: string): void {
    this.lines.push(`flush ${what}`);
  }
  delete(what: string): void {
    this.lines.push(`delete ${what}`);
  }
  /** Create the chain once and empty it (a second call in the same sync must not drop new rules). */
  ensureChain(name: string, serviceChain = false): void {
    if (serviceChain) this.activeChains.add(name);
    if (this.created.has(name)) return;
    this.created.add(name);
    if (this.skip) return;
    this.chains++;
    this.add(`chain ${T} ${name}`);
    this.flush(`chain ${T} ${name}`);
  }
  rule(chain: string, rule: string, comment?: string): void {
    if (this.skip) return;
    this.rules++;
    this.add(`rule ${T} ${chain} ${rule}${comment === undefined ? '' : ` comment "${comment}"`}`);
  }
  /** Adds the element, unless the map already holds it with this value (then: nothing; another value: replace). */
  element(set: string, key: readonly (string | number)[], value?: string, comment?: string): void {
    const keyText = key.join(' . ');
    if (TRACKED_CONTAINERS.includes(set)) {
      const used = this.used.get(set) ?? new Set<string>();
      this.used.set(set, used);
      used.add(keyText);
      const held = this.current.get(set) ?? new Map<string, string>();
      this.current.set(set, held);
      const had = held.get(keyText);
      if (had !== undefined && had === (value ?? '')) return;
      // Another value under the same key (even one written earlier in this sync): replace it.
      if (had !== undefined) this.delete(`element ${T} ${set} { ${keyText} }`);
      held.set(keyText, value ?? '');
    }
    this.elements++;
    const c = comment === undefined ? '' : ` comment "${comment}"`;
    this.add(`element ${T} ${set} { ${keyText}${c}${value === undefined ? '' : ` : ${value}`} }`);
  }
  /** Deletes what the tracked maps held and this sync did not ensure. */
  cleanupLeftovers(): void {
    for (const set of TRACKED_CONTAINERS)
      for (const key of this.storage.get(set)?.keys() ?? [])
        if (!this.used.get(set)?.has(key)) this.delete(`element ${T} ${set} { ${key} }`);
  }
}

function setupTable(tx: Transaction, s: ProxierSettings, serviceCIDRs: readonly string[], firstSync: boolean): void {
  tx.add(`table ${T} { comment "rules for kube-proxy" ; }`);
  // Once per process: re-create the base chains so a changed priority can be applied.
  if (firstSync)
    for (const bc of BASE_CHAINS) {
      tx.add(`chain ${T} ${bc.name}`);
      tx.delete(`chain ${T} ${bc.name}`);
    }
  for (const bc of BASE_CHAINS) {
    tx.add(`chain ${T} ${bc.name} { type ${bc.type} hook ${bc.hook} priority ${bc.priority} ; }`);
    tx.flush(`chain ${T} ${bc.name}`);
  }
  for (const j of JUMP_CHAINS) {
    tx.ensureChain(j.to);
    tx.rule(j.from, `${j.match ? `${j.match} ` : ''}jump ${j.to}`);
  }
  for (const c of [SERVICES, CLUSTER_IPS_CHECK, MASQUERADING, MARK_MASQ]) tx.ensureChain(c);

  tx.rule(MARK_MASQ, `mark set mark or ${s.masqueradeMark}`);
  tx.rule(MASQUERADING, `mark and ${s.masqueradeMark} == 0 return`);
  tx.rule(MASQUERADING, `mark set mark xor ${s.masqueradeMark}`);
  tx.rule(MASQUERADING, 'masquerade fully-random');

  tx.add(`set ${T} ${CLUSTER_IPS} { type ipv4_addr ; comment "Active ClusterIPs" ; }`);
  tx.rule(CLUSTER_IPS_CHECK, `ip daddr @${CLUSTER_IPS} reject`, 'Reject traffic to invalid ports of ClusterIPs');
  if (serviceCIDRs.length > 0)
    tx.rule(CLUSTER_IPS_CHECK, `ip daddr { ${serviceCIDRs.join(',')} } drop`, 'Drop traffic to unallocated ClusterIPs');

  const matchAll = s.nodePortCIDRs.length === 0;
  tx.add(`set ${T} ${NODEPORT_IPS} { type ipv4_addr ; comment "IPs that accept NodePort traffic" ; }`);
  if (matchAll) tx.delete(`set ${T} ${NODEPORT_IPS}`);
  else {
    tx.flush(`set ${T} ${NODEPORT_IPS}`);
    // Localhost NodePorts are not supported in nftables mode.
    for (const ip of s.nodePortIPs) if (!ip.startsWith('127.')) tx.element(NODEPORT_IPS, [ip]);
  }

  tx.add(
    `map ${T} ${NO_ENDPOINT_SERVICES} { type ipv4_addr . inet_proto . inet_service : verdict ; comment "vmap to drop or reject packets to services with no endpoints" ; }`,
  );
  tx.add(
    `map ${T} ${NO_ENDPOINT_NODEPORTS} { type inet_proto . inet_service : verdict ; comment "vmap to drop or reject packets to service nodeports with no endpoints" ; }`,
  );
  tx.add(`chain ${T} ${REJECT_CHAIN} { comment "helper for @no-endpoint-services / @no-endpoint-nodeports" ; }`);
  tx.flush(`chain ${T} ${REJECT_CHAIN}`);
  tx.chains++;
  tx.rule(REJECT_CHAIN, 'reject');
  tx.rule(SERVICE_ENDPOINTS_CHECK, `ip daddr . meta l4proto . th dport vmap @${NO_ENDPOINT_SERVICES}`);
  tx.rule(
    NODEPORT_ENDPOINTS_CHECK,
    `${matchAll ? 'ip daddr != 127.0.0.0/8' : `ip daddr @${NODEPORT_IPS}`} meta l4proto . th dport vmap @${NO_ENDPOINT_NODEPORTS}`,
  );

  tx.add(
    `map ${T} ${FIREWALL_IPS} { type ipv4_addr . inet_proto . inet_service : verdict ; comment "destinations that are subject to LoadBalancerSourceRanges" ; }`,
  );
  tx.ensureChain(FIREWALL_CHECK);
  tx.rule(FIREWALL_CHECK, `ip daddr . meta l4proto . th dport vmap @${FIREWALL_IPS}`);

  tx.add(
    `map ${T} ${SERVICE_IPS} { type ipv4_addr . inet_proto . inet_service : verdict ; comment "ClusterIP, ExternalIP and LoadBalancer IP traffic" ; }`,
  );
  tx.add(`map ${T} ${SERVICE_NODEPORTS} { type inet_proto . inet_service : verdict ; comment "NodePort traffic" ; }`);
  tx.rule(SERVICES, `ip daddr . meta l4proto . th dport vmap @${SERVICE_IPS}`);
  tx.rule(
    SERVICES,
    `${matchAll ? 'fib daddr type local ip daddr != 127.0.0.0/8' : `ip daddr @${NODEPORT_IPS}`} meta l4proto . th dport vmap @${SERVICE_NODEPORTS}`,
  );

  tx.flush(`set ${T} ${CLUSTER_IPS}`);
  for (const m of [SERVICE_IPS, FIREWALL_IPS, NO_ENDPOINT_SERVICES, NO_ENDPOINT_NODEPORTS, SERVICE_NODEPORTS])
    tx.flush(`map ${T} ${m}`);
}

function serviceToEndpointRules(
  tx: Transaction,
  svc: ServicePortState,
  chain: string,
  endpoints: readonly LocalEndpoint[],
): void {
  if (svc.sessionAffinity === 'ClientIP')
    for (const ep of endpoints)
      tx.rule(chain, `ip saddr @${nftAffinitySet(svc, ep)} goto ${nftEndpointChain(svc, ep)}`);
  const arms = endpoints.map((ep, i) => `${i} : goto ${nftEndpointChain(svc, ep)}`).join(' , ');
  tx.rule(chain, `numgen random mod ${endpoints.length} vmap { ${arms} }`);
}

function serviceRules(tx: Transaction, svc: ServicePortState, s: ProxierSettings): void {
  const protocol = svc.protocol.toLowerCase();
  const chains = nftServiceChains(svc);
  const eps = categorizeEndpoints(svc, s);
  const hasEndpoints = eps.hasAny;
  const name = svc.servicePortName;
  const port = svc.port;

  for (const ep of eps.allReachable) {
    tx.ensureChain(nftEndpointChain(svc, ep), true);
    if (svc.sessionAffinity === 'ClientIP') tx.activeAffinitySets.add(nftAffinitySet(svc, ep));
  }
  const usesClusterChain = eps.cluster.length > 0 && svc.usesClusterEndpoints;
  if (usesClusterChain) tx.ensureChain(chains.cluster, true);
  const usesLocalChain = eps.local.length > 0 && svc.usesLocalEndpoints;
  if (usesLocalChain) tx.ensureChain(chains.local, true);

  const {
    internal: internalChain,
    hasInternal,
    externalPolicy: externalPolicyChain,
    hasExternal,
  } = policyChains(svc, eps, chains);
  // Needed even without external endpoints: it short-circuits pod and node traffic.
  const usesExternalChain = hasEndpoints && svc.externallyAccessible;
  if (usesExternalChain) tx.ensureChain(chains.external, true);

  let internalVerdict = '';
  let externalVerdict = '';
  if (!hasEndpoints) internalVerdict = externalVerdict = `goto ${REJECT_CHAIN}`;
  else {
    if (!hasInternal) internalVerdict = 'drop';
    if (!hasExternal) externalVerdict = 'drop';
  }

  tx.element(CLUSTER_IPS, [svc.clusterIP]);
  if (hasInternal) tx.element(SERVICE_IPS, [svc.clusterIP, protocol, port], `goto ${internalChain}`);
  else tx.element(NO_ENDPOINT_SERVICES, [svc.clusterIP, protocol, port], internalVerdict, name);

  for (const ip of svc.externalIPs) {
    if (hasEndpoints) tx.element(SERVICE_IPS, [ip, protocol, port], `goto ${chains.external}`);
    if (!hasExternal) tx.element(NO_ENDPOINT_SERVICES, [ip, protocol, port], externalVerdict, name);
  }

  const usesFirewall = svc.loadBalancerIPs.length > 0 && svc.loadBalancerSourceRanges.length > 0;
  if (usesFirewall) tx.ensureChain(chains.firewall, true);
  for (const ip of svc.loadBalancerIPs) {
    if (hasEndpoints) tx.element(SERVICE_IPS, [ip, protocol, port], `goto ${chains.external}`);
    if (usesFirewall) tx.element(FIREWALL_IPS, [ip, protocol, port], `goto ${chains.firewall}`);
  }
  if (!hasExternal)
    for (const ip of svc.loadBalancerIPs) tx.element(NO_ENDPOINT_SERVICES, [ip, protocol, port], externalVerdict, name);

  if (svc.nodePort !== undefined && svc.nodePort !== 0) {
    // NodePorts are not subject to loadBalancerSourceRanges.
    if (hasEndpoints) tx.element(SERVICE_NODEPORTS, [protocol, svc.nodePort], `goto ${chains.external}`);
    if (!hasExternal) tx.element(NO_ENDPOINT_NODEPORTS, [protocol, svc.nodePort], externalVerdict, name);
  }

  // Everything below is the Service's own chains: a partial sync leaves an unchanged Service's alone.
  if (tx.skip) return;
  const detector = s.localDetector;
  if (hasInternal) {
    // Off-cluster traffic to a service IP (a static route to any node) may bounce off-node: masquerade it.
    if (s.masqueradeAll) tx.rule(internalChain, `ip daddr ${svc.clusterIP} jump ${MARK_MASQ}`);
    else if (detector !== null)
      tx.rule(internalChain, `ip daddr ${svc.clusterIP} ${detector.ifNotLocalNFT.join(' ')} jump ${MARK_MASQ}`);
  }

  if (usesExternalChain) {
    if (!svc.externalPolicyLocal) tx.rule(chains.external, `jump ${MARK_MASQ}`);
    else {
      // Pod traffic to an external address behaves as if it left and came back in: any endpoint.
      if (detector !== null)
        tx.rule(
          chains.external,
          `${detector.ifLocalNFT.join(' ')} goto ${chains.cluster}`,
          'short-circuit pod traffic',
        );
      // The node's own traffic takes the external address as source: masquerade it.
      tx.rule(chains.external, `fib saddr type local jump ${MARK_MASQ}`, 'masquerade local traffic');
      tx.rule(chains.external, `fib saddr type local goto ${chains.cluster}`, 'short-circuit local traffic');
    }
    if (hasExternal) tx.rule(chains.external, `goto ${externalPolicyChain}`);
  }

  if (usesFirewall) {
    const sources = [...svc.loadBalancerSourceRanges.map((c) => c.trim())];
    // A VIP-like load balancer's address is often local: the node's own requests loop back from it.
    if (s.nodeIP !== null && sources.some((c) => cidrContainsIPv4(c, s.nodeIP!))) sources.push(...svc.loadBalancerIPs);
    tx.rule(chains.firewall, `ip saddr != { ${sources.join(' , ')} } drop`);
  }

  if (svc.sessionAffinity === 'ClientIP')
    for (const ep of eps.allReachable)
      tx.add(
        `set ${T} ${nftAffinitySet(svc, ep)} { type ipv4_addr ; flags dynamic,timeout ; timeout ${svc.stickyMaxAgeSeconds}s ; }`,
      );

  if (usesClusterChain) serviceToEndpointRules(tx, svc, chains.cluster, eps.cluster);
  if (usesLocalChain) serviceToEndpointRules(tx, svc, chains.local, eps.local);

  for (const ep of eps.allReachable) {
    const chain = nftEndpointChain(svc, ep);
    // Hairpin: a pod reaching itself through the service must be masqueraded to get the reply.
    tx.rule(chain, `ip saddr ${ep.ip} jump ${MARK_MASQ}`);
    if (svc.sessionAffinity === 'ClientIP') tx.rule(chain, `update @${nftAffinitySet(svc, ep)} { ip saddr }`);
    tx.rule(chain, `meta l4proto ${protocol} dnat to ${ep.ip}:${ep.port}`);
  }
}

export interface NftablesPartialSync extends NftablesSync {
  readonly full: boolean;
  /** Service chains no longer used: flushed now, deleted by a later sync (see deleteStaleChains). */
  readonly staleChains: readonly string[];
  /** Affinity sets no longer used, deleted now. */
  readonly deletedSets: readonly string[];
}

function result(tx: Transaction): NftablesSync {
  return {
    transaction: tx.lines.map((l) => `${l}\n`).join(''),
    chains: tx.chains,
    rules: tx.rules,
    elements: tx.elements,
  };
}

/** One full sync of kube-proxy's nftables proxier (IPv4) on a node with no kube-proxy table yet. */
export function syncNftablesRules(
  state: NodeLocalState,
  s: ProxierSettings,
  serviceCIDRs: readonly string[],
): NftablesSync {
  const tx = new Transaction();
  setupTable(
    tx,
    s,
    serviceCIDRs.filter((c) => !c.includes(':')),
    true,
  );
  for (const svc of state.servicePorts) serviceRules(tx, svc, s);
  return result(tx);
}

/** What kube-proxy's table holds now: the tracked maps' elements by key, its chains and its sets. */
function kernelState(current: NftRuleset): {
  storage: Map<string, Map<string, string>>;
  chains: string[];
  sets: string[];
} {
  const table = current.tables.get(`ip ${KUBE_PROXY_TABLE}`);
  const storage = new Map<string, Map<string, string>>();
  for (const name of TRACKED_CONTAINERS) {
    const set = table?.sets.get(name);
    storage.set(name, new Map((set?.elements ?? []).map((e) => [e.key.join(' . '), e.value ?? ''])));
  }
  return { storage, chains: [...(table?.chains.keys() ?? [])], sets: [...(table?.sets.keys() ?? [])] };
}

/**
 * A later sync, given the kernel's current ruleset and what changed since the last one: a partial
 * sync writes only changed Services' chains, adds, replaces or deletes map elements one by one,
 * flushes service chains no longer used and deletes unused affinity sets. `changes.fullSync`
 * re-creates the table's fixed part and refills every map, as kube-proxy's full resync does.
 */
export function partialNftablesSync(
  next: NodeLocalState,
  s: ProxierSettings,
  serviceCIDRs: readonly string[],
  changes: ServiceChanges,
  current: NftRuleset,
): NftablesPartialSync {
  const kernel = kernelState(current);
  const tx = new Transaction(changes.fullSync ? new Map() : kernel.storage);
  const first = !current.tables.has(`ip ${KUBE_PROXY_TABLE}`);
  if (changes.fullSync)
    setupTable(
      tx,
      s,
      serviceCIDRs.filter((c) => !c.includes(':')),
      first,
    );
  for (const svc of next.servicePorts) {
    tx.skip = !changes.fullSync && !changes.changed.has(serviceKeyOf(svc));
    serviceRules(tx, svc, s);
  }
  tx.skip = false;
  // A map element pointing at a chain keeps it busy for a moment after the element goes (before
  // kernel 6.2): stale chains are flushed now and deleted by a later sync.
  const staleChains = kernel.chains.filter((c) => c.includes('/') && !tx.activeChains.has(c));
  for (const c of staleChains) tx.flush(`chain ${T} ${c}`);
  const deletedSets = kernel.sets.filter((n) => n.startsWith('affinity-') && !tx.activeAffinitySets.has(n));
  for (const n of deletedSets) tx.delete(`set ${T} ${n}`);
  tx.cleanupLeftovers();
  return { ...result(tx), full: changes.fullSync, staleChains, deletedSets };
}

/** The transaction kube-proxy sends at the start of a later sync to delete chains it flushed earlier. */
export function deleteStaleChains(chains: readonly string[]): string {
  return chains.map((c) => `delete chain ${T} ${c}\n`).join('');
}
