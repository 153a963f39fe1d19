import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { nodeLocalState } from '../../src/model';
import { load } from './load-helpers';

const overall = load(readFileSync('/work/shared/examples/kube-proxy/TestOverallIPTablesRules.yaml', 'utf8')).scenario;

const slice = (name: string, body: string, service = 'svc') => `---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: ${name}, namespace: ns, labels: {kubernetes.io/service-name: ${service}}}
${body}
`;

const svc = (spec: string, name = 'svc') => `---
apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: ns}
spec:
${spec}
`;

describe('nodeLocalState', () => {
  it('describes the node in the IPv4 view, ignoring its IPv6 addresses', () => {
    const state = nodeLocalState(overall, 'test-node');
    expect(state.ipFamily).toBe('IPv4');
    expect(state.node).toEqual({
      name: 'test-node',
      known: true,
      addresses: [
        { type: 'InternalIP', address: '192.168.0.2' },
        { type: 'InternalIP', address: '192.168.1.2' },
        { type: 'ExternalIP', address: '192.168.99.11' },
      ],
      internalIPs: ['192.168.0.2', '192.168.1.2'],
      externalIPs: ['192.168.99.11'],
      podCIDR: '10.0.0.0/24',
      subnet: '192.168.0.0/24',
    });
  });

  it('lists every proxied service port, sorted, with kube-proxy semantics', () => {
    const state = nodeLocalState(overall, 'test-node');
    expect(state.servicePorts.map((p) => p.servicePortName)).toEqual([
      'ns1/svc1:p80',
      'ns2/svc2:p80',
      'ns3/svc3:p80',
      'ns4/svc4:p80',
      'ns5/svc5:p80',
      'ns6/svc6:p80',
    ]);
    const svc2 = state.servicePorts[1]!;
    expect(svc2).toMatchObject({
      clusterIP: '172.30.0.42',
      port: 80,
      protocol: 'TCP',
      nodePort: 3001,
      externalIPs: ['192.168.99.22'],
      loadBalancerIPs: ['1.2.3.4'],
      externalPolicyLocal: true,
      internalPolicyLocal: false,
      externallyAccessible: true,
      usesLocalEndpoints: true,
      healthCheckNodePort: 30000,
    });
    const svc5 = state.servicePorts[4]!;
    // healthCheckNodePort only matters for LoadBalancer + Local, as kube-proxy's NeedsHealthCheck.
    expect(svc5.healthCheckNodePort).toBeUndefined();
    expect(svc5).toMatchObject({
      sessionAffinity: 'ClientIP',
      stickyMaxAgeSeconds: 10800,
      loadBalancerSourceRanges: ['203.0.113.0/25'],
    });
    expect(state.servicePorts[3]!.nodePort).toBeUndefined();
  });

  it('marks endpoints on this node local', () => {
    const svc4 = nodeLocalState(overall, 'test-node').servicePorts.find((p) => p.serviceName === 'svc4')!;
    expect(svc4.endpoints.map((e) => [e.ip, e.port, e.isLocal])).toEqual([
      ['10.180.0.4', 80, false],
      ['10.180.0.5', 80, true],
    ]);
    const elsewhere = nodeLocalState(overall, 'other-node');
    expect(elsewhere.node.known).toBe(false);
    expect(elsewhere.servicePorts.find((p) => p.serviceName === 'svc4')!.endpoints.every((e) => !e.isLocal)).toBe(true);
  });

  it('matches endpoint ports by name and protocol (a UDP slice port does not serve a TCP service port)', () => {
    const lb = load(readFileSync('/work/shared/examples/ipvs/TestLoadBalancer.yaml', 'utf8')).scenario;
    expect(nodeLocalState(lb, 'test-node').servicePorts[0]!.endpoints).toEqual([]);
    const { scenario } = load(
      svc(
        '  clusterIP: 10.96.0.5\n  ports: [{name: a, port: 80, targetPort: 8080}, {name: b, port: 81}, {port: 82, name: c, protocol: UDP}]',
      ) +
        slice(
          'svc-1',
          `addressType: IPv4
endpoints: [{addresses: [10.1.0.1]}]
ports: [{name: b, port: 9091}, {name: a, port: 9090}, {name: c, port: 9092, protocol: UDP}]`,
        ),
    );
    const ports = nodeLocalState(scenario, 'n1').servicePorts;
    expect(ports.map((p) => [p.servicePortName, p.endpoints.map((e) => `${e.ip}:${e.port}`)])).toEqual([
      ['ns/svc:a', ['10.1.0.1:9090']],
      ['ns/svc:b', ['10.1.0.1:9091']],
      ['ns/svc:c', ['10.1.0.1:9092']],
    ]);
  });

  it('merges slices and deduplicates by ip:port, preferring the local copy', () => {
    const { scenario } = load(
      svc('  clusterIP: 10.96.0.5\n  ports: [{port: 80}]') +
        slice(
          'svc-a',
          `addressType: IPv4
endpoints:
- addresses: [10.1.0.10]
- addresses: [10.1.0.2]
  conditions: {ready: false}
ports: [{port: 80}]`,
        ) +
        slice(
          'svc-b',
          `addressType: IPv4
endpoints:
- addresses: [10.1.0.2]
  nodeName: n1
- addresses: [10.1.0.10]
  conditions: {ready: false}
ports: [{port: 80}]`,
        ),
    );
    const [port] = nodeLocalState(scenario, 'n1').servicePorts;
    expect(port!.servicePortName).toBe('ns/svc');
    // Sorted by the "ip:port" string as kube-proxy does: 10.1.0.10 before 10.1.0.2.
    expect(port!.endpoints.map((e) => [e.ip, e.ready, e.isLocal])).toEqual([
      ['10.1.0.10', true, false],
      ['10.1.0.2', true, true],
    ]);
  });

  it('leaves out headless, ExternalName and other-family Services, and other-family endpoints', () => {
    const { scenario } = load(
      svc('  clusterIP: None\n  ports: [{port: 80}]', 'headless') +
        svc('  type: ExternalName\n  externalName: example.com', 'ext') +
        svc('  clusterIP: "fd00::10"\n  ports: [{port: 80}]', 'v6') +
        svc(
          '  clusterIPs: [10.96.0.7, "fd00::7"]\n  ipFamilies: [IPv4, IPv6]\n  externalIPs: [203.0.113.9, "2001:db8::9"]\n  ports: [{port: 80}]',
          'dual',
        ) +
        slice('dual-4', 'addressType: IPv4\nendpoints: [{addresses: [10.1.0.1]}]\nports: [{port: 80}]', 'dual') +
        slice('dual-6', 'addressType: IPv6\nendpoints: [{addresses: ["fd00:1::1"]}]\nports: [{port: 80}]', 'dual'),
    );
    const v4 = nodeLocalState(scenario, 'n1');
    expect(
      v4.servicePorts.map((p) => [p.serviceName, p.clusterIP, p.externalIPs, p.endpoints.map((e) => e.ip)]),
    ).toEqual([['dual', '10.96.0.7', ['203.0.113.9'], ['10.1.0.1']]]);
    const v6 = nodeLocalState(scenario, 'n1', 'IPv6');
    expect(v6.servicePorts.map((p) => [p.serviceName, p.clusterIP, p.endpoints.map((e) => e.ip)])).toEqual([
      ['dual', 'fd00::7', ['fd00:1::1']],
      ['v6', 'fd00::10', []],
    ]);
  });

  it("gives the node's zone for topology hints", () => {
    const { scenario } = load(`apiVersion: v1
kind: Node
metadata: {name: n1, labels: {topology.kubernetes.io/zone: zone-a}}
status: {addresses: [{type: InternalIP, address: 192.168.0.2}]}
`);
    expect(nodeLocalState(scenario, 'n1').node.zone).toBe('zone-a');
  });

  it('is the same for the same scenario (pure)', () => {
    expect(nodeLocalState(overall, 'test-node')).toEqual(nodeLocalState(overall, 'test-node'));
  });
});
