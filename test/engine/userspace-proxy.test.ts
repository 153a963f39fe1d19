// kube-proxy's userspace proxy in a trace: the redirect to its socket, the copy
// into user space, and a second connection from the node to each endpoint.
import { describe, expect, it } from 'vitest';
import { makeSimNode, samplePackets, tracePacket } from '../../src/engine';
import { ip, nodeFromRules, table } from '../helpers/node-from-rules';
import { clusterYaml, nodeOf, serviceYaml } from '../helpers/scenario';

const base = nodeFromRules(
  table('nat', [
    ':KUBE-PORTALS-CONTAINER - [0:0]',
    '-A PREROUTING -j KUBE-PORTALS-CONTAINER',
    '-A KUBE-PORTALS-CONTAINER -m comment --comment "default/web:http" -p tcp -m tcp --dport 80 -d 10.96.0.20/32 -j REDIRECT --to-ports 36001',
  ]),
);
const node = makeSimNode({
  ...base,
  userspace: [
    {
      protocol: 'tcp',
      port: 36001,
      servicePortName: 'default/web:http',
      endpoints: [
        { address: ip('10.244.1.5'), port: 8080 },
        { address: ip('10.244.2.5'), port: 8080 },
      ],
    },
  ],
});

describe('userspace proxy', () => {
  it('redirects to the proxy port, then a second connection goes from the node to each endpoint', () => {
    const t = tracePacket(node, {
      src: ip('10.244.1.9'),
      dst: ip('10.96.0.20'),
      protocol: 'tcp',
      dport: 80,
      origin: { kind: 'interface', iface: 'cni0' },
    });
    expect(t.outcome).toBe('ACCEPT');
    expect(t.endpoints.map((e) => [e.address, e.probability]).sort()).toEqual([
      ['10.244.1.5:8080', 0.5],
      ['10.244.2.5:8080', 0.5],
    ]);
    const stages = t.hops.map((h) => h.stage);
    expect(stages).toContain('userspace');
    expect(t.hops.find((h) => h.action.startsWith('delivered to kube-proxy'))).toBeDefined();
    // The endpoint sees the node's address as the source: the packet leaving for a local pod comes from cni0's address.
    const local = t.branches.find((b) => b.endpoint === '10.244.1.5:8080')!;
    expect(local.final).toMatch(/^tcp 10\.244\.1\.1:\d+ -> 10\.244\.1\.5:8080$/);
  });
  it('with no endpoints the proxy closes the connection', () => {
    const empty = makeSimNode({
      ...base,
      userspace: [{ protocol: 'tcp', port: 36001, servicePortName: 'default/web:http', endpoints: [] }],
    });
    const t = tracePacket(empty, {
      src: ip('10.244.1.9'),
      dst: ip('10.96.0.20'),
      protocol: 'tcp',
      dport: 80,
      origin: { kind: 'interface', iface: 'cni0' },
    });
    expect(t.outcome).toBe('NO_ENDPOINTS');
  });
});

describe('userspace mode from objects', () => {
  const yaml = (affinity: boolean) =>
    clusterYaml().replace('mode: iptables', 'mode: userspace') +
    serviceYaml({
      name: 'web',
      clusterIP: '10.96.0.20',
      extra: affinity ? '  sessionAffinity: ClientIP' : '',
      endpoints: [
        { ip: '10.244.1.5', node: 'node-1' },
        { ip: '10.244.2.5', node: 'node-2' },
        { ip: '10.244.2.6', node: 'node-2' },
      ],
    });
  const request = {
    src: ip('10.244.1.9'),
    dst: ip('10.96.0.20'),
    protocol: 'tcp' as const,
    dport: 80,
    origin: { kind: 'interface' as const, iface: 'cni0' },
  };
  it('successive connections go round robin through LoadBalancerRR', () => {
    const s = samplePackets(nodeOf(yaml(false)).node, request, 9, 1);
    expect(s.endpoints.map((e) => [e.address, e.count])).toEqual([
      ['10.244.1.5:80', 3],
      ['10.244.2.5:80', 3],
      ['10.244.2.6:80', 3],
    ]);
  });
  it('with ClientIP affinity, later connections from the same client stick to one endpoint', () => {
    const s = samplePackets(nodeOf(yaml(true)).node, request, 9, 1);
    expect(s.endpoints.length).toBe(1);
    expect(s.endpoints[0]!.count).toBe(9);
  });
  it('reports the copies to and from user space as cost', () => {
    const t = tracePacket(nodeOf(yaml(false)).node, request);
    expect(t.cost.userSpaceCopies).toBe(2);
    expect(t.cost.contextSwitches).toBe(2);
    expect(t.branches.length).toBe(3);
  });
});
