// kube-proxy's IPVS mode: what one full sync leaves on a node (pkg/proxy/ipvs
// syncProxyRules): a virtual server per Service IP and port (NodePorts on each
// node address), real servers as the traffic policies choose them, the
// addresses bound to kube-ipvs0, the ipsets and their entries, and the few
// iptables rules that match those sets, in kube-proxy's order and words.
import type { LocalEndpoint, NodeLocalState, ServicePortState } from '../../model';
import { categorizeEndpoints, endpointKey, type NodeTopology } from '../categorize-endpoints';
import { cidrContainsIPv4, type ProxierSettings } from '../proxier-settings';
import {
  IPVS_SETS,
  type IpvsSetType,
  KUBE_CLUSTER_IP,
  KUBE_EXTERNAL_IP,
  KUBE_EXTERNAL_IP_LOCAL,
  KUBE_HEALTH_CHECK_NODE_PORT,
  KUBE_IPVS_IPS,
  KUBE_LOAD_BALANCER,
  KUBE_LOAD_BALANCER_FW,
  KUBE_LOAD_BALANCER_LOCAL,
  KUBE_LOAD_BALANCER_SOURCE_CIDR,
  KUBE_LOAD_BALANCER_SOURCE_IP,
  KUBE_LOOP_BACK,
  KUBE_NODE_PORT_LOCAL_SCTP,
  KUBE_NODE_PORT_LOCAL_TCP,
  KUBE_NODE_PORT_LOCAL_UDP,
  KUBE_NODE_PORT_SCTP,
  KUBE_NODE_PORT_TCP,
  KUBE_NODE_PORT_UDP,
  SET_RULES,
} from './ipvs-sets';

export interface IpvsRealServer {
  readonly address: string;
  readonly port: number;
  readonly weight: number;
}

export interface IpvsVirtualServer {
  readonly address: string;
  readonly port: number;
  readonly protocol: 'TCP' | 'UDP' | 'SCTP';
  readonly scheduler: string;
  /** ipvsadm's names: persistent; mh-port for the mh scheduler's source-hash flag. */
  readonly flags: readonly string[];
  readonly flagsValue: number;
  /** Persistence timeout in seconds (0: none). */
  readonly timeout: number;
  readonly realServers: readonly IpvsRealServer[];
}

export interface IpvsSetState {
  readonly name: string;
  readonly type: IpvsSetType;
  readonly comment: string;
  /** Entries as `ipset` prints them, sorted. */
  readonly entries: readonly string[];
}

export interface IpvsSync {
  readonly restore: string;
  readonly virtualServers: readonly IpvsVirtualServer[];
  readonly sets: readonly IpvsSetState[];
  /** Addresses bound to the kube-ipvs0 dummy device. */
  readonly kubeIpvs0: readonly string[];
}

const FLAG_PERSISTENT = 0x1;
const FLAG_SOURCE_HASH = 0x10;

class Lines {
  readonly lines: string[] = [];
  write(...parts: (string | readonly string[])[]): void {
    this.lines.push(parts.flat().join(' '));
  }
}

function virtualServer(
  svc: ServicePortState,
  address: string,
  port: number,
  scheduler: string,
  realServers: IpvsRealServer[],
): IpvsVirtualServer {
  let flagsValue = 0;
  const flags: string[] = [];
  if (svc.sessionAffinity === 'ClientIP') {
    flagsValue |= FLAG_PERSISTENT;
    flags.push('persistent');
  }
  if (scheduler === 'mh') {
    flagsValue |= FLAG_SOURCE_HASH;
    flags.push('mh-port');
  }
  return {
    address,
    port,
    protocol: svc.protocol,
    scheduler,
    flags,
    flagsValue,
    timeout: svc.sessionAffinity === 'ClientIP' ? svc.stickyMaxAgeSeconds : 0,
    realServers,
  };
}

/** syncEndpoint: the endpoints a virtual server gets, weight 1 each. */
function realServersFor(svc: ServicePortState, onlyLocal: boolean, node: NodeTopology): IpvsRealServer[] {
  const eps = categorizeEndpoints(svc, node);
  const chosen: readonly LocalEndpoint[] = onlyLocal ? (eps.local.length > 0 ? eps.local : eps.cluster) : eps.cluster;
  const byKey = new Map(chosen.map((e) => [endpointKey(e), { address: e.ip, port: e.port, weight: 1 }]));
  return [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, rs]) => rs);
}

function isLoopback(ip: string): boolean {
  return ip.startsWith('127.') || ip === '::1';
}

