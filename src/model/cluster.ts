// The knetsim.io/v1alpha1 Cluster document: how the data plane is configured (proxy
// mode and flags, CNI, DNS), with every default of scenario-format.md filled in.
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
  readStringList,
  type YamlMap,
} from './field-reader';
import { formatIP, type IPFamily, parseCIDR } from './ip-address';
import { type ObjectContext, reportError } from './validation-issue';

export const PROXY_MODES = ['userspace', 'iptables', 'ipvs', 'nftables'] as const;
export type ProxyMode = (typeof PROXY_MODES)[number];
export const LOCAL_DETECTORS = ['ClusterCIDR', 'NodeCIDR', 'BridgeInterface', 'InterfaceNamePrefix', 'None'] as const;
export type LocalDetector = (typeof LOCAL_DETECTORS)[number];
export const IPVS_SCHEDULERS = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'sh', 'dh', 'sed', 'nq', 'mh'] as const;
export type IpvsScheduler = (typeof IPVS_SCHEDULERS)[number];
export const CNI_PLUGINS = ['flannel'] as const;
export type CniPlugin = (typeof CNI_PLUGINS)[number];
export const FLANNEL_BACKENDS = ['host-gw', 'vxlan'] as const;
export type FlannelBackend = (typeof FLANNEL_BACKENDS)[number];

export interface PortRange {
  readonly min: number;
  readonly max: number;
}

export interface IpvsConfig {
  readonly scheduler: IpvsScheduler;
  readonly strictARP: boolean;
}

export interface ProxyConfig {
  readonly mode: ProxyMode;
  readonly masqueradeAll: boolean;
  /** Bit of the fwmark used to mark packets for masquerade (14 = 0x4000). */
  readonly masqueradeBit: number;
  readonly localDetector: LocalDetector;
  /** kube-proxy's detectLocal.bridgeInterface (BridgeInterface: traffic in on it is a pod's). */
  readonly bridgeInterface?: string;
  /** detectLocal.interfaceNamePrefix (InterfaceNamePrefix: traffic in on an interface so named is a pod's). */
  readonly interfaceNamePrefix?: string;
  /** Canonical CIDRs, or `primary`; empty means every node address. */
  readonly nodePortAddresses: readonly string[];
  readonly localhostNodePorts: boolean;
  readonly nfacctCounters: readonly string[];
  readonly masqueradeRandomFully: boolean;
  readonly conntrackTCPLiberal: boolean;
  readonly ipFamily: IPFamily;
  readonly ipvs: IpvsConfig;
}

export interface CniConfig {
  readonly plugin: CniPlugin;
  /**
   * The Cluster document names the plugin (spec.cni.plugin): its own iptables rules are then
   * on every node. Without it (kube-proxy's test fixtures, bare manifests) a node holds only
   * kubelet's and kube-proxy's rules, as in kube-proxy's own tests.
   */
  readonly named: boolean;
  readonly backend: FlannelBackend;
  readonly vni: number;
  readonly port: number;
  readonly directRouting: boolean;
  readonly underlayMTU: number;
}

/** Where the Corefile came from: the kubeadm default, the Cluster document, or the coredns ConfigMap. */
export type CorefileSource = 'default' | 'cluster' | 'configmap';

export interface DnsConfig {
  readonly corefile: string;
  readonly corefileSource: CorefileSource;
  /** Zone-file lines the forwarder's upstream answers from. */
  readonly upstream: readonly string[];
}

export interface ClusterConfig {
  readonly name: string;
  /** A Cluster document was given (otherwise everything is a default). */
  readonly declared: boolean;
  readonly clusterCIDR: string;
  readonly serviceCIDR: string;
  readonly dnsDomain: string;
  readonly dnsServiceIP: string;
  readonly nodePortRange: PortRange;
  readonly proxy: ProxyConfig;
  readonly cni: CniConfig;
  readonly dns: DnsConfig;
}

/** The Corefile kubeadm installs, for a cluster domain. */
export function defaultCorefile(dnsDomain: string): string {
  return `.:53 {
    errors
    health { lameduck 5s }
    ready
    kubernetes ${dnsDomain} in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    prometheus :9153
    forward . /etc/resolv.conf
    cache 30
    loop
    reload
    loadbalance
}
`;
}

const DEFAULTS = {
  name: 'cluster',
  clusterCIDR: '10.244.0.0/16',
  serviceCIDR: '10.96.0.0/12',
  dnsDomain: 'cluster.local',
  nodePortRange: { min: 30000, max: 32767 },
} as const;

