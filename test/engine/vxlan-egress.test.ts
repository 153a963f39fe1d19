// A packet leaving by flannel.1: MTU check, neighbour → FDB lookup, and the
// encapsulated packet's outer and inner headers in the trace.
import { describe, expect, it } from 'vitest';
import { makeSimNode, tracePacket, type VxlanEndpoint } from '../../src/engine';
import { parseIpRoutes, vxlanSourcePort } from '../../src/net';
import { ip, nodeFromRules, table } from '../helpers/node-from-rules';

const routes = parseIpRoutes(
  [
    'default via 192.168.1.1 dev eth0',
    '192.168.1.0/24 dev eth0 proto kernel scope link src 192.168.1.11',
    '10.244.1.0/24 dev cni0 proto kernel scope link src 10.244.1.1',
    '10.244.2.0/24 via 10.244.2.0 dev flannel.1 onlink',
    '10.244.3.0/24 via 10.244.3.0 dev flannel.1 onlink',
  ].join('\n'),
);
if (!routes.ok) throw new Error(routes.message);

const vxlan: VxlanEndpoint = {
  device: { name: 'flannel.1', vni: 1, port: 8472, local: ip('192.168.1.11') },
  mtu: 1450,
  neighbours: new Map([
    [ip('10.244.2.0'), '5e:11:22:33:44:55'],
    [ip('10.244.3.0'), '5e:00:00:00:00:03'],
  ]),
  // 10.244.3.0's MAC has no FDB entry: flanneld has not learnt that node yet.
  fdb: new Map([['5e:11:22:33:44:55', ip('192.168.1.12')]]),
};

const base = nodeFromRules(table('filter', []));
const node = makeSimNode({
  ...base,
  interfaces: [
    { name: 'eth0', addresses: [{ address: ip('192.168.1.11'), prefixLength: 24 }] },
    { name: 'cni0', addresses: [{ address: ip('10.244.1.1'), prefixLength: 24 }], bridge: true },
    { name: 'flannel.1', addresses: [{ address: ip('10.244.1.0'), prefixLength: 32 }] },
  ],
  routes: routes.routes,
  vxlan,
});

function fromPod(dst: string, length?: number, df?: boolean) {
  return tracePacket(node, {
    src: ip('10.244.1.5'),
    dst: ip(dst),
    protocol: 'tcp',
    dport: 8080,
    ...(length === undefined ? {} : { length }),
    ...(df === undefined ? {} : { df }),
    origin: { kind: 'interface', iface: 'cni0' },
  });
}

describe('out through flannel.1', () => {
  it('wraps the packet for the remote VTEP that the neighbour and FDB entries name, and shows both headers', () => {
    const t = fromPod('10.244.2.7', 1450);
    expect(t.outcome).toBe('ACCEPT');
    const encap = t.hops.find((h) => h.stage === 'flannel.1 encap');
    const sport = vxlanSourcePort({
      src: ip('10.244.1.5'),
      dst: ip('10.244.2.7'),
      protocol: 'tcp',
      sport: 40000,
      dport: 8080,
      length: 1450,
      tcpFlags: null,
      df: true,
      inner: null,
    });
    expect(encap?.action).toBe(
      `VXLAN VNI 1 to 5e:11:22:33:44:55: outer udp 192.168.1.11:${sport} -> 192.168.1.12:8472 (1500 bytes, 1514-byte frame on eth0), inner tcp 10.244.1.5:40000 -> 10.244.2.7:8080 (1450 bytes)`,
    );
    expect(t.branches[0]!.disposition).toBe(
      'sent out flannel.1 via 10.244.2.0, encapsulated (VNI 1) to 192.168.1.12:8472 out eth0',
    );
  });

  it("drops a DF packet larger than flannel.1's MTU and says ICMP fragmentation needed goes back", () => {
    const t = fromPod('10.244.2.7', 1451);
    expect(t.outcome).toBe('DROP');
    expect(t.branches[0]!.disposition).toBe(
      "dropped at flannel.1: 1451 bytes exceed flannel.1's MTU 1450 with DF set: ICMP fragmentation needed (mtu 1450) to 10.244.1.5",
    );
  });

  it('fragments a packet without DF after POSTROUTING and encapsulates each fragment, all on one outer port', () => {
    const t = fromPod('10.244.2.7', 3000, false);
    expect(t.outcome).toBe('ACCEPT');
    expect(t.hops.find((h) => h.stage === 'flannel.1 mtu')?.action).toBe(
      "3000 bytes exceed flannel.1's MTU 1450, no DF: 3 fragments of 1444 + 1444 + 152 bytes",
    );
    const encap = t.hops.find((h) => h.stage === 'flannel.1 encap')!.action;
    expect(encap).toContain('(3 frames of 1508 + 1508 + 216 bytes on eth0)');
    // Fragments carry no ports for the flow hash: their outer port is not the unfragmented flow's.
    const port = (action: string) => /outer udp [\d.]+:(\d+) /.exec(action)?.[1];
    const whole = fromPod('10.244.2.7', 1000).hops.find((h) => h.stage === 'flannel.1 encap')!.action;
    expect(port(encap)).not.toBe(port(whole));
  });

  it('cannot send without an FDB entry for the neighbour', () => {
    const t = fromPod('10.244.3.9');
    expect(t.outcome).toBe('NO_ROUTE');
    expect(t.branches[0]!.disposition).toBe('flannel.1: no fdb entry for 5e:00:00:00:00:03');
  });
});

