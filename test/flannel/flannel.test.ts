// flannel's node network per backend, what it publishes, and its iptables rules,
// in the formats `ip route`, `ip neigh`, `bridge fdb` and iptables-save print.
import { describe, expect, it } from 'vitest';
import { flannelAnnotations, flannelMTU, flannelRestore, nodeNetwork, subnetEnv, vtepMac } from '../../src/flannel';
import { loadIptables, saveState } from '../../src/netfilter';
import { errorsOf, load } from '../model/load-helpers';

function cluster(cni: string): string {
  return `apiVersion: knetsim.io/v1alpha1
kind: Cluster
metadata: { name: t }
spec:
  clusterCIDR: 10.244.0.0/16
  cni: ${cni}
`;
}

function node(name: string, ip: string, podCIDR: string, annotations = '{}'): string {
  return `---
apiVersion: v1
kind: Node
metadata: { name: ${name}, annotations: ${annotations} }
spec: { podCIDR: ${podCIDR} }
status:
  addresses:
  - { type: InternalIP, address: ${ip} }
`;
}

// a and b share 192.168.1.0/24; c sits on another subnet behind the underlay router.
const nodes = [
  node('a', '192.168.1.11', '10.244.1.0/24'),
  node(
    'b',
    '192.168.1.12',
    '10.244.2.0/24',
    `{ "flannel.alpha.coreos.com/backend-data": '{"VNI":1,"VtepMAC":"5E:11:22:33:44:55"}' }`,
  ),
  node('c', '192.168.2.13', '10.244.3.0/24', '{ "knetsim.io/subnet": 192.168.2.0/24 }'),
].join('');

function networkOf(cni: string, name = 'a') {
  const { scenario } = load(cluster(cni) + nodes);
  return { scenario, net: nodeNetwork(scenario.cluster, scenario.nodes, name) };
}

