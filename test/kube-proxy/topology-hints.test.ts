// kube-proxy's CategorizeEndpoints with topology hints (pkg/proxy/topology.go, node hints
// as from 1.34 with PreferSameTrafficDistribution on): the zone cases of its
// TestCategorizeEndpoints (hints no longer need an annotation there), and node hints.
import { describe, expect, it } from 'vitest';
import { tracePacket } from '../../src/engine';
import { categorizeEndpoints, endpointKey } from '../../src/kube-proxy';
import type { LocalEndpoint, ServicePortState } from '../../src/model';
import { parseIPv4 } from '../../src/net';
import { clusterYaml, nodeOf } from '../helpers/scenario';

function ep(
  address: string,
  o: { zones?: string[]; nodes?: string[]; ready?: boolean; local?: boolean; terminating?: boolean } = {},
): LocalEndpoint {
  const [ip, port] = address.split(':');
  const ready = o.ready ?? true;
  return {
    ip: ip!,
    port: Number(port),
    ready,
    serving: ready || o.terminating === true,
    terminating: o.terminating ?? false,
    isLocal: o.local ?? false,
    zoneHints: o.zones ?? [],
    nodeHints: o.nodes ?? [],
  };
}

function svc(
  endpoints: LocalEndpoint[],
  policy: { internalLocal?: boolean; externalLocal?: boolean } = {},
): ServicePortState {
  const externallyAccessible = policy.externalLocal !== undefined;
  const internalLocal = policy.internalLocal ?? false;
  const externalLocal = policy.externalLocal ?? false;
  return {
    servicePortName: 'ns/svc:p',
    namespace: 'ns',
    serviceName: 'svc',
    portName: 'p',
    protocol: 'TCP',
    type: externallyAccessible ? 'NodePort' : 'ClusterIP',
    clusterIP: '10.96.0.1',
    port: 80,
    targetPort: 80,
    ...(externallyAccessible ? { nodePort: 30080 } : {}),
    externalIPs: [],
    loadBalancerIPs: [],
    loadBalancerSourceRanges: [],
    externalTrafficPolicy: externalLocal ? 'Local' : 'Cluster',
    internalTrafficPolicy: internalLocal ? 'Local' : 'Cluster',
    externalPolicyLocal: externalLocal,
    internalPolicyLocal: internalLocal,
    externallyAccessible,
    usesClusterEndpoints: !internalLocal || (externallyAccessible && !externalLocal),
    usesLocalEndpoints: internalLocal || externalLocal,
    sessionAffinity: 'None',
    stickyMaxAgeSeconds: 0,
    endpoints,
  };
}

const keys = (eps: readonly LocalEndpoint[]) => eps.map(endpointKey).sort();

const FOUR = [
  ep('10.1.2.3:80', { zones: ['zone-a'] }),
  ep('10.1.2.4:80', { zones: ['zone-b'] }),
  ep('10.1.2.5:80', { zones: ['zone-c'] }),
  ep('10.1.2.6:80', { zones: ['zone-a'] }),
];

describe('zone hints (TestCategorizeEndpoints)', () => {
  it.each([
    ['normal endpoint filtering', FOUR, 'zone-a', ['10.1.2.3:80', '10.1.2.6:80']],
    ['empty node labels', [ep('10.1.2.3:80', { zones: ['zone-a'] })], undefined, ['10.1.2.3:80']],
    [
      'node in different zone, no endpoint filtering',
      [ep('10.1.2.3:80', { zones: ['zone-a'] })],
      'zone-b',
      ['10.1.2.3:80'],
    ],
    [
      'unready endpoint',
      [...FOUR.slice(0, 3), ep('10.1.2.6:80', { zones: ['zone-a'], ready: false })],
      'zone-a',
      ['10.1.2.3:80'],
    ],
    [
      'only unready endpoints in same zone (should not filter)',
      [
        ep('10.1.2.3:80', { zones: ['zone-a'], ready: false }),
        ...FOUR.slice(1, 3),
        ep('10.1.2.6:80', { zones: ['zone-a'], ready: false }),
      ],
      'zone-a',
      ['10.1.2.4:80', '10.1.2.5:80'],
    ],
    [
      'missing hints, no filtering applied',
      [...FOUR.slice(0, 2), ep('10.1.2.5:80'), FOUR[3]!],
      'zone-a',
      ['10.1.2.3:80', '10.1.2.4:80', '10.1.2.5:80', '10.1.2.6:80'],
    ],
    [
      'multiple hints per endpoint, filtering includes any endpoint with zone included',
      [
        ep('10.1.2.3:80', { zones: ['zone-a', 'zone-b', 'zone-c'] }),
        ep('10.1.2.4:80', { zones: ['zone-b', 'zone-c'] }),
        ep('10.1.2.5:80', { zones: ['zone-b', 'zone-d'] }),
        ep('10.1.2.6:80', { zones: ['zone-c'] }),
      ],
      'zone-c',
      ['10.1.2.3:80', '10.1.2.4:80', '10.1.2.6:80'],
    ],
  ] as const)('%s', (_, endpoints, zone, cluster) => {
    const r = categorizeEndpoints(svc([...endpoints]), zone === undefined ? {} : { nodeZone: zone });
    expect(keys(r.cluster)).toEqual(cluster);
    expect(r.local).toEqual([]);
  });

  it('conflicting topology and localness require merging allEndpoints; Local endpoints ignore topology', () => {
    const r = categorizeEndpoints(
      svc(
        [
          ep('10.0.0.0:80', { zones: ['zone-a'], local: true }),
          ep('10.0.0.1:80', { zones: ['zone-b'], local: true }),
          ep('10.0.0.2:80', { zones: ['zone-a'] }),
          ep('10.0.0.3:80', { zones: ['zone-b'] }),
        ],
        { externalLocal: true },
      ),
      { nodeZone: 'zone-a' },
    );
    expect([keys(r.cluster), keys(r.local), keys(r.allReachable)]).toEqual([
      ['10.0.0.0:80', '10.0.0.2:80'],
      ['10.0.0.0:80', '10.0.0.1:80'],
      ['10.0.0.0:80', '10.0.0.1:80', '10.0.0.2:80'],
    ]);
  });
});