describe("the VXLAN datagram through the node's own OUTPUT and POSTROUTING", () => {
  const withRules = (filter: string[], mangle: string[] = []) => {
    const rules = nodeFromRules(`${table('filter', filter)}${mangle.length ? table('mangle', mangle) : ''}`);
    return makeSimNode({ ...node, ruleset: rules.ruleset });
  };
  const send = (n: ReturnType<typeof makeSimNode>, mark = 0) =>
    tracePacket(n, {
      src: ip('10.244.1.5'),
      dst: ip('10.244.2.7'),
      protocol: 'tcp',
      dport: 8080,
      mark,
      origin: { kind: 'interface', iface: 'cni0' },
    });

  it('a rule dropping UDP 8472 in filter OUTPUT stops pod traffic to other nodes, and the trace names the datagram', () => {
    const t = send(withRules(['-A OUTPUT -p udp -m udp --dport 8472 -j DROP']));
    expect(t.outcome).toBe('DROP');
    expect(t.branches[0]!.disposition).toMatch(
      /^the VXLAN datagram udp 192\.168\.1\.11:\d+ -> 192\.168\.1\.12:8472 dropped in filter\/OUTPUT$/,
    );
    const stages = t.hops.map((h) => h.stage);
    expect(stages.indexOf('flannel.1 encap')).toBeLessThan(stages.indexOf('vxlan outer'));
    expect(stages.indexOf('vxlan outer')).toBeLessThan(stages.indexOf('filter/OUTPUT'));
  });

  it('the forwarded inner packet is not what OUTPUT sees: a rule for TCP 8080 there does not touch it', () => {
    expect(send(withRules(['-A OUTPUT -p tcp -m tcp --dport 8080 -j DROP'])).outcome).toBe('ACCEPT');
  });

  it("the datagram keeps the inner packet's mark (the tunnel scrubs it only across namespaces)", () => {
    const n = withRules([], ['-A POSTROUTING -p udp -m mark --mark 0x8/0x8 -j DROP']);
    expect(send(n, 0x8).outcome).toBe('DROP');
    expect(send(n, 0).outcome).toBe('ACCEPT');
  });

  it("the datagram keeps the inner packet's socket for -m owner: a node process's, none for a pod's", () => {
    // Probed in two namespaces joined by a VXLAN device: a root process's datagrams to the far
    // side's inner address, encapsulated, matched "-p udp --dport 4789 -m owner --uid-owner 0" in
    // mangle POSTROUTING (skb_scrub_packet keeps skb->sk within a namespace).
    const n = withRules([], ['-A POSTROUTING -p udp -m udp --dport 8472 -m owner --uid-owner 0 -j DROP']);
    const fromNode = (socket?: { uid: number; gid: number; groups: number[] }) =>
      tracePacket(n, {
        src: ip('192.168.1.11'),
        dst: ip('10.244.2.7'),
        protocol: 'udp',
        dport: 53,
        origin: { kind: 'local' },
        ...(socket ? { socket } : {}),
      }).outcome;
    expect(fromNode()).toBe('DROP');
    expect(fromNode({ uid: 1000, gid: 1000, groups: [1000] })).toBe('ACCEPT');
    expect(send(n).outcome).toBe('ACCEPT');
  });

  it('counts the rules the datagram meets and its own conntrack look-up', () => {
    const t = send(withRules(['-A OUTPUT -p udp -j ACCEPT']));
    const plain = send(node);
    expect(t.cost.rulesEvaluated).toBe(plain.cost.rulesEvaluated + 1);
    // One for the forwarded packet at PREROUTING, one for the datagram at OUTPUT.
    expect(plain.cost.conntrackLookups).toBe(2);
  });
});
