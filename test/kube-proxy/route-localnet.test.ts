// route_localnet as kube-proxy leaves it, and what the kernel does without it: a packet that
// arrives by a device addressed to (or from) 127/8 is a martian, dropped at the routing
// decision, unless kube-proxy turned route_localnet on for localhost NodePorts.
import { describe, expect, it } from 'vitest';
import { tracePacket } from '../../src/engine';
import { proxierSettings, routeLocalnetFor } from '../../src/kube-proxy';
import { nodeLocalState } from '../../src/model';
import { ip } from '../helpers/node-from-rules';
import { clusterYaml, nodeOf, scenarioOf, serviceYaml } from '../helpers/scenario';

const nodePortSvc = serviceYaml({
  name: 's',
  clusterIP: '10.96.0.5',
  type: 'NodePort',
  nodePort: 30080,
  endpoints: [{ ip: '10.244.2.5', node: 'node-2' }],
});

const fromOutsideTo127 = (proxy: Record<string, unknown>) =>
  tracePacket(nodeOf(clusterYaml(proxy) + nodePortSvc).node, {
    src: ip('203.0.113.9'),
    dst: ip('127.0.0.1'),
    protocol: 'tcp',
    dport: 8080,
    origin: { kind: 'interface', iface: 'eth0' },
  });

describe('route_localnet', () => {
  it('is on in iptables mode with localhost NodePorts, off without them or when nodePortAddresses leave out 127.0.0.1', () => {
    const setting = (mode: string, proxy: Record<string, unknown>) => {
      const scenario = scenarioOf(clusterYaml(proxy).replace('mode: iptables', `mode: ${mode}`));
      return routeLocalnetFor(
        scenario.cluster.proxy.mode,
        proxierSettings(scenario.cluster, nodeLocalState(scenario, 'node-1', 'IPv4').node),
      );
    };
    expect(setting('iptables', { localhostNodePorts: true })).toBe(true);
    expect(setting('iptables', { localhostNodePorts: false })).toBe(false);
    expect(setting('iptables', { localhostNodePorts: true, nodePortAddresses: ['192.168.0.0/24'] })).toBe(false);
    expect(setting('iptables', { localhostNodePorts: true, nodePortAddresses: ['127.0.0.0/8'] })).toBe(true);
    expect(setting('ipvs', {})).toBe(true);
    expect(setting('nftables', {})).toBe(false);
  });

  it('off: a packet from eth0 to 127.0.0.1 is a martian, dropped at routing before any INPUT rule', () => {
    const t = fromOutsideTo127({ localhostNodePorts: false });
    expect(t.outcome).toBe('NO_ROUTE');
    expect(t.branches[0]!.hops.some((h) => h.stage.startsWith('filter/INPUT'))).toBe(false);
  });

  it("on: it is routed to the node itself, where kubelet's KUBE-FIREWALL rule drops it", () => {
    const t = fromOutsideTo127({ localhostNodePorts: true });
    expect(t.outcome).toBe('DROP');
    expect(t.branches[0]!.hops.some((h) => h.stage === 'filter/INPUT')).toBe(true);
  });

  it('a locally generated packet to 127.0.0.1 is not a martian either way', () => {
    const n = nodeOf(clusterYaml({ localhostNodePorts: false }) + nodePortSvc);
    const t = tracePacket(n.node, {
      src: ip('127.0.0.1'),
      dst: ip('127.0.0.1'),
      protocol: 'tcp',
      dport: 30080,
      origin: { kind: 'local' },
    });
    expect(t.outcome).toBe('ACCEPT');
  });
});
