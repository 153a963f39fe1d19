// The benchmarks' one workload generator: a node's view of N Services with E
// endpoints each (every k-th a NodePort), as plain NodeLocalState data, so the
// rules come from the real kube-proxy generator rather than a bench copy of it.
import type { ProxierSettings } from '../src/kube-proxy';
import type { LocalEndpoint, NodeLocalState, ServicePortState } from '../src/model';

export interface WorkloadOptions {
  readonly services: number;
  /** Endpoints of service i. */
  readonly endpointsOf: (i: number) => number;
  /** Every n-th service is a NodePort (0: none). */
  readonly nodePortEvery: number;
}

export interface BenchService {
  readonly name: string;
  readonly clusterIP: string;
  readonly port: number;
  readonly endpoints: number;
}

export const BENCH_NODE = { name: 'worker-1', ip: '192.168.122.31', podCIDR: '10.244.1.0/24' };

/** kube-proxy's settings on the bench node: the defaults, cluster CIDR 10.244.0.0/16. */
export const BENCH_SETTINGS: ProxierSettings = {
  masqueradeMark: '0x4000',
  masqueradeAll: false,
  localDetector: {
    ifLocal: ['-s', '10.244.0.0/16'],
    ifNotLocal: ['!', '-s', '10.244.0.0/16'],
    ifLocalNFT: ['ip', 'saddr', '10.244.0.0/16'],
    ifNotLocalNFT: ['ip', 'saddr', '!=', '10.244.0.0/16'],
  },
  nodePortCIDRs: [],
  nodePortIPs: [],
  localhostNodePorts: true,
  nfacctCounters: new Set(),
  masqueradeRandomFully: false,
  conntrackTCPLiberal: false,
  nodeIP: BENCH_NODE.ip,
};

function dotted(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** Service i's cluster IP: 10.96.1.0 upward. */
export function clusterIPOf(i: number): string {
  return dotted(((10 << 24) | (96 << 16)) + 256 + i);
}

/** Pod k: 10.244.x.2-251, 250 pods a /24; x = 1 is this node. */
function podIP(k: number): string {
  return dotted(((10 << 24) | (244 << 16)) + Math.floor(k / 250) * 256 + 2 + (k % 250));
}

export function benchWorkload(o: WorkloadOptions): { state: NodeLocalState; services: BenchService[] } {
  const ports: ServicePortState[] = [];
  const services: BenchService[] = [];
  let pod = 0;
  for (let i = 0; i < o.services; i++) {
    const n = o.endpointsOf(i);
    const endpoints: LocalEndpoint[] = [];
    for (let e = 0; e < n; e++) {
      const ip = podIP(pod++);
      endpoints.push({
        ip,
        port: 8080,
        ready: true,
        serving: true,
        terminating: false,
        nodeName: 'w',
        isLocal: ip.startsWith('10.244.1.'),
        zoneHints: [],
        nodeHints: [],
      });
    }
    endpoints.sort((a, b) => (`${a.ip}:8080` < `${b.ip}:8080` ? -1 : 1));
    const nodePort = o.nodePortEvery > 0 && i % o.nodePortEvery === 0 ? 30000 + (i % 2768) : undefined;
    const name = `ns${i % 100}/svc-${i}:http`;
    ports.push({
      servicePortName: name,
      namespace: `ns${i % 100}`,
      serviceName: `svc-${i}`,
      portName: 'http',
      protocol: 'TCP',
      type: nodePort ? 'NodePort' : 'ClusterIP',
      clusterIP: clusterIPOf(i),
      port: 80,
      targetPort: 8080,
      ...(nodePort ? { nodePort } : {}),
      externalIPs: [],
      loadBalancerIPs: [],
      loadBalancerSourceRanges: [],
      externalTrafficPolicy: 'Cluster',
      internalTrafficPolicy: 'Cluster',
      externalPolicyLocal: false,
      internalPolicyLocal: false,
      externallyAccessible: nodePort !== undefined,
      usesClusterEndpoints: true,
      usesLocalEndpoints: false,
      sessionAffinity: 'None',
      stickyMaxAgeSeconds: 0,
      endpoints,
    });
    services.push({ name, clusterIP: clusterIPOf(i), port: 80, endpoints: n });
  }
  const state: NodeLocalState = {
    ipFamily: 'IPv4',
    node: {
      name: BENCH_NODE.name,
      known: true,
      addresses: [{ type: 'InternalIP', address: BENCH_NODE.ip }],
      internalIPs: [BENCH_NODE.ip],
      externalIPs: [],
      podCIDR: BENCH_NODE.podCIDR,
    },
    servicePorts: ports,
  };
  return { state, services };
}

/** worker-1's routes: pods on cni0, other nodes' pods over flannel.1. */
export const BENCH_ROUTES = [
  'default via 192.168.122.1 dev eth0',
  '10.244.0.0/16 via 10.244.0.0 dev flannel.1 onlink',
  '10.244.1.0/24 dev cni0 proto kernel scope link src 10.244.1.1',
  '192.168.122.0/24 dev eth0 proto kernel scope link src 192.168.122.31',
  'local 10.244.1.1 dev cni0 table local proto kernel scope host src 10.244.1.1',
  'local 192.168.122.31 dev eth0 table local proto kernel scope host src 192.168.122.31',
  '',
].join('\n');