const DEFAULT_PROXY: ProxyConfig = {
  mode: 'iptables',
  masqueradeAll: false,
  masqueradeBit: 14,
  localDetector: 'ClusterCIDR',
  nodePortAddresses: [],
  localhostNodePorts: true,
  nfacctCounters: [],
  masqueradeRandomFully: false,
  conntrackTCPLiberal: false,
  ipFamily: 'IPv4',
  ipvs: { scheduler: 'rr', strictARP: false },
};

const DEFAULT_CNI: CniConfig = {
  plugin: 'flannel',
  named: false,
  backend: 'vxlan',
  vni: 1,
  port: 8472,
  directRouting: false,
  underlayMTU: 1500,
};

const DNS_DOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** kubeadm's choice: the 10th address of the service CIDR (10.96.0.10 for the default). */
function defaultDnsServiceIP(serviceCIDR: string): string {
  const cidr = parseCIDR(serviceCIDR)!;
  return formatIP(cidr.family, cidr.network + 10n);
}

export function defaultClusterConfig(): ClusterConfig {
  return {
    ...DEFAULTS,
    declared: false,
    dnsServiceIP: defaultDnsServiceIP(DEFAULTS.serviceCIDR),
    proxy: DEFAULT_PROXY,
    cni: DEFAULT_CNI,
    dns: { corefile: defaultCorefile(DEFAULTS.dnsDomain), corefileSource: 'default', upstream: [] },
  };
}

/** `30000-32767`, `30000+2767` (base+size, as the apiserver flag accepts) or a single port. */
function readPortRange(ctx: ObjectContext, value: unknown, path: string): PortRange | undefined {
  if (value === undefined || value === null) return undefined;
  const text = typeof value === 'number' ? String(value) : readString(ctx, value, path);
  if (text === undefined) return undefined;
  const m = /^\s*(\d+)\s*(?:([-+])\s*(\d+))?\s*$/.exec(text);
  if (m) {
    const min = Number(m[1]);
    const max = m[2] === undefined ? min : m[2] === '-' ? Number(m[3]) : min + Number(m[3]);
    if (min >= 1 && max <= 65535 && min <= max) return { min, max };
  }
  reportError(ctx, path, 'invalid-port-range', `${JSON.stringify(text)} is not a port range (e.g. 30000-32767)`);
  return undefined;
}

function readProxy(ctx: ObjectContext, value: unknown, path: string): ProxyConfig {
  const map = readMap(ctx, value, path) ?? {};
  const at = (key: string) => fieldPath(path, key);
  const ipFamily = readEnum(ctx, map.ipFamily, at('ipFamily'), ['IPv4', 'IPv6'] as const);
  if (ipFamily === 'IPv6') {
    reportError(ctx, at('ipFamily'), 'unsupported', 'IPv6 single-stack proxying is not supported yet');
  }
  const nodePortAddresses: string[] = [];
  readList(ctx, map.nodePortAddresses, at('nodePortAddresses')).forEach((item, i) => {
    const itemPath = indexPath(at('nodePortAddresses'), i);
    if (item === 'primary') nodePortAddresses.push('primary');
    else {
      const cidr = readCIDR(ctx, item, itemPath);
      if (cidr) nodePortAddresses.push(cidr.text);
    }
  });
  const ipvsMap = readMap(ctx, map.ipvs, at('ipvs')) ?? {};
  const d = DEFAULT_PROXY;
  const localDetector = readEnum(ctx, map.localDetector, at('localDetector'), LOCAL_DETECTORS) ?? d.localDetector;
  // The interface detectors need their name, as kube-proxy's validation insists ("must not be empty").
  const detectorInterface = (key: 'bridgeInterface' | 'interfaceNamePrefix', mode: LocalDetector) => {
    const name = readString(ctx, map[key], at(key));
    if (localDetector === mode && !name)
      reportError(ctx, at(key), 'invalid-value', `must not be empty when localDetector is ${mode}`);
    return name ? { [key]: name } : {};
  };
  return {
    mode: readEnum(ctx, map.mode, at('mode'), PROXY_MODES) ?? d.mode,
    masqueradeAll: readBool(ctx, map.masqueradeAll, at('masqueradeAll')) ?? d.masqueradeAll,
    masqueradeBit: readInt(ctx, map.masqueradeBit, at('masqueradeBit'), { min: 0, max: 31 }) ?? d.masqueradeBit,
    localDetector,
    ...detectorInterface('bridgeInterface', 'BridgeInterface'),
    ...detectorInterface('interfaceNamePrefix', 'InterfaceNamePrefix'),
    nodePortAddresses,
    localhostNodePorts: readBool(ctx, map.localhostNodePorts, at('localhostNodePorts')) ?? d.localhostNodePorts,
    nfacctCounters: readList(ctx, map.nfacctCounters, at('nfacctCounters')).flatMap((item, i) => {
      // kube-proxy knows two counters (its nfacct metrics); any other name is a typo it would never make.
      const name = readEnum(ctx, item, indexPath(at('nfacctCounters'), i), NFACCT_COUNTERS);
      return name === undefined ? [] : [name];
    }),
    masqueradeRandomFully:
      readBool(ctx, map.masqueradeRandomFully, at('masqueradeRandomFully')) ?? d.masqueradeRandomFully,
    conntrackTCPLiberal: readBool(ctx, map.conntrackTCPLiberal, at('conntrackTCPLiberal')) ?? d.conntrackTCPLiberal,
    ipFamily: 'IPv4',
    ipvs: {
      scheduler: readEnum(ctx, ipvsMap.scheduler, fieldPath(at('ipvs'), 'scheduler'), IPVS_SCHEDULERS) ?? 'rr',
      strictARP: readBool(ctx, ipvsMap.strictARP, fieldPath(at('ipvs'), 'strictARP')) ?? false,
    },
  };
}

