// kube-proxy's iptables mode: the iptables-restore input one full sync writes,
// line for line as syncProxyRules builds it (filter then nat; chain lines, then
// rules in the order they are generated; comments, probabilities and masquerade
// rules exactly as kube-proxy writes them).
import type { LocalEndpoint, NodeLocalState, ServicePortState } from '../../model';
import { categorizeEndpoints, endpointKey, policyChains } from '../categorize-endpoints';
import { endpointChain, serviceChains } from '../chain-names';
import { cidrContainsIPv4, LARGE_CLUSTER_ENDPOINTS, type ProxierSettings } from '../proxier-settings';

export const KUBE_SERVICES = 'KUBE-SERVICES';
export const KUBE_EXTERNAL_SERVICES = 'KUBE-EXTERNAL-SERVICES';
export const KUBE_FORWARD = 'KUBE-FORWARD';
export const KUBE_NODEPORTS = 'KUBE-NODEPORTS';
export const KUBE_PROXY_FIREWALL = 'KUBE-PROXY-FIREWALL';
export const KUBE_FIREWALL = 'KUBE-FIREWALL';
export const KUBE_POSTROUTING = 'KUBE-POSTROUTING';
export const KUBE_MARK_MASQ = 'KUBE-MARK-MASQ';

const CT_INVALID_COUNTER = 'ct_state_invalid_dropped_pkts';
const LOCALHOST_NODEPORT_COUNTER = 'localhost_nps_accepted_pkts';

export interface IptablesSync {
  /** What kube-proxy pipes to `iptables-restore --noflush --counters`. */
  readonly restore: string;
  readonly filterRules: number;
  readonly natRules: number;
  readonly natChains: number;
}

/** Probabilities as kube-proxy prints them: 1/n with ten decimals (Go's %0.10f). */
export function probability(n: number): string {
  return (1 / n).toFixed(10);
}

/** Lines joined into one string per this many: big enough to be allocated outside the young generation. */
const CHUNK_LINES = 2048;

class Lines {
  /** Lines written so far. */
  count = 0;
  private readonly chunks: string[] = [];
  private readonly pending: string[] = [];
  private readonly words: string[] = [];

  /**
   * Joins the words (and lists of words) with spaces. Lines are gathered into
   * chunks of a couple of thousand: a chunk is one large string the garbage
   * collector never copies, where 177,000 live line strings were copied at
   * every young-generation collection of a sync.
   */
  write(...parts: (string | readonly string[])[]): void {
    // Most lines are words alone: joined as they came; lists of words are flattened first.
    let flat = true;
    for (const part of parts)
      if (typeof part !== 'string') {
        flat = false;
        break;
      }
    if (flat) this.pending.push(parts.join(' '));
    else {
      const words = this.words;
      words.length = 0;
      for (const part of parts) {
        if (typeof part === 'string') words.push(part);
        else for (const word of part) words.push(word);
      }
      this.pending.push(words.join(' '));
    }
    this.count++;
    if (this.pending.length === CHUNK_LINES) {
      this.chunks.push(this.pending.join('\n'));
      this.pending.length = 0;
    }
  }

  /** Adds one line already written out (the common rule shapes: one template, no word list). */
  line(text: string): void {
    this.pending.push(text);
    this.count++;
    if (this.pending.length === CHUNK_LINES) {
      this.chunks.push(this.pending.join('\n'));
      this.pending.length = 0;
    }
  }

  /** The lines, one per line of text (no newline after the last). */
  text(): string {
    return this.pending.length === 0 ? this.chunks.join('\n') : [...this.chunks, this.pending.join('\n')].join('\n');
  }
}

const chainLine = (chain: string) => `:${chain} - [0:0]`;
const quoted = (text: string) => `"${text}"`;

interface Buffers {
  readonly filterChains: Lines;
  readonly filterRules: Lines;
  readonly natChains: Lines;
  readonly natRules: Lines;
}

