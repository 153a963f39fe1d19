// kube-proxy's userspace mode (pkg/proxy/userspace, last shipped in v1.25): a proxy
// socket per service port on a "proxy port", and iptables rules that send each portal
// (cluster IP, external IP, LB ingress IP, NodePort) to it. Expressed as the state its
// EnsureChain/EnsureRule calls leave, with the arguments exactly as v1.25 built them.
import type { NodeLocalState, Protocol, ServicePortState, SessionAffinity } from '../../model';
import { joinHostPort } from '../../model';
import type { ProxierSettings } from '../proxier-settings';

export const KUBE_PORTALS_CONTAINER = 'KUBE-PORTALS-CONTAINER';
export const KUBE_PORTALS_HOST = 'KUBE-PORTALS-HOST';
export const KUBE_NODEPORT_CONTAINER = 'KUBE-NODEPORT-CONTAINER';
export const KUBE_NODEPORT_HOST = 'KUBE-NODEPORT-HOST';
export const KUBE_NODEPORT_NON_LOCAL = 'KUBE-NODEPORT-NON-LOCAL';

/**
 * Where proxy ports come from. v1.25 picks a random free port of --proxy-port-range
 * (or, by default, lets the OS choose an ephemeral one); we hand them out in order from
 * the first port, one per proxied service port in ServicePortName order.
 */
export const DEFAULT_USERSPACE_PROXY_PORT_RANGE: readonly [number, number] = [36000, 36999];

export interface UserspaceOptions {
  /** First and last proxy port, inclusive. */
  readonly proxyPortRange?: readonly [number, number];
  /** The proxier's hostIP: what from-host rules DNAT to when listening on every address. */
  readonly nodeIP: string;
  /** --bind-address; "0.0.0.0" (the default) means REDIRECT for traffic from containers. */
  readonly listenIP?: string;
  /** The node's local addresses (GetLocalAddrs); a portal on one of them also holds that port. */
  readonly localAddresses?: readonly string[];
  /**
   * Proxy ports service ports already hold from the last sync (ServicePortName -> port): an
   * unchanged service keeps its socket; new ones take the lowest free port of the range.
   */
  readonly heldPorts?: ReadonlyMap<string, number>;
}

export interface UserspaceEndpoint {
  readonly ip: string;
  readonly port: number;
}

export interface UserspacePortal {
  readonly servicePortName: string;
  readonly protocol: Protocol;
  readonly clusterIP: string;
  readonly port: number;
  readonly proxyPort: number;
  readonly externalIPs: readonly string[];
  readonly loadBalancerIPs: readonly string[];
  /** 0 without a NodePort, as v1.25's ServiceInfo keeps it. */
  readonly nodePort: number;
  /** What the Endpoints object's ready addresses give LoadBalancerRR, sorted by `ip:port`. */
  readonly endpoints: readonly UserspaceEndpoint[];
  readonly sessionAffinity: SessionAffinity;
  readonly stickyMaxAgeSeconds: number;
}

export interface UserspaceSkip {
  readonly servicePortName: string;
  readonly reason: string;
}

export interface UserspaceSync {
  /** The rules of the five userspace chains, as iptables-restore --noflush input. */
  readonly restore: string;
  readonly portals: readonly UserspacePortal[];
  /** iptablesInit: the chains and the jumps to them from the built-in chains (load before `restore`). */
  readonly jumps: string;
  /** Ports the proxier holds open so nothing else takes them: `ip:port/PROTOCOL`, "<nil>" for every address. */
  readonly claimedPorts: readonly string[];
  /** Service ports the proxier could not (fully) open, with the error v1.25 would log. */
  readonly skipped: readonly UserspaceSkip[];
}

const PORTALS_COMMENT = 'handle ClusterIPs; NOTE: this must be before the NodePort rules';
const NODEPORTS_COMMENT = 'handle service NodePorts; NOTE: this must be the last rule in the chain';
const NON_LOCAL_COMMENT = 'Ensure that non-local NodePort traffic can flow';