describe('node hints (PreferSameNode)', () => {
  const hinted = [
    ep('10.0.0.1:80', { zones: ['zone-a'], nodes: ['n1'] }),
    ep('10.0.0.2:80', { zones: ['zone-a'], nodes: ['n2'] }),
    ep('10.0.0.3:80', { zones: ['zone-b'], nodes: ['n3'] }),
  ];
  it('every ready endpoint has a node hint and one is for this node: only those', () => {
    expect(keys(categorizeEndpoints(svc(hinted), { nodeName: 'n1', nodeZone: 'zone-a' }).cluster)).toEqual([
      '10.0.0.1:80',
    ]);
  });
  it('none for this node: the zone hints decide; neither: every endpoint', () => {
    expect(keys(categorizeEndpoints(svc(hinted), { nodeName: 'n9', nodeZone: 'zone-a' }).cluster)).toEqual([
      '10.0.0.1:80',
      '10.0.0.2:80',
    ]);
    expect(keys(categorizeEndpoints(svc(hinted), { nodeName: 'n9', nodeZone: 'zone-x' }).cluster)).toEqual([
      '10.0.0.1:80',
      '10.0.0.2:80',
      '10.0.0.3:80',
    ]);
  });
  it('a ready endpoint without a node hint turns node hints off; an unready one does not count', () => {
    const missing = [...hinted, ep('10.0.0.4:80', { zones: ['zone-a'] })];
    expect(keys(categorizeEndpoints(svc(missing), { nodeName: 'n1', nodeZone: 'zone-a' }).cluster)).toEqual([
      '10.0.0.1:80',
      '10.0.0.2:80',
      '10.0.0.4:80',
    ]);
    const unready = [...hinted, ep('10.0.0.4:80', { zones: ['zone-a'], ready: false })];
    expect(keys(categorizeEndpoints(svc(unready), { nodeName: 'n1', nodeZone: 'zone-a' }).cluster)).toEqual([
      '10.0.0.1:80',
    ]);
  });
  it('no ready endpoint anywhere: serving-terminating ones, hints aside', () => {
    const terminating = [
      ep('10.0.0.1:80', { nodes: ['n1'], ready: false, terminating: true }),
      ep('10.0.0.2:80', { nodes: ['n2'], ready: false, terminating: true }),
    ];
    expect(keys(categorizeEndpoints(svc(terminating), { nodeName: 'n1' }).cluster)).toEqual([
      '10.0.0.1:80',
      '10.0.0.2:80',
    ]);
  });
});

describe('trafficDistribution end to end: Pods -> derived slice hints -> kube-proxy rules -> trace', () => {
  const yaml = (distribution: string) =>
    `${clusterYaml()
      .replace('metadata: {name: node-1}', 'metadata: {name: node-1, labels: {topology.kubernetes.io/zone: za}}')
      .replace('metadata: {name: node-2}', 'metadata: {name: node-2, labels: {topology.kubernetes.io/zone: za}}')}---
apiVersion: v1
kind: Node
metadata: {name: node-3, labels: {topology.kubernetes.io/zone: zb}}
spec: {podCIDR: 10.244.3.0/24}
status:
  addresses: [{type: InternalIP, address: 192.168.0.4}]
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: web, namespace: default}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: c, ports: [{containerPort: 8080}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec:
  clusterIP: 10.96.0.30
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
${distribution}
`;
  const endpointsFromNode1 = (distribution: string) => {
    const node = nodeOf(yaml(distribution)).node;
    const t = tracePacket(node, {
      src: parseIPv4('10.244.1.77')!,
      dst: parseIPv4('10.96.0.30')!,
      protocol: 'tcp',
      dport: 80,
      origin: { kind: 'interface', iface: 'cni0' },
    });
    return t.endpoints.map((e) => e.address.split('.')[2]);
  };
  it('a pod on node-1 reaches its node only (PreferSameNode), its zone (PreferSameZone), or all three', () => {
    expect(endpointsFromNode1('  trafficDistribution: PreferSameNode')).toEqual(['1']);
    expect(endpointsFromNode1('  trafficDistribution: PreferSameZone').sort()).toEqual(['1', '2']);
    expect(endpointsFromNode1('').sort()).toEqual(['1', '2', '3']);
  });
});