/** The nfacct counters kube-proxy's iptables mode can count in (pkg/proxy/iptables: metrics). */
const NFACCT_COUNTERS = ['ct_state_invalid_dropped_pkts', 'localhost_nps_accepted_pkts'] as const;

function readCni(ctx: ObjectContext, value: unknown, path: string): CniConfig {
  const map = readMap(ctx, value, path) ?? {};
  const at = (key: string) => fieldPath(path, key);
  const d = DEFAULT_CNI;
  return {
    plugin: readEnum(ctx, map.plugin, at('plugin'), CNI_PLUGINS) ?? d.plugin,
    named: map.plugin !== undefined,
    backend: readEnum(ctx, map.backend, at('backend'), FLANNEL_BACKENDS) ?? d.backend,
    vni: readInt(ctx, map.vni, at('vni'), { min: 0, max: 16777215 }) ?? d.vni,
    port: readPort(ctx, map.port, at('port')) ?? d.port,
    directRouting: readBool(ctx, map.directRouting, at('directRouting')) ?? d.directRouting,
    underlayMTU: readInt(ctx, map.underlayMTU, at('underlayMTU'), { min: 68, max: 65535 }) ?? d.underlayMTU,
  };
}

/** Reads a Cluster document's body (apiVersion and kind already checked). */
export function parseClusterConfig(ctx: ObjectContext, body: YamlMap): ClusterConfig {
  const metadata = readMap(ctx, body.metadata, 'metadata') ?? {};
  const spec = readMap(ctx, body.spec, 'spec') ?? {};
  const clusterCIDR = readCIDR(ctx, spec.clusterCIDR, 'spec.clusterCIDR')?.text ?? DEFAULTS.clusterCIDR;
  const serviceCIDR = readCIDR(ctx, spec.serviceCIDR, 'spec.serviceCIDR')?.text ?? DEFAULTS.serviceCIDR;
  let dnsDomain = readString(ctx, spec.dnsDomain, 'spec.dnsDomain') ?? DEFAULTS.dnsDomain;
  if (!DNS_DOMAIN.test(dnsDomain)) {
    reportError(ctx, 'spec.dnsDomain', 'invalid-value', `${JSON.stringify(dnsDomain)} is not a valid DNS domain`);
    dnsDomain = DEFAULTS.dnsDomain;
  }
  const dns = readMap(ctx, spec.dns, 'spec.dns') ?? {};
  const corefile = readString(ctx, dns.corefile, 'spec.dns.corefile');
  return {
    name: readString(ctx, metadata.name, 'metadata.name') ?? DEFAULTS.name,
    declared: true,
    clusterCIDR,
    serviceCIDR,
    dnsDomain,
    dnsServiceIP: readIP(ctx, spec.dnsServiceIP, 'spec.dnsServiceIP')?.text ?? defaultDnsServiceIP(serviceCIDR),
    nodePortRange: readPortRange(ctx, spec.nodePortRange, 'spec.nodePortRange') ?? DEFAULTS.nodePortRange,
    proxy: readProxy(ctx, spec.proxy, 'spec.proxy'),
    cni: readCni(ctx, spec.cni, 'spec.cni'),
    dns: {
      corefile: corefile ?? defaultCorefile(dnsDomain),
      corefileSource: corefile === undefined ? 'default' : 'cluster',
      upstream: readStringList(ctx, dns.upstream, 'spec.dns.upstream'),
    },
  };
}

/** A `kube-system/coredns` ConfigMap's Corefile replaces the default, never one the Cluster document gave. */
export function withConfigMapCorefile(cluster: ClusterConfig, corefile: string | undefined): ClusterConfig {
  if (corefile === undefined || cluster.dns.corefileSource === 'cluster') return cluster;
  return { ...cluster, dns: { ...cluster.dns, corefile, corefileSource: 'configmap' } };
}
