// kube-proxy's userspace proxy in a trace: the redirect to its socket, the copy
// into user space, and a second connection from the node to each endpoint.
import { describe, expect, it } from 'vitest';
import { makeSimNode, tracePacket } from '../../src/engine';
import { ip, nodeFromRules, table } from '../helpers/node-from-rules';

const base = nodeFromRules(
  table('nat', [
    ':KUBE-PORTALS-CONTAINER - [0:0]',
    '-A PREROUTING -j KUBE-PORTALS-CONTAINER',
    '-A KUBE-PORTALS-CONTAINER -m comment --comment "default/web:http" -p tcp -m tcp --dport 80 -d 10.96.0.20/32 -j REDIRECT --to-ports 36001',
  ]),
);
const node = makeSimNode({
  ...base,
  userspace: [
    {
      protocol: 'tcp',
      port: 36001,
      servicePortName: 'default/web:http',
      endpoints: [
        { address: ip('10.244.1.5'), port: 8080 },
        { address: ip('10.244.2.5'), port: 8080 },
      ],
    },
  ],
});

describe('userspace proxy', () => {
  it('redirects to the proxy port, then a second connection goes from the node to each endpoint', () => {
    const t = tracePacket(node, {
      src: ip('10.244.1.9'),
      dst: ip('10.96.0.20'),
      protocol: 'tcp',
      dport: 80,
      origin: { kind: 'interface', iface: 'cni0' },
    });
    expect(t.outcome).toBe('ACCEPT');
    expect(t.endpoints.map((e) => [e.address, e.probability]).sort()).toEqual([
      ['10.244.1.5:8080', 0.5],
      ['10.244.2.5:8080', 0.5],
    ]);
    const stages = t.hops.map((h) => h.stage);
    expect(stages).toContain('userspace');
    expect(t.hops.find((h) => h.action.startsWith('delivered to kube-proxy'))).toBeDefined();
    // The endpoint sees the node's address as the source: the packet leaving for a local pod comes from cni0's address.
    const local = t.branches.find((b) => b.endpoint === '10.244.1.5:8080')!;
    expect(local.final).toMatch(/^tcp 10\.244\.1\.1:\d+ -> 10\.244\.1\.5:8080$/);
  });
  it('with no endpoints the proxy closes the connection', () => {
    const empty = makeSimNode({
      ...base,
      userspace: [{ protocol: 'tcp', port: 36001, servicePortName: 'default/web:http', endpoints: [] }],
    });
    const t = tracePacket(empty, {
      src: ip('10.244.1.9'),
      dst: ip('10.96.0.20'),
      protocol: 'tcp',
      dport: 80,
      origin: { kind: 'interface', iface: 'cni0' },
    });
    expect(t.outcome).toBe('NO_ENDPOINTS');
  });
});