/**
 * The KUBE-SEP- chain names of one service port's endpoints, each hashed once:
 * a name is needed by the service chain's rules and again for the endpoint's own chain.
 */
function endpointChains(name: string, protocol: string): (ep: LocalEndpoint) => string {
  const known = new Map<LocalEndpoint, string>();
  return (ep) => {
    let sep = known.get(ep);
    if (sep === undefined) {
      sep = endpointChain(name, protocol, endpointKey(ep));
      known.set(ep, sep);
    }
    return sep;
  };
}

function serviceToEndpointRules(
  b: Buffers,
  svc: ServicePortState,
  chain: string,
  endpoints: readonly LocalEndpoint[],
  comments: boolean,
  sepOf: (ep: LocalEndpoint) => string,
): void {
  const name = svc.servicePortName;
  const comment = (ep: LocalEndpoint) =>
    comments ? ['-m', 'comment', '--comment', quoted(`${name} -> ${endpointKey(ep)}`)] : [];
  if (svc.sessionAffinity === 'ClientIP') {
    for (const ep of endpoints) {
      const sep = sepOf(ep);
      b.natRules.write(
        '-A',
        chain,
        comment(ep),
        '-m',
        'recent',
        '--name',
        sep,
        '--rcheck',
        '--seconds',
        String(svc.stickyMaxAgeSeconds),
        '--reap',
        '-j',
        sep,
      );
    }
  }
  const head = `-A ${chain} `;
  const last = endpoints.length - 1;
  for (let i = 0; i <= last; i++) {
    const ep = endpoints[i]!;
    const sep = sepOf(ep);
    const noted = comments ? `${head}-m comment --comment "${name} -> ${endpointKey(ep)}" ` : head;
    b.natRules.line(
      i < last
        ? `${noted}-m statistic --mode random --probability ${probability(endpoints.length - i)} -j ${sep}`
        : `${noted}-j ${sep}`,
    );
  }
}