/** iptablesInit, in its order: Prepend for the portal jumps, Append for the NodePort ones. */
export function userspaceJumps(): string {
  return `${[
    '*filter',
    `:${KUBE_NODEPORT_NON_LOCAL} - [0:0]`,
    `-I INPUT 1 -m comment --comment "${NON_LOCAL_COMMENT}" -j ${KUBE_NODEPORT_NON_LOCAL}`,
    'COMMIT',
    '*nat',
    `:${KUBE_PORTALS_CONTAINER} - [0:0]`,
    `:${KUBE_PORTALS_HOST} - [0:0]`,
    `:${KUBE_NODEPORT_CONTAINER} - [0:0]`,
    `:${KUBE_NODEPORT_HOST} - [0:0]`,
    `-I PREROUTING 1 -m comment --comment "${PORTALS_COMMENT}" -j ${KUBE_PORTALS_CONTAINER}`,
    `-I OUTPUT 1 -m comment --comment "${PORTALS_COMMENT}" -j ${KUBE_PORTALS_HOST}`,
    `-A PREROUTING -m addrtype --dst-type LOCAL -m comment --comment "${NODEPORTS_COMMENT}" -j ${KUBE_NODEPORT_CONTAINER}`,
    `-A OUTPUT -m addrtype --dst-type LOCAL -m comment --comment "${NODEPORTS_COMMENT}" -j ${KUBE_NODEPORT_HOST}`,
    'COMMIT',
  ].join('\n')}\n`;
}

/** utilproxy.ToCIDR: the address with its full-length prefix. */
function toCIDR(ip: string): string {
  return `${ip}/${ip.includes(':') ? 128 : 32}`;
}

const isUnspecified = (ip: string) => ip === '0.0.0.0' || ip === '::';

/** iptablesCommonPortalArgs; destIP null for NodePorts. */
function commonPortalArgs(
  destIP: string | null,
  addPhysicalInterfaceMatch: boolean,
  addDstLocalMatch: boolean,
  destPort: number,
  protocol: Protocol,
  service: string,
): string[] {
  const proto = protocol.toLowerCase();
  const args = ['-m', 'comment', '--comment', `"${service}"`, '-p', proto, '-m', proto, '--dport', String(destPort)];
  if (destIP !== null) args.push('-d', toCIDR(destIP));
  if (addPhysicalInterfaceMatch) args.push('-m', 'physdev', '!', '--physdev-is-in');
  if (addDstLocalMatch) args.push('-m', 'addrtype', '--dst-type', 'LOCAL');
  return args;
}

interface Proxy {
  readonly listenIP: string;
  readonly hostIP: string;
  readonly proxyPort: number;
}

function containerPortalArgs(
  destIP: string | null,
  addPhysicalInterfaceMatch: boolean,
  addDstLocalMatch: boolean,
  destPort: number,
  protocol: Protocol,
  proxy: Proxy,
  service: string,
): string[] {
  const args = commonPortalArgs(destIP, addPhysicalInterfaceMatch, addDstLocalMatch, destPort, protocol, service);
  // Bound to every address: REDIRECT answers from the incoming interface's address, so UDP replies match.
  if (isUnspecified(proxy.listenIP)) args.push('-j', 'REDIRECT', '--to-ports', String(proxy.proxyPort));
  else args.push('-j', 'DNAT', '--to-destination', joinHostPort(proxy.listenIP, proxy.proxyPort));
  return args;
}

/** iptablesHostPortalArgs and iptablesHostNodePortArgs (which is it with no destination). */
function hostPortalArgs(
  destIP: string | null,
  addDstLocalMatch: boolean,
  destPort: number,
  protocol: Protocol,
  proxy: Proxy,
  service: string,
): string[] {
  const args = commonPortalArgs(destIP, false, addDstLocalMatch, destPort, protocol, service);
  // REDIRECT of locally generated packets goes to 127.0.0.1, whose replies come from elsewhere: DNAT instead.
  const to = isUnspecified(proxy.listenIP) ? proxy.hostIP : proxy.listenIP;
  args.push('-j', 'DNAT', '--to-destination', joinHostPort(to, proxy.proxyPort));
  return args;
}

