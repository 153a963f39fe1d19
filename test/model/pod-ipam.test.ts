import { describe, expect, it } from 'vitest';
import { load, node, warningsOf } from './load-helpers';

const pod = (name: string, spec: string, status = '{}') => `---
apiVersion: v1
kind: Pod
metadata: {name: ${name}}
spec: ${spec}
status: ${status}
`;

describe('node pod CIDRs', () => {
  it('allocates /24s of the cluster CIDR in node-name order, skipping the ones nodes declare', () => {
    const { scenario } = load(
      node('c', '192.168.0.4') +
        node('a', '192.168.0.2') +
        node('b', '192.168.0.3', { spec: '{podCIDR: 10.244.0.0/24}' }) +
        node('d', '192.168.0.5', { spec: '{podCIDRs: [10.244.2.0/24]}' }),
    );
    expect(Object.fromEntries(scenario.nodes.map((n) => [n.name, [n.podCIDRs, n.podCIDRSource]]))).toEqual({
      a: [['10.244.1.0/24'], 'allocated'],
      b: [['10.244.0.0/24'], 'spec'],
      c: [['10.244.3.0/24'], 'allocated'],
      d: [['10.244.2.0/24'], 'spec'],
    });
  });

  it('gives a node the /24 around its InternalIP as subnet unless annotated', () => {
    const { scenario } = load(
      node('a', '192.168.7.20') +
        `---
apiVersion: v1
kind: Node
metadata: {name: b, annotations: {knetsim.io/subnet: 10.0.0.0/16}}
status: {addresses: [{type: InternalIP, address: 10.0.3.4}]}
`,
    );
    expect(scenario.nodes.map((n) => n.subnet)).toEqual(['192.168.7.0/24', '10.0.0.0/16']);
  });
});

describe('pod IPs (host-local)', () => {
  it('hands out .2 upward per node, in pod order', () => {
    const { scenario } = load(
      node('n1', '192.168.0.2', { spec: '{podCIDR: 10.244.5.0/24}' }) +
        pod('a', '{nodeName: n1}') +
        pod('b', '{nodeName: n1}') +
        pod('c', '{nodeName: n1}'),
    );
    expect(scenario.pods.map((p) => p.podIPs)).toEqual([['10.244.5.2'], ['10.244.5.3'], ['10.244.5.4']]);
    expect(scenario.pods.map((p) => p.hostIP)).toEqual(['192.168.0.2', '192.168.0.2', '192.168.0.2']);
  });

  it('keeps explicit addresses and never hands them out again', () => {
    const { scenario } = load(
      node('n1', '192.168.0.2', { spec: '{podCIDR: 10.244.5.0/24}' }) +
        pod('a', '{nodeName: n1}') +
        pod('explicit', '{nodeName: n1}', '{podIP: 10.244.5.2}') +
        pod('b', '{nodeName: n1}'),
    );
    expect(Object.fromEntries(scenario.pods.map((p) => [p.name, p.podIPs[0]]))).toEqual({
      a: '10.244.5.3',
      explicit: '10.244.5.2',
      b: '10.244.5.4',
    });
  });

  it('gives hostNetwork pods the node address', () => {
    const { scenario } = load(
      node('n1', '192.168.0.2', { spec: '{podCIDR: 10.244.5.0/24}' }) +
        pod('h', '{nodeName: n1, hostNetwork: true}') +
        pod('a', '{nodeName: n1}'),
    );
    expect(scenario.pods.map((p) => p.podIPs)).toEqual([['192.168.0.2'], ['10.244.5.2']]);
  });

  it('gives a dual-stack node pod an address of each family', () => {
    const { scenario } = load(
      node('n1', '192.168.0.2', { spec: '{podCIDRs: [10.244.5.0/24, "fd00:10:244:5::/64"]}' }) +
        pod('a', '{nodeName: n1}'),
    );
    expect(scenario.pods[0]!.podIPs).toEqual(['10.244.5.2', 'fd00:10:244:5::2']);
  });

  it('warns when a node pod CIDR is full', () => {
    const full = node('n1', '192.168.0.2', { spec: '{podCIDR: 10.244.5.0/30}' });
    expect(warningsOf(full + pod('a', '{nodeName: n1}') + pod('b', '{nodeName: n1}'))).toEqual([
      'test.yaml: document 3 (Pod default/b): status.podIP: no address for the pod: pod CIDR 10.244.5.0/30 of node n1 is full',
    ]);
  });
});
