// The chain-only assertions of kube-proxy's proxier_test.go (assertIPTablesChainEqual), which
// the reference cases cannot hold since they compare whole rulesets: TestDropInvalidRule's
// KUBE-FORWARD, TestMasqueradeRule's KUBE-POSTROUTING and TestNodePorts' KUBE-FIREWALL.
import { describe, expect, it } from 'vitest';
import { clusterYaml, nodeOf, serviceYaml } from '../helpers/scenario';

const chainOf = (proxy: Record<string, unknown>, chain: string, objects = '') =>
  nodeOf(clusterYaml(proxy) + objects)
    .restore.split('\n')
    .filter((l) => l.startsWith(`-A ${chain} `));

const forwardTail = [
  '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT',
  '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
];

describe('TestDropInvalidRule: KUBE-FORWARD', () => {
  it('tcpLiberal false, no nfacct counter: the plain INVALID drop', () => {
    expect(chainOf({ conntrackTCPLiberal: false, nfacctCounters: [] }, 'KUBE-FORWARD')).toEqual([
      '-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP',
      ...forwardTail,
    ]);
  });
  it('tcpLiberal false, with the ct_state_invalid_dropped_pkts counter: the drop is counted', () => {
    expect(
      chainOf({ conntrackTCPLiberal: false, nfacctCounters: ['ct_state_invalid_dropped_pkts'] }, 'KUBE-FORWARD'),
    ).toEqual([
      '-A KUBE-FORWARD -m conntrack --ctstate INVALID -m nfacct --nfacct-name ct_state_invalid_dropped_pkts -j DROP',
      ...forwardTail,
    ]);
  });
  it('tcpLiberal true: no INVALID drop', () => {
    expect(chainOf({ conntrackTCPLiberal: true, nfacctCounters: [] }, 'KUBE-FORWARD')).toEqual(forwardTail);
  });
});

describe('TestMasqueradeRule: KUBE-POSTROUTING', () => {
  for (const randomFully of [false, true]) {
    it(`randomFully ${randomFully}`, () => {
      expect(chainOf({ masqueradeRandomFully: randomFully }, 'KUBE-POSTROUTING')).toEqual([
        '-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN',
        '-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000',
        `-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE${randomFully ? ' --random-fully' : ''}`,
      ]);
    });
  }
});

describe('TestNodePorts: KUBE-FIREWALL holds the localnet rule only with localhost NodePorts', () => {
  const nodePort = serviceYaml({
    name: 'svc1',
    clusterIP: '10.96.0.41',
    type: 'NodePort',
    nodePort: 3001,
    endpoints: [{ ip: '10.244.1.1' }, { ip: '10.244.2.1', node: 'node-1' }],
  });
  const firewall =
    '-A KUBE-FIREWALL -m comment --comment "block incoming localnet connections" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP';
  const cases: [string, Record<string, unknown>, string[]][] = [
    ['ipv4, localhost-nodeports enabled', { localhostNodePorts: true }, [firewall]],
    ['ipv4, localhost-nodeports disabled', { localhostNodePorts: false }, []],
    [
      'ipv4, localhost-nodeports disabled, localhost in nodeport-addresses',
      { localhostNodePorts: false, nodePortAddresses: ['192.168.0.0/24', '127.0.0.1/32'] },
      [],
    ],
    [
      'ipv4, localhost-nodeports enabled, multiple nodeport-addresses',
      { localhostNodePorts: false, nodePortAddresses: ['192.168.0.0/24', '192.168.1.0/24', '2001:db8::/64'] },
      [],
    ],
  ];
  for (const [name, proxy, want] of cases) {
    it(name, () => {
      expect(chainOf(proxy, 'KUBE-FIREWALL', nodePort)).toEqual(want);
    });
  }
});

describe('TestLoadBalancerIngressRouteTypeProxy (LoadBalancerIPMode on): a Proxy-mode ingress IP gets no rule', () => {
  const cases: [string, string, string | null, boolean][] = [
    ['ipMode Proxy', '1.2.3.4', 'Proxy', false],
    ['ipMode VIP', '1.2.3.5', 'VIP', true],
    ['ipMode nil', '1.2.3.6', null, true],
  ];
  for (const [name, lbIP, ipMode, expectRule] of cases) {
    it(name, () => {
      const lb = serviceYaml({
        name: 'svc1',
        ns: 'ns1',
        clusterIP: '10.96.30.41',
        type: 'LoadBalancer',
        nodePort: 3001,
        status: `status: {loadBalancer: {ingress: [{ip: ${lbIP}${ipMode ? `, ipMode: ${ipMode}` : ''}}]}}`,
        endpoints: [{ ip: '10.244.1.1' }],
      });
      const hasRule = chainOf({}, 'KUBE-SERVICES', lb).some((l) => l.includes(` -d ${lbIP} `));
      expect(hasRule).toBe(expectRule);
    });
  }
});
