// One packet-flow table for every proxy mode (after kube-proxy's packetFlowTest):
// each row is a packet and what must happen to it. A mode that differs by design
// skips a row and says why; modes not modelled yet are listed with the reason.
import { describe, expect, it } from 'vitest';
import { buildScenarioNode, type SimNode, tracePacket } from '../../src/engine';
import type { L4Protocol } from '../../src/net';
import { ip } from '../helpers/node-from-rules';
import { clusterYaml, scenarioOf, serviceYaml } from '../helpers/scenario';

type Mode = 'iptables' | 'ipvs' | 'nftables' | 'userspace';

interface Row {
  name: string;
  from: string;
  /** Where the packet starts: a pod on node-1 (cni0), the node itself, or outside (eth0). */
  kind: 'pod' | 'node' | 'outside';
  to: string;
  proto?: L4Protocol;
  expect: { outcome: 'ACCEPT' | 'DROP' | 'REJECT'; endpoints?: string[]; masquerade?: boolean };
  skip?: Partial<Record<Mode, string>>;
}

const NODE_PORT_LOCAL = 30081;
const objects =
  clusterYaml() +
  serviceYaml({
    name: 'web',
    clusterIP: '10.96.0.10',
    targetPort: 8080,
    endpoints: [
      { ip: '10.244.1.5', node: 'node-1' },
      { ip: '10.244.2.5', node: 'node-2' },
    ],
  }) +
  serviceYaml({
    name: 'np',
    type: 'NodePort',
    clusterIP: '10.96.0.11',
    nodePort: 30080,
    endpoints: [
      { ip: '10.244.1.6', node: 'node-1' },
      { ip: '10.244.2.6', node: 'node-2' },
    ],
  }) +
  serviceYaml({
    name: 'np-local',
    type: 'NodePort',
    clusterIP: '10.96.0.12',
    nodePort: NODE_PORT_LOCAL,
    extra: '  externalTrafficPolicy: Local',
    endpoints: [
      { ip: '10.244.1.7', node: 'node-1' },
      { ip: '10.244.2.7', node: 'node-2' },
    ],
  }) +
  serviceYaml({
    name: 'ext',
    clusterIP: '10.96.0.13',
    extra: '  externalIPs: [192.0.2.50]',
    endpoints: [{ ip: '10.244.2.8', node: 'node-2' }],
  }) +
  serviceYaml({ name: 'empty', clusterIP: '10.96.0.14', endpoints: [] }) +
  serviceYaml({
    name: 'lb',
    type: 'LoadBalancer',
    clusterIP: '10.96.0.15',
    nodePort: 30082,
    extra: '  loadBalancerSourceRanges: [203.0.113.0/25]',
    status: 'status: {loadBalancer: {ingress: [{ip: 198.51.100.7}]}}',
    endpoints: [{ ip: '10.244.2.9', node: 'node-2' }],
  });