function serviceRules(b: Buffers, svc: ServicePortState, s: ProxierSettings, largeCluster: boolean): void {
  const name = svc.servicePortName;
  const protocol = svc.protocol.toLowerCase();
  const chains = serviceChains(name, protocol);
  const sepOf = endpointChains(name, protocol);
  const eps = categorizeEndpoints(svc, s);
  const hasEndpoints = eps.hasAny;
  const usesClusterChain = eps.cluster.length > 0 && svc.usesClusterEndpoints;
  const usesLocalChain = eps.local.length > 0 && svc.usesLocalEndpoints;

  const {
    internal: internalChain,
    hasInternal,
    externalPolicy: externalPolicyChain,
    hasExternal,
  } = policyChains(svc, eps, chains);
  const externalChain = chains.external;
  const usesExternalChain = hasEndpoints && svc.externallyAccessible;
  const usesFWChain = hasEndpoints && svc.loadBalancerIPs.length > 0 && svc.loadBalancerSourceRanges.length > 0;
  const lbChain = usesFWChain ? chains.firewall : externalChain;

  let internalFilterTarget = '';
  let internalFilterComment = '';
  let externalFilterTarget = '';
  let externalFilterComment = '';
  if (!hasEndpoints) {
    internalFilterTarget = externalFilterTarget = 'REJECT';
    internalFilterComment = externalFilterComment = quoted(`${name} has no endpoints`);
  } else {
    if (!hasInternal) {
      internalFilterTarget = 'DROP';
      internalFilterComment = quoted(`${name} has no local endpoints`);
    }
    if (!hasExternal) {
      externalFilterTarget = 'DROP';
      externalFilterComment = quoted(`${name} has no local endpoints`);
    }
  }
  const port = String(svc.port);
  /** The rule shape kube-proxy repeats for every captured address: comment, protocol, address, port, target. */
  const matchProto = `-m ${protocol} -p ${protocol}`;
  const capture = (chain: string, comment: string, address: string, target: string) =>
    `-A ${chain} -m comment --comment ${comment} ${matchProto} -d ${address} --dport ${port} -j ${target}`;

  // Capture the cluster IP.
  if (hasInternal) {
    b.natRules.line(capture(KUBE_SERVICES, quoted(`${name} cluster IP`), svc.clusterIP, internalChain));
  } else {
    b.filterRules.line(capture(KUBE_SERVICES, internalFilterComment, svc.clusterIP, internalFilterTarget));
  }
  // Capture external IPs.
  for (const ip of svc.externalIPs) {
    if (hasEndpoints) b.natRules.line(capture(KUBE_SERVICES, quoted(`${name} external IP`), ip, externalChain));
    if (!hasExternal)
      b.filterRules.line(capture(KUBE_EXTERNAL_SERVICES, externalFilterComment, ip, externalFilterTarget));
  }
  // Capture load-balancer ingress IPs.
  for (const ip of svc.loadBalancerIPs) {
    if (hasEndpoints) b.natRules.line(capture(KUBE_SERVICES, quoted(`${name} loadbalancer IP`), ip, lbChain));
    if (usesFWChain)
      b.filterRules.line(
        capture(KUBE_PROXY_FIREWALL, quoted(`${name} traffic not accepted by ${chains.firewall}`), ip, 'DROP'),
      );
  }
  if (!hasExternal) {
    for (const ip of svc.loadBalancerIPs)
      b.filterRules.line(capture(KUBE_EXTERNAL_SERVICES, externalFilterComment, ip, externalFilterTarget));
  }
  // Capture node ports.
  if (svc.nodePort !== undefined && svc.nodePort !== 0) {
    const nodePort = String(svc.nodePort);
    if (hasEndpoints) {
      if (s.localhostNodePorts && s.nfacctCounters.has(LOCALHOST_NODEPORT_COUNTER))
        b.natRules.line(
          `-A ${KUBE_NODEPORTS} -m comment --comment ${name} ${matchProto} -d 127.0.0.0/8 --dport ${nodePort} -m nfacct --nfacct-name ${LOCALHOST_NODEPORT_COUNTER} -j ${externalChain}`,
        );
      b.natRules.line(
        `-A ${KUBE_NODEPORTS} -m comment --comment ${name} ${matchProto} --dport ${nodePort} -j ${externalChain}`,
      );
    }
    if (!hasExternal)
      b.filterRules.line(
        `-A ${KUBE_EXTERNAL_SERVICES} -m comment --comment ${externalFilterComment} -m addrtype --dst-type LOCAL ${matchProto} --dport ${nodePort} -j ${externalFilterTarget}`,
      );
  }
  // Health check node ports are accepted whether or not there are local endpoints.
  if (svc.healthCheckNodePort !== undefined && svc.healthCheckNodePort !== 0) {
    b.filterRules.line(
      `-A ${KUBE_NODEPORTS} -m comment --comment "${name} health check node port" -m tcp -p tcp --dport ${svc.healthCheckNodePort} -j ACCEPT`,
    );
  }

  // Internal traffic: masquerade what does not come from a pod (or everything with masqueradeAll).
  if (hasInternal) {
    const args = `-A ${internalChain} -m comment --comment "${name} cluster IP" ${matchProto} -d ${svc.clusterIP} --dport ${port}`;
    if (s.masqueradeAll) b.natRules.line(`${args} -j ${KUBE_MARK_MASQ}`);
    else if (s.localDetector) b.natRules.line(`${args} ${s.localDetector.ifNotLocal.join(' ')} -j ${KUBE_MARK_MASQ}`);
  }
  // External traffic goes through the EXT chain, which handles local sources, then the policy chain.
  if (usesExternalChain) {
    b.natChains.line(chainLine(externalChain));
    const head = `-A ${externalChain} -m comment --comment`;
    if (!svc.externalPolicyLocal) {
      b.natRules.line(`${head} "masquerade traffic for ${name} external destinations" -j ${KUBE_MARK_MASQ}`);
    } else {
      if (s.localDetector)
        b.natRules.line(
          `${head} "pod traffic for ${name} external destinations" ${s.localDetector.ifLocal.join(' ')} -j ${chains.cluster}`,
        );
      b.natRules.line(
        `${head} "masquerade LOCAL traffic for ${name} external destinations" -m addrtype --src-type LOCAL -j ${KUBE_MARK_MASQ}`,
      );
      b.natRules.line(
        `${head} "route LOCAL traffic for ${name} external destinations" -m addrtype --src-type LOCAL -j ${chains.cluster}`,
      );
    }
    if (hasExternal) b.natRules.line(`-A ${externalChain} -j ${externalPolicyChain}`);
  }
  // The firewall chain for loadBalancerSourceRanges.
  if (usesFWChain) {
    b.natChains.line(chainLine(chains.firewall));
    const args = ['-A', chains.firewall, '-m', 'comment', '--comment', quoted(`${name} loadbalancer IP`)];
    let allowFromNode = false;
    for (const cidr of svc.loadBalancerSourceRanges) {
      b.natRules.write(args, '-s', cidr, '-j', externalChain);
      if (s.nodeIP !== null && cidrContainsIPv4(cidr, s.nodeIP)) allowFromNode = true;
    }
    // A VIP-like load balancer's address is often local: the node's own requests loop back from it.
    if (allowFromNode) for (const ip of svc.loadBalancerIPs) b.natRules.write(args, '-s', ip, '-j', externalChain);
    b.natRules.write(
      '-A',
      chains.firewall,
      '-m',
      'comment',
      '--comment',
      quoted(`other traffic to ${name} will be dropped by KUBE-PROXY-FIREWALL`),
    );
  }
  if (usesClusterChain) {
    b.natChains.line(chainLine(chains.cluster));
    serviceToEndpointRules(b, svc, chains.cluster, eps.cluster, !largeCluster, sepOf);
  }
  if (usesLocalChain) {
    b.natChains.line(chainLine(chains.local));
    serviceToEndpointRules(b, svc, chains.local, eps.local, !largeCluster, sepOf);
  }
  // One chain per endpoint: masquerade hairpin traffic, remember affinity, DNAT.
  const sepComment = largeCluster ? '' : ` -m comment --comment ${name}`;
  const affinity = svc.sessionAffinity === 'ClientIP';
  for (const ep of eps.allReachable) {
    const sep = sepOf(ep);
    b.natChains.line(chainLine(sep));
    const head = `-A ${sep}${sepComment}`;
    b.natRules.line(`${head} -s ${ep.ip} -j ${KUBE_MARK_MASQ}`);
    const recent = affinity ? ` -m recent --name ${sep} --set` : '';
    b.natRules.line(`${head}${recent} -m ${protocol} -p ${protocol} -j DNAT --to-destination ${endpointKey(ep)}`);
  }
}

