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

describe('localhost NodePorts need nodePortAddresses to cover loopback (NewProxier)', () => {
  const restore = (nodePortAddresses: string[]) =>
    nodeOf(
      clusterYaml({ localhostNodePorts: true, nfacctCounters: ['localhost_nps_accepted_pkts'], nodePortAddresses }) +
        serviceYaml({
          name: 's',
          clusterIP: '10.96.0.5',
          type: 'NodePort',
          nodePort: 30080,
          endpoints: [{ ip: '10.244.1.5', node: 'node-1' }],
        }),
    ).restore;
  it('192.168.0.0/24 only: no KUBE-FIREWALL localnet rule, no 127.0.0.0/8 NodePort rule', () => {
    const r = restore(['192.168.0.0/24']);
    expect(r).not.toContain(':KUBE-FIREWALL');
    expect(r).not.toContain('-d 127.0.0.0/8 --dport 30080');
  });
  it('127.0.0.0/8 listed: localhost NodePorts stay on', () => {
    const r = restore(['192.168.0.0/24', '127.0.0.0/8']);
    expect(r).toContain(':KUBE-FIREWALL');
    expect(r).toContain('-d 127.0.0.0/8 --dport 30080');
    expect(r).toContain('-d 127.0.0.1 -j KUBE-NODEPORTS');
  });
});