const ROWS: Row[] = [
  {
    name: 'pod to cluster IP',
    from: '10.244.1.20',
    kind: 'pod',
    to: '10.96.0.10:80',
    expect: { outcome: 'ACCEPT', endpoints: ['10.244.1.5:8080', '10.244.2.5:8080'], masquerade: false },
  },
  {
    name: 'pod to a port the service does not have',
    from: '10.244.1.20',
    kind: 'pod',
    to: '10.96.0.10:81',
    expect: { outcome: 'ACCEPT', endpoints: [] },
    skip: {
      nftables: 'nftables mode rejects traffic to unknown ports of a cluster IP',
      ipvs: 'IPVS binds the cluster IP to kube-ipvs0, and KUBE-IPVS-FILTER rejects new connections to its other ports',
    },
  },
  {
    name: 'hairpin: an endpoint reaching its own service is masqueraded',
    from: '10.244.1.5',
    kind: 'pod',
    to: '10.96.0.10:80',
    expect: { outcome: 'ACCEPT', endpoints: ['10.244.1.5:8080', '10.244.2.5:8080'] },
  },
  {
    name: 'node to cluster IP is masqueraded',
    from: '192.168.0.2',
    kind: 'node',
    to: '10.96.0.10:80',
    expect: { outcome: 'ACCEPT', endpoints: ['10.244.1.5:8080', '10.244.2.5:8080'], masquerade: true },
    skip: {
      userspace:
        'the userspace proxy never masquerades: the endpoint sees the node address because kube-proxy opens a second connection',
    },
  },
  {
    name: 'outside client to NodePort',
    from: '203.0.113.9',
    kind: 'outside',
    to: '192.168.0.2:30080',
    expect: { outcome: 'ACCEPT', endpoints: ['10.244.1.6:80', '10.244.2.6:80'], masquerade: true },
    skip: {
      userspace:
        'the userspace proxy never masquerades: the endpoint sees the node address because kube-proxy opens a second connection',
    },
  },
  {
    name: 'outside client to a Local NodePort keeps its address',
    from: '203.0.113.9',
    kind: 'outside',
    to: `192.168.0.2:${NODE_PORT_LOCAL}`,
    expect: { outcome: 'ACCEPT', endpoints: ['10.244.1.7:80'], masquerade: false },
    skip: { userspace: 'v1.25 userspace mode ignored externalTrafficPolicy' },
  },
  {
    name: 'node to its localhost NodePort',
    from: '127.0.0.1',
    kind: 'node',
    to: '127.0.0.1:30080',
    expect: { outcome: 'ACCEPT', endpoints: ['10.244.1.6:80', '10.244.2.6:80'], masquerade: true },
    skip: {
      userspace:
        'the userspace proxy never masquerades: the endpoint sees the node address because kube-proxy opens a second connection',
      ipvs: 'IPVS mode makes NodePort virtual servers on the node addresses only, not on 127.0.0.1',
      nftables: 'nftables mode does not support localhost NodePorts (its nodeport rule excludes 127.0.0.0/8)',
    },
  },
  {
    name: 'outside client to an external IP',
    from: '203.0.113.9',
    kind: 'outside',
    to: '192.0.2.50:80',
    expect: { outcome: 'ACCEPT', endpoints: ['10.244.2.8:80'], masquerade: true },
    skip: {
      userspace:
        'the userspace proxy never masquerades: the endpoint sees the node address because kube-proxy opens a second connection',
    },
  },
  {
    name: 'service without endpoints',
    from: '10.244.1.20',
    kind: 'pod',
    to: '10.96.0.14:80',
    expect: { outcome: 'REJECT' },
    skip: {
      userspace: 'v1.25 userspace mode had no REJECT rules: the proxy accepts and closes (NO_ENDPOINTS)',
      ipvs: 'IPVS keeps a virtual service with no real servers: the outcome is NO_ENDPOINTS, not an iptables REJECT',
    },
  },
  {
    name: 'load balancer from an allowed source',
    from: '203.0.113.9',
    kind: 'outside',
    to: '198.51.100.7:80',
    expect: { outcome: 'ACCEPT', endpoints: ['10.244.2.9:80'], masquerade: true },
    skip: {
      userspace:
        'the userspace proxy never masquerades: the endpoint sees the node address because kube-proxy opens a second connection',
    },
  },
  {
    name: 'load balancer from a source outside loadBalancerSourceRanges',
    from: '203.0.113.200',
    kind: 'outside',
    to: '198.51.100.7:80',
    expect: { outcome: 'DROP' },
    skip: { userspace: 'v1.25 userspace mode did not implement loadBalancerSourceRanges' },
  },
  {
    name: 'pod to pod is left alone',
    from: '10.244.1.20',
    kind: 'pod',
    to: '10.244.2.5:8080',
    expect: { outcome: 'ACCEPT', endpoints: [], masquerade: false },
  },
];

const MODES: { mode: Mode; notModelled?: string }[] = [
  { mode: 'iptables' },
  { mode: 'ipvs' },
  { mode: 'nftables' },
  { mode: 'userspace' },
];

function nodeFor(mode: Mode): SimNode {
  const built = buildScenarioNode(scenarioOf(objects.replace('mode: iptables', `mode: ${mode}`)), 'node-1');
  if (!built.ok) throw new Error(built.message);
  return built.value.node;
}

for (const { mode, notModelled } of MODES) {
  describe.skipIf(notModelled !== undefined)(
    `packet flows, ${mode} mode${notModelled ? ` (${notModelled})` : ''}`,
    () => {
      const node = notModelled ? null : nodeFor(mode);
      for (const row of ROWS) {
        const reason = row.skip?.[mode];
        it.skipIf(reason !== undefined)(`${row.name}${reason ? ` (skipped: ${reason})` : ''}`, () => {
          const [dst, port] = row.to.split(':');
          const t = tracePacket(node!, {
            src: ip(row.from),
            dst: ip(dst!),
            protocol: row.proto ?? 'tcp',
            dport: Number(port),
            origin:
              row.kind === 'node'
                ? { kind: 'local' }
                : { kind: 'interface', iface: row.kind === 'pod' ? 'cni0' : 'eth0' },
          });
          expect(t.outcome).toBe(row.expect.outcome);
          if (row.expect.endpoints) expect(t.endpoints.map((e) => e.address).sort()).toEqual(row.expect.endpoints);
          if (row.expect.masquerade !== undefined) expect(t.masquerade).toBe(row.expect.masquerade);
        });
      }
    },
  );
}
