// A packet across nodes: DNAT on the client's node, over the underlay (VXLAN
// or host-gw), delivered into the endpoint pod on the far node.
import { describe, expect, it } from 'vitest';
import { buildClusterNodes, type SimNode, walkCluster, walkReply } from '../../src/engine';
import { parseIPv4 } from '../../src/net';
import { clusterYaml, scenarioOf, serviceYaml } from '../helpers/scenario';

const NODE_3 = `---
apiVersion: v1
kind: Node
metadata: {name: node-3}
spec: {podCIDR: 10.244.3.0/24}
status:
  addresses: [{type: InternalIP, address: 192.168.0.4}]
`;

function clusterNodes(
  cni: string,
  service = serviceYaml({
    name: 'web',
    clusterIP: '10.96.0.20',
    targetPort: 8080,
    endpoints: [{ ip: '10.244.2.7', node: 'node-2' }],
  }),
): Map<string, SimNode> {
  const yaml = clusterYaml().replace('  proxy:\n', `  cni: ${cni}\n  proxy:\n`) + NODE_3 + service;
  return nodesOf(yaml);
}

function nodesOf(yaml: string): Map<string, SimNode> {
  const built = buildClusterNodes(scenarioOf(yaml));
  if (!built.ok) throw new Error(built.message);
  return built.value;
}

/** A TCP SYN arriving on `iface` of the node the walk starts on. */
function syn(src: string, dst: string, dport: number, iface: string) {
  const origin = { kind: 'interface' as const, iface };
  return { src: parseIPv4(src)!, dst: parseIPv4(dst)!, protocol: 'tcp' as const, dport, origin };
}

const fromPod = syn('10.244.1.5', '10.96.0.20', 80, 'cni0');