describe('flannel VXLAN', () => {
  const { scenario, net } = networkOf('{ plugin: flannel, backend: vxlan }');
  const macC = vtepMac(scenario.nodes.find((n) => n.name === 'c')!);

  it('routes each remote pod subnet through flannel.1 onlink to its .0', () => {
    expect(net.routes.filter((r) => !r.includes('table local'))).toEqual([
      'default via 192.168.1.1 dev eth0',
      '192.168.1.0/24 dev eth0 proto kernel scope link src 192.168.1.11',
      '10.244.1.0/24 dev cni0 proto kernel scope link src 10.244.1.1',
      '10.244.2.0/24 via 10.244.2.0 dev flannel.1 onlink',
      '10.244.3.0/24 via 10.244.3.0 dev flannel.1 onlink',
    ]);
    expect(net.devices.find((d) => d.name === 'flannel.1')).toEqual({
      name: 'flannel.1',
      addresses: [{ address: '10.244.1.0', prefixLength: 32 }],
      mtu: 1450,
    });
  });

  it('keeps a permanent neighbour and FDB entry per remote VTEP, using the annotated MAC when there is one', () => {
    expect(net.neighbours).toEqual([
      '10.244.2.0 dev flannel.1 lladdr 5e:11:22:33:44:55 PERMANENT',
      `10.244.3.0 dev flannel.1 lladdr ${macC} PERMANENT`,
    ]);
    expect(net.fdb).toEqual([
      '5e:11:22:33:44:55 dev flannel.1 dst 192.168.1.12 self permanent',
      `${macC} dev flannel.1 dst 192.168.2.13 self permanent`,
    ]);
  });

  it('derives a stable, locally administered unicast MAC for a node without one', () => {
    const c = scenario.nodes.find((n) => n.name === 'c')!;
    expect(macC).toMatch(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
    expect(Number.parseInt(macC.slice(0, 2), 16) & 0x03).toBe(0x02);
    expect(vtepMac(c)).toBe(macC);
    expect(vtepMac({ ...c, name: 'd' })).not.toBe(macC);
  });

  it('publishes the annotations and subnet.env flanneld writes', () => {
    const a = scenario.nodes.find((n) => n.name === 'a')!;
    expect(flannelAnnotations(scenario.cluster, a)).toEqual({
      'flannel.alpha.coreos.com/backend-data': `{"VNI":1,"VtepMAC":"${vtepMac(a)}"}`,
      'flannel.alpha.coreos.com/backend-type': 'vxlan',
      'flannel.alpha.coreos.com/kube-subnet-manager': 'true',
      'flannel.alpha.coreos.com/public-ip': '192.168.1.11',
    });
    expect(subnetEnv(scenario.cluster, a)).toBe(
      'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n',
    );
  });

  it('takes 50 bytes off the underlay MTU for VXLAN, none for host-gw', () => {
    expect(flannelMTU(networkOf('{ plugin: flannel, backend: vxlan, underlayMTU: 9000 }').scenario.cluster)).toBe(8950);
    expect(flannelMTU(networkOf('{ plugin: flannel, backend: host-gw }').scenario.cluster)).toBe(1500);
  });
});

describe('flannel VXLAN with directRouting', () => {
  const { net } = networkOf('{ plugin: flannel, backend: vxlan, directRouting: true }');
  it('routes nodes on the same subnet directly and the rest through flannel.1', () => {
    expect(net.routes).toContain('10.244.2.0/24 via 192.168.1.12 dev eth0');
    expect(net.routes).toContain('10.244.3.0/24 via 10.244.3.0 dev flannel.1 onlink');
    expect(net.neighbours.map((l) => l.split(' ')[0])).toEqual(['10.244.3.0']);
    expect(net.fdb.map((l) => l.split(' dst ')[1])).toEqual(['192.168.2.13 self permanent']);
  });
});

describe('flannel host-gw', () => {
  const { scenario, net } = networkOf('{ plugin: flannel, backend: host-gw }');
  it('routes via the remote node on the same L2 segment and has no flannel.1', () => {
    expect(net.routes).toContain('10.244.2.0/24 via 192.168.1.12 dev eth0');
    expect(net.devices.map((d) => d.name)).not.toContain('flannel.1');
    expect(net.neighbours).toEqual([]);
    expect(net.fdb).toEqual([]);
  });
  it('installs no route to a node on another subnet, and says why', () => {
    expect(net.routes.some((r) => r.startsWith('10.244.3.0/24'))).toBe(false);
    expect(net.notes).toEqual([
      expect.stringMatching(
        /^host-gw: no route to 10\.244\.3\.0\/24 of c: its address 192\.168\.2\.13 is not on this node's subnet 192\.168\.1\.0\/24/,
      ),
    ]);
  });
  it('publishes null backend-data', () => {
    const a = scenario.nodes.find((n) => n.name === 'a')!;
    expect(flannelAnnotations(scenario.cluster, a)['flannel.alpha.coreos.com/backend-data']).toBe('null');
    expect(flannelAnnotations(scenario.cluster, a)['flannel.alpha.coreos.com/backend-type']).toBe('host-gw');
  });
});

describe("flannel's iptables rules", () => {
  it('load through the iptables-restore parser and save back in flanneld order', () => {
    const loaded = loadIptables(flannelRestore('10.244.0.0/16', '10.244.1.0/24'), 'flannel');
    if (!loaded.ok) expect.fail(loaded.message);
    const saved = saveState(loaded.state);
    // The same order as flannel's own e2e check_iptables expects for node 1.
    const postrtg = saved.split('\n').filter((l) => l.startsWith('-A FLANNEL-POSTRTG'));
    expect(postrtg).toEqual([
      '-A FLANNEL-POSTRTG -m mark --mark 0x4000/0x4000 -m comment --comment "flanneld masq" -j RETURN',
      '-A FLANNEL-POSTRTG -s 10.244.1.0/24 -d 10.244.0.0/16 -m comment --comment "flanneld masq" -j RETURN',
      '-A FLANNEL-POSTRTG -s 10.244.0.0/16 -d 10.244.1.0/24 -m comment --comment "flanneld masq" -j RETURN',
      '-A FLANNEL-POSTRTG ! -s 10.244.0.0/16 -d 10.244.1.0/24 -m comment --comment "flanneld masq" -j RETURN',
      '-A FLANNEL-POSTRTG -s 10.244.0.0/16 ! -d 224.0.0.0/4 -m comment --comment "flanneld masq" -j MASQUERADE --random-fully',
      '-A FLANNEL-POSTRTG ! -s 10.244.0.0/16 -d 10.244.0.0/16 -m comment --comment "flanneld masq" -j MASQUERADE --random-fully',
    ]);
    expect(saved).toContain('-A POSTROUTING -m comment --comment "flanneld masq" -j FLANNEL-POSTRTG');
    expect(saved).toContain('-A FORWARD -m comment --comment "flanneld forward" -j FLANNEL-FWD');
    expect(saved).toContain('-A FLANNEL-FWD -d 10.244.0.0/16 -m comment --comment "flanneld forward" -j ACCEPT');
  });
});

describe('bad node networks', () => {
  it('rejects two nodes with overlapping pod CIDRs, naming both', () => {
    const errors = errorsOf(
      cluster('{ plugin: flannel, backend: vxlan }') +
        node('a', '192.168.1.11', '10.244.1.0/24') +
        node('b', '192.168.1.12', '10.244.0.0/23'),
    );
    expect(errors).toEqual([
      expect.stringMatching(
        /Node b.*spec\.podCIDR.*10\.244\.0\.0\/23 overlaps 10\.244\.1\.0\/24, the pod CIDR of node a/,
      ),
    ]);
  });

  it('rejects a node without an address among others: nothing could reach it', () => {
    const errors = errorsOf(
      cluster('{ plugin: flannel, backend: vxlan }') +
        node('a', '192.168.1.11', '10.244.1.0/24') +
        `---
apiVersion: v1
kind: Node
metadata: {name: b}
spec: {podCIDR: 10.244.2.0/24}
`,
    );
    expect(errors).toEqual([
      expect.stringMatching(
        /Node b.*status\.addresses: the node has no InternalIP address: the other 1 node could not reach it \(flannel needs its public IP\)/,
      ),
    ]);
  });
});