/** One full sync of kube-proxy's iptables proxier for a node (IPv4). */
export function syncIptablesRules(state: NodeLocalState, s: ProxierSettings): IptablesSync {
  const b: Buffers = {
    filterChains: new Lines(),
    filterRules: new Lines(),
    natChains: new Lines(),
    natRules: new Lines(),
  };
  for (const c of [KUBE_SERVICES, KUBE_EXTERNAL_SERVICES, KUBE_FORWARD, KUBE_NODEPORTS, KUBE_PROXY_FIREWALL])
    b.filterChains.write(chainLine(c));
  for (const c of [KUBE_SERVICES, KUBE_NODEPORTS, KUBE_POSTROUTING, KUBE_MARK_MASQ]) b.natChains.write(chainLine(c));

  b.natRules.write(
    '-A',
    KUBE_POSTROUTING,
    '-m',
    'mark',
    '!',
    '--mark',
    `${s.masqueradeMark}/${s.masqueradeMark}`,
    '-j',
    'RETURN',
  );
  // Clear the mark so a packet that traverses the stack again is not masqueraded twice.
  b.natRules.write('-A', KUBE_POSTROUTING, '-j', 'MARK', '--xor-mark', s.masqueradeMark);
  b.natRules.write(
    '-A',
    KUBE_POSTROUTING,
    '-m',
    'comment',
    '--comment',
    quoted('kubernetes service traffic requiring SNAT'),
    '-j',
    'MASQUERADE',
    ...(s.masqueradeRandomFully ? ['--random-fully'] : []),
  );
  b.natRules.write('-A', KUBE_MARK_MASQ, '-j', 'MARK', '--or-mark', s.masqueradeMark);

  if (s.localhostNodePorts) {
    // route_localnet opens localhost NodePorts to the network (issue 90259); this rule closes that hole.
    b.filterChains.write(chainLine(KUBE_FIREWALL));
    b.filterRules.write(
      '-A',
      KUBE_FIREWALL,
      '-m',
      'comment',
      '--comment',
      quoted('block incoming localnet connections'),
      '-d',
      '127.0.0.0/8',
      '!',
      '-s',
      '127.0.0.0/8',
      '-m',
      'conntrack',
      '!',
      '--ctstate',
      'RELATED,ESTABLISHED,DNAT',
      '-j',
      'DROP',
    );
  }

  const totalEndpoints = state.servicePorts.reduce((n, svc) => n + svc.endpoints.length, 0);
  const largeCluster = totalEndpoints > LARGE_CLUSTER_ENDPOINTS;
  for (const svc of state.servicePorts) serviceRules(b, svc, s, largeCluster);

  // The jump to KUBE-NODEPORTS must be the last rule of KUBE-SERVICES.
  const lastComment = quoted('kubernetes service nodeports; NOTE: this must be the last rule in this chain');
  if (s.nodePortCIDRs.length === 0) {
    b.natRules.write(
      '-A',
      KUBE_SERVICES,
      '-m',
      'comment',
      '--comment',
      lastComment,
      '-m',
      'addrtype',
      '--dst-type',
      'LOCAL',
      ...(s.localhostNodePorts ? [] : ['!', '-d', '127.0.0.0/8']),
      '-j',
      KUBE_NODEPORTS,
    );
  } else {
    for (const ip of s.nodePortIPs) {
      if (ip.startsWith('127.') && !s.localhostNodePorts) continue;
      b.natRules.write('-A', KUBE_SERVICES, '-m', 'comment', '--comment', lastComment, '-d', ip, '-j', KUBE_NODEPORTS);
    }
  }
  // INVALID packets would reset connections unless conntrack is liberal (kubernetes#74839).
  if (!s.conntrackTCPLiberal) {
    const count = s.nfacctCounters.has(CT_INVALID_COUNTER) ? ['-m', 'nfacct', '--nfacct-name', CT_INVALID_COUNTER] : [];
    b.filterRules.write('-A', KUBE_FORWARD, '-m', 'conntrack', '--ctstate', 'INVALID', count, '-j', 'DROP');
  }
  b.filterRules.write(
    '-A',
    KUBE_FORWARD,
    '-m',
    'comment',
    '--comment',
    quoted('kubernetes forwarding rules'),
    '-m',
    'mark',
    '--mark',
    `${s.masqueradeMark}/${s.masqueradeMark}`,
    '-j',
    'ACCEPT',
  );
  b.filterRules.write(
    '-A',
    KUBE_FORWARD,
    '-m',
    'comment',
    '--comment',
    quoted('kubernetes forwarding conntrack rule'),
    '-m',
    'conntrack',
    '--ctstate',
    'RELATED,ESTABLISHED',
    '-j',
    'ACCEPT',
  );

  const sections = ['*filter', b.filterChains, b.filterRules, 'COMMIT', '*nat', b.natChains, b.natRules, 'COMMIT'];
  const text = sections
    .filter((x) => typeof x === 'string' || x.count > 0)
    .map((x) => (typeof x === 'string' ? x : x.text()));
  return {
    restore: `${text.join('\n')}\n`,
    filterRules: b.filterRules.count,
    natRules: b.natRules.count,
    natChains: b.natChains.count,
  };
}