describe('across nodes', () => {
  it('VXLAN: DNAT on node-1, encapsulated to node-2, decapsulated and delivered into the pod', () => {
    const paths = walkCluster(clusterNodes('{plugin: flannel, backend: vxlan}'), 'node-1', fromPod);
    expect(paths).toHaveLength(1);
    const p = paths[0]!;
    expect(p).toMatchObject({
      outcome: 'ACCEPT',
      nodes: ['node-1', 'node-2'],
      endpoint: '10.244.2.7:8080',
      disposition: 'sent out cni0 directly to 10.244.2.7',
      final: 'tcp 10.244.1.5:40000 -> 10.244.2.7:8080',
    });
    const stages = p.hops.map((h) => `${h.node} ${h.stage}`);
    expect(stages).toContain('node-1 flannel.1 encap');
    const underlay = p.hops.find((h) => h.stage === 'underlay')!;
    expect(underlay.action).toMatch(
      /^node-1 eth0 -> node-2 eth0: udp 192\.168\.0\.2:\d+ -> 192\.168\.0\.3:8472 \(VXLAN VNI 1\)$/,
    );
    expect(p.hops.find((h) => h.stage === 'flannel.1 decap')?.action).toBe(
      'node-2 eth0 -> flannel.1 decap: inner tcp 10.244.1.5:40000 -> 10.244.2.7:8080',
    );
    // The far node forwards the already-DNATed packet: no service rule matches there.
    expect(p.hops.filter((h) => h.node === 'node-2' && h.rule?.includes('DNAT'))).toEqual([]);
    expect(stages.indexOf('node-1 flannel.1 encap')).toBeLessThan(stages.indexOf('node-2 flannel.1 decap'));
  });

  it('host-gw: routed to node-2 by its address, no encapsulation', () => {
    const paths = walkCluster(clusterNodes('{plugin: flannel, backend: host-gw}'), 'node-1', fromPod);
    expect(paths).toHaveLength(1);
    const p = paths[0]!;
    expect(p.nodes).toEqual(['node-1', 'node-2']);
    expect(p.disposition).toBe('sent out cni0 directly to 10.244.2.7');
    expect(p.hops.some((h) => h.stage.includes('encap'))).toBe(false);
    expect(p.hops.find((h) => h.stage === 'underlay')?.action).toBe(
      'node-1 eth0 -> node-2 eth0: tcp 10.244.1.5:40000 -> 10.244.2.7:8080',
    );
  });

  it('host-gw to a node on another subnet: no route, so it leaves by the default route, and the trace says why', () => {
    const offSubnet = NODE_3.replace('address: 192.168.0.4', 'address: 192.168.5.4');
    const yaml =
      clusterYaml().replace('  proxy:\n', '  cni: {plugin: flannel, backend: host-gw}\n  proxy:\n') + offSubnet;
    const [p] = walkCluster(nodesOf(yaml), 'node-1', { ...fromPod, dst: parseIPv4('10.244.3.9')! });
    expect(p!.nodes).toEqual(['node-1']);
    expect(p!.disposition).toBe(
      "sent out eth0 via 192.168.0.1, not to the pod's node: host-gw: no route to 10.244.3.0/24 of node-3: its address 192.168.5.4 is not on this node's subnet 192.168.0.0/24 (the kernel refuses a gateway that is not directly reachable: network is unreachable)",
    );
  });

  it('VXLAN to a node on another subnet: the outer packet crosses the underlay router between the subnets', () => {
    const offSubnet = NODE_3.replace('address: 192.168.0.4', 'address: 192.168.5.4');
    const yaml =
      clusterYaml().replace('  proxy:\n', '  cni: {plugin: flannel, backend: vxlan}\n  proxy:\n') + offSubnet;
    const [p] = walkCluster(nodesOf(yaml), 'node-1', { ...fromPod, dst: parseIPv4('10.244.3.9')!, dport: 8080 });
    expect(p!.nodes).toEqual(['node-1', 'node-3']);
    const router = p!.hops.find((h) => h.stage === 'underlay router');
    expect(router?.action).toMatch(
      /^udp 192\.168\.0\.2:\d+ -> 192\.168\.5\.4:8472 routed from 192\.168\.0\.0\/24 \(router 192\.168\.0\.1\) to 192\.168\.5\.0\/24 \(router 192\.168\.5\.1\)$/,
    );
    // Nodes on one subnet: switched, no router.
    const same = walkCluster(clusterNodes('{plugin: flannel, backend: vxlan}'), 'node-1', fromPod);
    expect(same[0]!.hops.some((h) => h.stage === 'underlay router')).toBe(false);
  });

  it("a packet for another subnet's node leaves by the gateway and the underlay router delivers it, TTL permitting", () => {
    const offSubnet = NODE_3.replace('address: 192.168.0.4', 'address: 192.168.5.4');
    const yaml =
      clusterYaml().replace('  proxy:\n', '  cni: {plugin: flannel, backend: vxlan}\n  proxy:\n') + offSubnet;
    const nodes = nodesOf(yaml);
    // An outside client on node-1's subnet sends to node-3 through node-1 (forwarded: one off the TTL).
    const toNode3 = (ttl: number) =>
      walkCluster(nodes, 'node-1', { ...syn('192.168.0.50', '192.168.5.4', 22, 'eth0'), ttl });
    const [through] = toNode3(3);
    expect([through!.nodes, through!.outcome, through!.disposition]).toEqual([
      ['node-1', 'node-3'],
      'ACCEPT',
      'delivered to a local socket on 192.168.5.4:22',
    ]);
    expect(through!.hops.filter((h) => h.stage.startsWith('underlay')).map((h) => h.action)).toEqual([
      'node-1 eth0 -> node-3 eth0: tcp 192.168.0.50:40000 -> 192.168.5.4:22',
      'tcp 192.168.0.50:40000 -> 192.168.5.4:22 routed from 192.168.0.0/24 (router 192.168.0.1) to 192.168.5.0/24 (router 192.168.5.1)',
    ]);
    // Sent with TTL 2, it leaves node-1 with 1: the router drops it.
    const [dropped] = toNode3(2);
    expect([dropped!.nodes, dropped!.outcome, dropped!.disposition]).toEqual([
      ['node-1'],
      'DROP',
      'the underlay router drops it: its TTL is 1 (ICMP time exceeded to 192.168.0.50)',
    ]);
  });

  it('a packet for a ClusterIP nothing translated leaves unanswered: no reply walk', () => {
    const nodes = clusterNodes('{plugin: flannel, backend: vxlan}');
    const [p] = walkCluster(nodes, 'node-1', { ...fromPod, dst: parseIPv4('10.96.0.99')!, commit: true });
    expect(p!.disposition).toBe(
      'sent out eth0 via 192.168.0.1; no host owns 10.96.0.99 (in the service CIDR 10.96.0.0/12): nothing answers',
    );
    expect(walkReply(nodes, p!)).toEqual([]);
  });

  it('a packet for an address outside the cluster ends on the node it leaves', () => {
    const nodes = clusterNodes('{plugin: flannel, backend: vxlan}');
    const paths = walkCluster(nodes, 'node-1', { ...fromPod, dst: parseIPv4('8.8.8.8')!, dport: 53 });
    expect(paths.map((p) => [p.nodes, p.disposition])).toEqual([[['node-1'], 'sent out eth0 via 192.168.0.1']]);
  });
});

/** A cluster (VXLAN unless said) with a NodePort Service whose one endpoint is on node-3. */
function nodePort(policy: string, cni = '{plugin: flannel, backend: vxlan}'): Map<string, SimNode> {
  return clusterNodes(
    cni,
    serviceYaml({
      name: 'web',
      type: 'NodePort',
      nodePort: 30080,
      clusterIP: '10.96.0.20',
      targetPort: 8080,
      extra: `  externalTrafficPolicy: ${policy}`,
      endpoints: [{ ip: '10.244.3.7', node: 'node-3' }],
    }),
  );
}