export function syncIpvsState(state: NodeLocalState, s: ProxierSettings, scheduler: string): IpvsSync {
  const entries = new Map<string, Set<string>>(IPVS_SETS.map((set) => [set.name, new Set()]));
  const add = (set: string, entry: string) => entries.get(set)!.add(entry);
  const virtualServers: IpvsVirtualServer[] = [];
  const bound = new Set<string>();
  // The node's own addresses as netlink lists them for IPVS (isValidForSet): never loopback.
  const nodeAddresses = state.node.internalIPs.filter((ip) => !isLoopback(ip));
  const hasNodePort = state.servicePorts.some((svc) => svc.nodePort);
  // NodePort virtual servers go on the node's addresses that --nodeport-addresses selects.
  const nodeIPs = !hasNodePort
    ? []
    : s.nodePortCIDRs.length === 0
      ? [...nodeAddresses]
      : nodeAddresses.filter((ip) => s.nodePortCIDRs.some((c) => cidrContainsIPv4(c, ip)));
  const noNodeAccess: { ip: string; port: number; protocol: string }[] = [];

  for (const svc of state.servicePorts) {
    const protocol = svc.protocol.toLowerCase();
    for (const ep of svc.endpoints) if (ep.isLocal) add(KUBE_LOOP_BACK, `${ep.ip},${protocol}:${ep.port},${ep.ip}`);
    // The cluster IP: always bound to kube-ipvs0.
    add(KUBE_CLUSTER_IP, `${svc.clusterIP},${protocol}:${svc.port}`);
    virtualServers.push(
      virtualServer(svc, svc.clusterIP, svc.port, scheduler, realServersFor(svc, svc.internalPolicyLocal, s)),
    );
    bound.add(svc.clusterIP);
    for (const ip of svc.externalIPs) {
      add(svc.externalPolicyLocal ? KUBE_EXTERNAL_IP_LOCAL : KUBE_EXTERNAL_IP, `${ip},${protocol}:${svc.port}`);
      virtualServers.push(virtualServer(svc, ip, svc.port, scheduler, realServersFor(svc, svc.externalPolicyLocal, s)));
      // An address already on another interface is not bound again.
      if (!nodeAddresses.includes(ip)) bound.add(ip);
    }
    for (const ip of svc.loadBalancerIPs) {
      const entry = `${ip},${protocol}:${svc.port}`;
      add(KUBE_LOAD_BALANCER, entry);
      if (svc.externalPolicyLocal) add(KUBE_LOAD_BALANCER_LOCAL, entry);
      if (svc.loadBalancerSourceRanges.length > 0) {
        add(KUBE_LOAD_BALANCER_FW, entry);
        let allowFromNode = false;
        for (const cidr of svc.loadBalancerSourceRanges) {
          add(KUBE_LOAD_BALANCER_SOURCE_CIDR, `${ip},${protocol}:${svc.port},${cidr}`);
          if (s.nodeIP !== null && cidrContainsIPv4(cidr, s.nodeIP)) allowFromNode = true;
        }
        if (allowFromNode) add(KUBE_LOAD_BALANCER_SOURCE_IP, `${ip},${protocol}:${svc.port},${ip}`);
        else noNodeAccess.push({ ip, port: svc.port, protocol });
      }
      virtualServers.push(virtualServer(svc, ip, svc.port, scheduler, realServersFor(svc, svc.externalPolicyLocal, s)));
      if (!nodeAddresses.includes(ip)) bound.add(ip);
    }
    // A nodePort with no node address to serve it on: kube-proxy skips the rest of this
    // service port, its health-check node port included.
    if (svc.nodePort && nodeIPs.length === 0) continue;
    if (svc.nodePort) {
      const portEntries =
        protocol === 'sctp' ? nodeIPs.map((ip) => `${ip},sctp:${svc.nodePort}`) : [String(svc.nodePort)];
      const set =
        protocol === 'tcp' ? KUBE_NODE_PORT_TCP : protocol === 'udp' ? KUBE_NODE_PORT_UDP : KUBE_NODE_PORT_SCTP;
      const local =
        protocol === 'tcp'
          ? KUBE_NODE_PORT_LOCAL_TCP
          : protocol === 'udp'
            ? KUBE_NODE_PORT_LOCAL_UDP
            : KUBE_NODE_PORT_LOCAL_SCTP;
      for (const e of portEntries) {
        add(set, e);
        if (svc.externalPolicyLocal) add(local, e);
      }
      for (const ip of nodeIPs)
        virtualServers.push(
          virtualServer(svc, ip, svc.nodePort, scheduler, realServersFor(svc, svc.externalPolicyLocal, s)),
        );
    }
    if (svc.healthCheckNodePort) add(KUBE_HEALTH_CHECK_NODE_PORT, String(svc.healthCheckNodePort));
  }
  for (const ip of bound) add(KUBE_IPVS_IPS, ip);

  const sets: IpvsSetState[] = IPVS_SETS.map((info) => ({ ...info, entries: [...entries.get(info.name)!].sort() }));
  const nonEmpty = (name: string) => entries.get(name)!.size > 0;
  const comment = (name: string) => `"${IPVS_SETS.find((x) => x.name === name)!.comment}"`;
  const natRules = new Lines();
  const filterRules = new Lines();
  const mark = `${s.masqueradeMark}/${s.masqueradeMark}`;

  // writeIptablesRules, in its order.
  natRules.write('-A', 'KUBE-SERVICES', '-s', '127.0.0.0/8', '-j', 'RETURN');
  for (const r of SET_RULES) {
    if (!nonEmpty(r.set)) continue;
    const args = [
      '-A',
      r.from,
      ...(r.protocol ? ['-p', r.protocol] : []),
      '-m',
      'comment',
      '--comment',
      comment(r.set),
      '-m',
      'set',
      '--match-set',
      r.set,
      r.matchType,
      '-j',
      r.to,
    ];
    (r.table === 'filter' ? filterRules : natRules).write(args);
  }
  if (nonEmpty(KUBE_CLUSTER_IP)) {
    const args = [
      '-A',
      'KUBE-SERVICES',
      '-m',
      'comment',
      '--comment',
      comment(KUBE_CLUSTER_IP),
      '-m',
      'set',
      '--match-set',
      KUBE_CLUSTER_IP,
    ];
    if (s.masqueradeAll) natRules.write(args, 'dst,dst', '-j', 'KUBE-MARK-MASQ');
    else if (s.localDetector) natRules.write(args, 'dst,dst', s.localDetector.ifNotLocal, '-j', 'KUBE-MARK-MASQ');
    // Without a local detector, masquerade node traffic whose source is a VIP on kube-ipvs0.
    else natRules.write(args, 'src,dst', '-j', 'KUBE-MARK-MASQ');
  }
  const externalIPRules = (args: readonly string[]) => {
    natRules.write(
      args,
      '-m',
      'physdev',
      '!',
      '--physdev-is-in',
      '-m',
      'addrtype',
      '!',
      '--src-type',
      'LOCAL',
      '-j',
      'ACCEPT',
    );
    natRules.write(args, '-m', 'addrtype', '--dst-type', 'LOCAL', '-j', 'ACCEPT');
  };
  if (nonEmpty(KUBE_EXTERNAL_IP)) {
    const args = [
      '-A',
      'KUBE-SERVICES',
      '-m',
      'comment',
      '--comment',
      comment(KUBE_EXTERNAL_IP),
      '-m',
      'set',
      '--match-set',
      KUBE_EXTERNAL_IP,
      'dst,dst',
    ];
    natRules.write(args, '-j', 'KUBE-MARK-MASQ');
    externalIPRules(args);
  }
  if (nonEmpty(KUBE_EXTERNAL_IP_LOCAL))
    externalIPRules([
      '-A',
      'KUBE-SERVICES',
      '-m',
      'comment',
      '--comment',
      comment(KUBE_EXTERNAL_IP_LOCAL),
      '-m',
      'set',
      '--match-set',
      KUBE_EXTERNAL_IP_LOCAL,
      'dst,dst',
    ]);
  natRules.write('-A', 'KUBE-SERVICES', '-m', 'addrtype', '--dst-type', 'LOCAL', '-j', 'KUBE-NODE-PORT');
  natRules.write('-A', 'KUBE-LOAD-BALANCER', '-j', 'KUBE-MARK-MASQ');
  filterRules.write('-A', 'KUBE-SOURCE-RANGES-FIREWALL', '-j', 'DROP');
  for (const e of noNodeAccess)
    filterRules.write(
      '-A',
      'KUBE-IPVS-OUT-FILTER',
      '-s',
      e.ip,
      '-m',
      'ipvs',
      '--vaddr',
      e.ip,
      '--vproto',
      e.protocol,
      '--vport',
      String(e.port),
      '-j',
      'DROP',
    );
  // acceptIPVSTraffic: the last rules of KUBE-SERVICES accept what IPVS will take.
  for (const set of [KUBE_CLUSTER_IP, KUBE_LOAD_BALANCER])
    if (nonEmpty(set))
      natRules.write('-A', 'KUBE-SERVICES', '-m', 'set', '--match-set', set, 'dst,dst', '-j', 'ACCEPT');
  filterRules.write(
    '-A',
    'KUBE-FORWARD',
    '-m',
    'comment',
    '--comment',
    '"kubernetes forwarding rules"',
    '-m',
    'mark',
    '--mark',
    mark,
    '-j',
    'ACCEPT',
  );
  filterRules.write(
    '-A',
    'KUBE-FORWARD',
    '-m',
    'comment',
    '--comment',
    '"kubernetes forwarding conntrack rule"',
    '-m',
    'conntrack',
    '--ctstate',
    'RELATED,ESTABLISHED',
    '-j',
    'ACCEPT',
  );
  filterRules.write(
    '-A',
    'KUBE-NODE-PORT',
    '-m',
    'comment',
    '--comment',
    comment(KUBE_HEALTH_CHECK_NODE_PORT),
    '-m',
    'set',
    '--match-set',
    KUBE_HEALTH_CHECK_NODE_PORT,
    'dst',
    '-j',
    'ACCEPT',
  );
  // KUBE-IPVS-FILTER keeps VIPs from reaching other ports on the host (kubernetes#72236).
  for (const set of [KUBE_LOAD_BALANCER, KUBE_CLUSTER_IP, KUBE_EXTERNAL_IP, KUBE_EXTERNAL_IP_LOCAL])
    filterRules.write('-A', 'KUBE-IPVS-FILTER', '-m', 'set', '--match-set', set, 'dst,dst', '-j', 'RETURN');
  filterRules.write(
    '-A',
    'KUBE-IPVS-FILTER',
    '-m',
    'set',
    '--match-set',
    KUBE_HEALTH_CHECK_NODE_PORT,
    'dst',
    '-j',
    'RETURN',
  );
  filterRules.write(
    '-A',
    'KUBE-IPVS-FILTER',
    '-m',
    'conntrack',
    '--ctstate',
    'NEW',
    '-m',
    'set',
    '--match-set',
    KUBE_IPVS_IPS,
    'dst',
    '-j',
    'REJECT',
  );
  natRules.write('-A', 'KUBE-POSTROUTING', '-m', 'mark', '!', '--mark', mark, '-j', 'RETURN');
  natRules.write('-A', 'KUBE-POSTROUTING', '-j', 'MARK', '--xor-mark', s.masqueradeMark);
  natRules.write(
    '-A',
    'KUBE-POSTROUTING',
    '-m',
    'comment',
    '--comment',
    '"kubernetes service traffic requiring SNAT"',
    '-j',
    'MASQUERADE',
    ...(s.masqueradeRandomFully ? ['--random-fully'] : []),
  );
  natRules.write('-A', 'KUBE-MARK-MASQ', '-j', 'MARK', '--or-mark', s.masqueradeMark);

  const chain = (c: string) => `:${c} - [0:0]`;
  const text = [
    '*nat',
    ...['KUBE-SERVICES', 'KUBE-POSTROUTING', 'KUBE-NODE-PORT', 'KUBE-LOAD-BALANCER', 'KUBE-MARK-MASQ'].map(chain),
    ...natRules.lines,
    'COMMIT',
    '*filter',
    ...[
      'KUBE-FORWARD',
      'KUBE-NODE-PORT',
      'KUBE-PROXY-FIREWALL',
      'KUBE-SOURCE-RANGES-FIREWALL',
      'KUBE-IPVS-FILTER',
      'KUBE-IPVS-OUT-FILTER',
    ].map(chain),
    ...filterRules.lines,
    'COMMIT',
  ];
  return { restore: `${text.join('\n')}\n`, virtualServers, sets, kubeIpvs0: [...bound].sort() };
}

/** The sets as `ipset restore` input (kube-proxy's ipset sizes; no comments, as kube-proxy creates them). */
export function ipvsSetsRestore(sets: readonly IpvsSetState[]): string {
  const lines: string[] = [];
  for (const set of sets) {
    lines.push(
      set.type === 'bitmap:port'
        ? `create ${set.name} bitmap:port range 0-65535`
        : `create ${set.name} ${set.type} family inet hashsize 1024 maxelem 65536`,
    );
    for (const e of set.entries) lines.push(`add ${set.name} ${e}`);
  }
  return `${lines.join('\n')}\n`;
}