/** iptablesNonLocalNodePortArgs: note v1.25 matches the proxy port here, not the NodePort. */
function nonLocalNodePortArgs(protocol: Protocol, proxy: Proxy, service: string): string[] {
  return [...commonPortalArgs(null, false, false, proxy.proxyPort, protocol, service), '-m', 'state', '--state', 'NEW'];
}

/** One chain's rules as EnsureRule(Append) leaves them: an identical rule is not added twice. */
class Chain {
  readonly rules: string[] = [];
  private readonly seen = new Set<string>();
  constructor(readonly name: string) {}
  ensure(args: readonly string[]): void {
    const text = args.join(' ');
    if (this.seen.has(text)) return;
    this.seen.add(text);
    this.rules.push(`-A ${this.name} ${text}`);
  }
}

interface Chains {
  readonly portalsContainer: Chain;
  readonly portalsHost: Chain;
  readonly nodePortContainer: Chain;
  readonly nodePortHost: Chain;
  readonly nonLocal: Chain;
}

/** claimNodePort's portMap: one owner per `ip:port/PROTOCOL`; the IP is Go's "<nil>" for NodePorts. */
class PortMap {
  readonly owners = new Map<string, string>();
  claim(ip: string | null, port: number, protocol: Protocol, owner: string): string | null {
    const key = ip === null ? `<nil>:${port}/${protocol}` : `${joinHostPort(ip, port)}/${protocol}`;
    const existing = this.owners.get(key);
    if (existing === undefined) {
      this.owners.set(key, owner);
      return null;
    }
    if (existing === owner) return null;
    return `Port conflict detected on port ${key}.  ${owner} vs ${existing}`;
  }
}

/** openOnePortal: returns the error that stops the rest of the service's portals, or null. */
function openOnePortal(
  c: Chains,
  ports: PortMap,
  localAddrs: ReadonlySet<string>,
  ip: string,
  isExternal: boolean,
  port: number,
  protocol: Protocol,
  proxy: Proxy,
  name: string,
): string | null {
  if (localAddrs.has(ip)) {
    const err = ports.claim(ip, port, protocol, name);
    if (err !== null) return err;
  }
  c.portalsContainer.ensure(containerPortalArgs(ip, isExternal, false, port, protocol, proxy, name));
  if (isExternal) {
    // An external IP from a pod on a bridge is caught above; from a local process or
    // unbridged container only when the IP is the node's own.
    c.portalsContainer.ensure(containerPortalArgs(ip, false, true, port, protocol, proxy, name));
    c.portalsHost.ensure(hostPortalArgs(ip, true, port, protocol, proxy, name));
    return null;
  }
  c.portalsHost.ensure(hostPortalArgs(ip, false, port, protocol, proxy, name));
  return null;
}

function openNodePort(c: Chains, ports: PortMap, nodePort: number, protocol: Protocol, proxy: Proxy, name: string) {
  const err = ports.claim(null, nodePort, protocol, name);
  if (err !== null) return err;
  c.nodePortContainer.ensure(containerPortalArgs(null, false, false, nodePort, protocol, proxy, name));
  c.nodePortHost.ensure(hostPortalArgs(null, false, nodePort, protocol, proxy, name));
  c.nonLocal.ensure([...nonLocalNodePortArgs(protocol, proxy, name), '-j', 'ACCEPT']);
  return null;
}

/** openPortal: the cluster IP, then each external IP, each LB ingress IP, then the NodePort. */
function openPortal(c: Chains, ports: PortMap, localAddrs: ReadonlySet<string>, p: UserspacePortal, proxy: Proxy) {
  const name = p.servicePortName;
  const portals: [string, boolean][] = [
    [p.clusterIP, false],
    ...p.externalIPs.map((ip): [string, boolean] => [ip, true]),
    ...p.loadBalancerIPs.map((ip): [string, boolean] => [ip, false]),
  ];
  for (const [ip, isExternal] of portals) {
    const err = openOnePortal(c, ports, localAddrs, ip, isExternal, p.port, p.protocol, proxy, name);
    if (err !== null) return err;
  }
  if (p.nodePort !== 0) return openNodePort(c, ports, p.nodePort, p.protocol, proxy, name);
  return null;
}

