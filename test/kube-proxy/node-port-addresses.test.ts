// --nodeport-addresses as kube-proxy's NewNodePortAddresses reads it: a proxier keeps only the
// CIDRs of its own IP family, so IPv6 entries neither limit nor widen an IPv4 proxier's NodePorts.
import { describe, expect, it } from 'vitest';
import { clusterYaml, nodeOf, serviceYaml } from '../helpers/scenario';

const nodePortJumps = (nodePortAddresses: string[]) =>
  nodeOf(
    clusterYaml({ nodePortAddresses }) +
      serviceYaml({
        name: 's',
        clusterIP: '10.96.0.5',
        type: 'NodePort',
        nodePort: 30080,
        endpoints: [{ ip: '10.244.1.5', node: 'node-1' }],
      }),
  )
    .restore.split('\n')
    .filter((l) => l.startsWith('-A KUBE-SERVICES ') && l.endsWith('-j KUBE-NODEPORTS'))
    .map((l) => l.replace(/.*this chain" /, '').replace(' -j KUBE-NODEPORTS', ''));

describe('nodePortAddresses on an IPv4 proxier', () => {
  it('only IPv6 CIDRs: no IPv4 CIDR is left, so every local address takes NodePorts', () => {
    expect(nodePortJumps(['2001:db8::/64'])).toEqual(['-m addrtype --dst-type LOCAL']);
  });
  it('::/0 beside an IPv4 CIDR does not match all: only the IPv4 CIDR counts', () => {
    expect(nodePortJumps(['192.168.0.0/24', '::/0'])).toEqual(['-d 192.168.0.2']);
  });
  it('IPv6 CIDRs beside IPv4 ones are ignored (TestNodePorts, multiple nodeport-addresses)', () => {
    expect(nodePortJumps(['192.168.0.0/24', '2001:db8::/64'])).toEqual(['-d 192.168.0.2']);
  });
  it('0.0.0.0/0 matches all', () => {
    expect(nodePortJumps(['0.0.0.0/0'])).toEqual(['-m addrtype --dst-type LOCAL']);
  });
});