describe('NodePort on node-2, endpoint on node-3', () => {
  const fromOutside = syn('203.0.113.9', '192.168.0.3', 30080, 'eth0');

  it("externalTrafficPolicy Cluster: DNAT and SNAT to flannel.1's address on node-2, delivered on node-3", () => {
    const paths = walkCluster(nodePort('Cluster'), 'node-2', fromOutside);
    expect(paths.map((p) => [p.outcome, p.nodes, p.final, p.masquerade])).toEqual([
      ['ACCEPT', ['node-2', 'node-3'], 'tcp 10.244.2.0:40000 -> 10.244.3.7:8080', true],
    ]);
  });

  it('externalTrafficPolicy Local: node-2 has no local endpoint and drops it', () => {
    const paths = walkCluster(nodePort('Local'), 'node-2', fromOutside);
    expect(paths.map((p) => [p.outcome, p.nodes, p.disposition])).toEqual([
      ['DROP', ['node-2'], 'dropped in filter/INPUT'],
    ]);
    expect(paths[0]!.hops.some((h) => h.rule?.includes('has no local endpoints') && h.rule.includes('-j DROP'))).toBe(
      true,
    );
  });
});

describe('replies across nodes', () => {
  it('ClusterIP over VXLAN: the reply goes back to node-1 and is un-DNATed there to the ClusterIP', () => {
    const nodes = clusterNodes('{plugin: flannel, backend: vxlan}');
    const [forward] = walkCluster(nodes, 'node-1', { ...fromPod, commit: true, sample: () => 0.5 });
    const replies = walkReply(nodes, forward!);
    expect(replies.map((p) => [p.outcome, p.nodes, p.final])).toEqual([
      ['ACCEPT', ['node-2', 'node-1'], 'tcp 10.96.0.20:80 -> 10.244.1.5:40000'],
    ]);
    const r = replies[0]!;
    // The VXLAN datagram node-2 sends is a connection of its own (the kernel resets the inner one's).
    expect(r.hops.filter((h) => h.stage === 'conntrack').map((h) => `${h.node} ${h.action}`)).toEqual([
      'node-2 existing connection (reply direction)',
      'node-2 new connection (ctstate NEW)',
      'node-2 connection confirmed',
      'node-1 existing connection (reply direction)',
      "node-1 source rewritten to 10.96.0.20:80 by the connection's NAT",
    ]);
    expect(r.hops.some((h) => h.stage === 'flannel.1 encap' && h.node === 'node-2')).toBe(true);
  });

  it('without the forward connection committed, node-1 sees the reply as a new connection and does not un-DNAT it', () => {
    const nodes = clusterNodes('{plugin: flannel, backend: vxlan}');
    const [forward] = walkCluster(nodes, 'node-1', { ...fromPod, sample: () => 0.5 });
    const [reply] = walkReply(nodes, forward!);
    expect(reply!.final).toBe('tcp 10.244.2.7:8080 -> 10.244.1.5:40000');
  });

  it('NodePort with externalTrafficPolicy Cluster: the reply returns through node-2, which restores the client and the node port', () => {
    const nodes = nodePort('Cluster');
    const [forward] = walkCluster(nodes, 'node-2', {
      ...syn('203.0.113.9', '192.168.0.3', 30080, 'eth0'),
      commit: true,
      sample: () => 0.5,
    });
    const replies = walkReply(nodes, forward!);
    expect(replies.map((p) => [p.outcome, p.nodes, p.final])).toEqual([
      ['ACCEPT', ['node-3', 'node-2'], 'tcp 192.168.0.3:30080 -> 203.0.113.9:40000'],
    ]);
  });

  it('NodePort over host-gw: node-2 masquerades to its own address, and the answer goes to it directly on the underlay', () => {
    const nodes = nodePort('Cluster', '{plugin: flannel, backend: host-gw}');
    const [forward] = walkCluster(nodes, 'node-2', {
      ...syn('203.0.113.9', '192.168.0.3', 30080, 'eth0'),
      commit: true,
      sample: () => 0.5,
    });
    expect(forward!.final).toBe('tcp 192.168.0.3:40000 -> 10.244.3.7:8080');
    const replies = walkReply(nodes, forward!);
    // node-3 reaches 192.168.0.3 with no gateway (same subnet): the walk still follows it into node-2.
    expect(replies.map((p) => [p.outcome, p.nodes, p.final])).toEqual([
      ['ACCEPT', ['node-3', 'node-2'], 'tcp 192.168.0.3:30080 -> 203.0.113.9:40000'],
    ]);
    expect(
      replies[0]!.hops.some((h) => h.stage === 'underlay' && h.action.startsWith('node-3 eth0 -> node-2 eth0')),
    ).toBe(true);
  });
});