function portalOf(svc: ServicePortState, proxyPort: number): UserspacePortal {
  return {
    servicePortName: svc.servicePortName,
    protocol: svc.protocol,
    clusterIP: svc.clusterIP,
    port: svc.port,
    proxyPort,
    externalIPs: svc.externalIPs,
    loadBalancerIPs: svc.loadBalancerIPs,
    nodePort: svc.nodePort ?? 0,
    // The userspace proxier reads Endpoints, whose addresses are the ready ones; it knows
    // no traffic policy, topology or terminating fallback.
    endpoints: svc.endpoints.filter((e) => e.ready).map((e) => ({ ip: e.ip, port: e.port })),
    sessionAffinity: svc.sessionAffinity,
    stickyMaxAgeSeconds: svc.stickyMaxAgeSeconds,
  };
}

/**
 * What the userspace proxier leaves on a node after it has merged every Service
 * (mergeService + openPortal), its portals opened in ServicePortName order.
 */
export function syncUserspaceState(
  state: NodeLocalState,
  _settings: ProxierSettings,
  options: UserspaceOptions,
): UserspaceSync {
  const [first, last] = options.proxyPortRange ?? DEFAULT_USERSPACE_PROXY_PORT_RANGE;
  const listenIP = options.listenIP ?? (state.ipFamily === 'IPv6' ? '::' : '0.0.0.0');
  const localAddrs = new Set(
    options.localAddresses ?? [...state.node.internalIPs, ...state.node.externalIPs, options.nodeIP],
  );
  const chains: Chains = {
    portalsContainer: new Chain(KUBE_PORTALS_CONTAINER),
    portalsHost: new Chain(KUBE_PORTALS_HOST),
    nodePortContainer: new Chain(KUBE_NODEPORT_CONTAINER),
    nodePortHost: new Chain(KUBE_NODEPORT_HOST),
    nonLocal: new Chain(KUBE_NODEPORT_NON_LOCAL),
  };
  const ports = new PortMap();
  const portals: UserspacePortal[] = [];
  const skipped: UserspaceSkip[] = [];
  const held = options.heldPorts ?? new Map<string, number>();
  const taken = new Set(held.values());
  let next = first;
  const freePort = () => {
    while (taken.has(next)) next++;
    return next > last ? undefined : next++;
  };
  for (const svc of state.servicePorts) {
    const name = svc.servicePortName;
    if (svc.protocol === 'SCTP') {
      // newProxySocket fails before any portal is opened.
      skipped.push({ servicePortName: name, reason: 'SCTP is not supported for user space proxy' });
      continue;
    }
    const proxyPort = held.get(name) ?? freePort();
    if (proxyPort === undefined) {
      skipped.push({
        servicePortName: name,
        reason: 'port allocation failed; there are no remaining ports left to allocate in the accepted range',
      });
      continue;
    }
    const portal = portalOf(svc, proxyPort);
    portals.push(portal);
    const err = openPortal(chains, ports, localAddrs, portal, {
      listenIP,
      hostIP: options.nodeIP,
      proxyPort: portal.proxyPort,
    });
    if (err !== null) skipped.push({ servicePortName: name, reason: err });
  }
  const chainLines = (cs: readonly Chain[]) => [...cs.map((c) => `:${c.name} - [0:0]`), ...cs.flatMap((c) => c.rules)];
  const restore = `${[
    '*filter',
    ...chainLines([chains.nonLocal]),
    'COMMIT',
    '*nat',
    ...chainLines([chains.portalsContainer, chains.portalsHost, chains.nodePortContainer, chains.nodePortHost]),
    'COMMIT',
  ].join('\n')}\n`;
  return {
    restore,
    portals,
    jumps: userspaceJumps(),
    claimedPorts: [...ports.owners.keys()],
    skipped,
  };
}
