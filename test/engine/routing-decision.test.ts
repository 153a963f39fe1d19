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
