// The routing decision (device out and gateway) belongs to the packet: a branch that a
// random match forks off after routing leaves by the same way, as the kernel's skb keeps
// its dst entry.
import { describe, expect, it } from 'vitest';
import { makeSimNode, tracePacket } from '../../src/engine';
import { parseIpRoutes } from '../../src/net';
import { ip, nodeFromRules, table } from '../helpers/node-from-rules';

const routes = parseIpRoutes(
  ['default via 192.168.0.1 dev eth0', '192.168.0.0/24 dev eth0 proto kernel scope link src 192.168.0.2'].join('\n'),
);
if (!routes.ok) throw new Error(routes.message);
const ROUTES = routes.routes;

function nodeWith(rules: string) {
  return makeSimNode({ ...nodeFromRules(rules), routes: ROUTES });
}

describe('branches forked after the routing decision', () => {
  const half = '-m statistic --mode random --probability 0.5000000000';
  it('a local packet split in nat POSTROUTING: both halves leave by the default route', () => {
    const t = tracePacket(nodeWith(table('nat', [`-A POSTROUTING ${half} -j MASQUERADE`])), {
      src: ip('192.168.0.2'),
      dst: ip('203.0.113.7'),
      protocol: 'tcp',
      dport: 443,
      origin: { kind: 'local' },
    });
    expect(t.branches.map((b) => [b.outcome, b.probability, b.disposition])).toEqual([
      ['ACCEPT', 0.5, 'sent out eth0 via 192.168.0.1'],
      ['ACCEPT', 0.5, 'sent out eth0 via 192.168.0.1'],
    ]);
  });
  it('a forwarded packet split in filter FORWARD: the copy keeps the gateway too', () => {
    const t = tracePacket(nodeWith(table('filter', [`-A FORWARD ${half} -j ACCEPT`])), {
      src: ip('10.244.1.5'),
      dst: ip('203.0.113.7'),
      protocol: 'tcp',
      dport: 443,
      origin: { kind: 'interface', iface: 'cni0' },
    });
    expect(t.branches.map((b) => [b.outcome, b.exit?.nextHop])).toEqual([
      ['ACCEPT', '192.168.0.1'],
      ['ACCEPT', '192.168.0.1'],
    ]);
  });
});

describe('martian sources', () => {
  // ip_route_input: checked in a netns (forward-rules-oracle): a datagram from cni0 with the node's own
  // address as its source never reached the server, with rp_filter off and no rules.
  const node = nodeFromRules('*filter\n:FORWARD ACCEPT [0:0]\nCOMMIT\n');
  const from = (src: string, dst = '8.8.8.8') =>
    tracePacket(node, {
      src: ip(src),
      dst: ip(dst),
      protocol: 'udp',
      dport: 53,
      origin: { kind: 'interface', iface: 'cni0' },
    });
  it("a packet coming in with one of the node's addresses as its source is dropped at routing", () => {
    const t = from('192.168.0.2');
    expect(t.outcome).toBe('NO_ROUTE');
    expect(t.branches[0]!.disposition).toBe('martian source 192.168.0.2 from cni0 (an address of this node)');
  });
  it('so is a multicast, limited-broadcast or 0.0.0.0 source; 0.0.0.0 to 255.255.255.255 (DHCP) is not', () => {
    expect(from('224.0.0.5').outcome).toBe('NO_ROUTE');
    expect(from('255.255.255.255').outcome).toBe('NO_ROUTE');
    expect(from('0.0.0.0').outcome).toBe('NO_ROUTE');
    expect(from('0.0.0.0', '255.255.255.255').outcome).toBe('ACCEPT');
    expect(from('10.244.1.5').outcome).toBe('ACCEPT');
  });
});
