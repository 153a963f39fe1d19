// kube-proxy's local-traffic detectors (pkg/proxy/util/localdetector.go): by cluster or node
// pod CIDR, by the pods' bridge (BridgeInterface) or by their interfaces' name prefix
// (InterfaceNamePrefix), in the iptables, IPVS and nftables rules, and in a trace.
import { describe, expect, it } from 'vitest';
import { tracePacket } from '../../src/engine';
import { parseIPv4 } from '../../src/net';
import { clusterYaml, nodeOf, serviceYaml } from '../helpers/scenario';
import { errorsOf } from '../model/load-helpers';

const web = serviceYaml({
  name: 'web',
  type: 'NodePort',
  nodePort: 30080,
  clusterIP: '10.96.0.20',
  targetPort: 8080,
  extra: '  externalTrafficPolicy: Local',
  endpoints: [{ ip: '10.244.1.7', node: 'node-1' }],
});

const scenario = (mode: string, detector: Record<string, unknown>) =>
  clusterYaml({ ...detector }).replace('mode: iptables', `mode: ${mode}`) + web;

describe('BridgeInterface and InterfaceNamePrefix', () => {
  it('iptables mode: "! -i cni0" / "-i veth+" where the CIDR detectors write "! -s CIDR"', () => {
    const bridge = nodeOf(scenario('iptables', { localDetector: 'BridgeInterface', bridgeInterface: 'cni0' })).restore;
    expect(bridge).toMatch(
      /^-A KUBE-SVC-\w+ -m comment --comment "default\/web:p cluster IP" -m tcp -p tcp -d 10\.96\.0\.20 --dport 80 ! -i cni0 -j KUBE-MARK-MASQ$/m,
    );
    expect(bridge).toMatch(
      /^-A KUBE-EXT-(\w+) -m comment --comment "pod traffic for default\/web:p external destinations" -i cni0 -j KUBE-SVC-\1$/m,
    );
    const prefix = nodeOf(
      scenario('iptables', { localDetector: 'InterfaceNamePrefix', interfaceNamePrefix: 'veth' }),
    ).restore;
    expect(prefix).toContain('--dport 80 ! -i veth+ -j KUBE-MARK-MASQ');
  });

  it("nftables mode: iifname, with nft's wildcard for the prefix", () => {
    const bridge = nodeOf(scenario('nftables', { localDetector: 'BridgeInterface', bridgeInterface: 'cni0' }));
    const tx = bridge.nft!.transaction;
    expect(tx).toContain('ip daddr 10.96.0.20 iifname != cni0 jump mark-for-masquerade');
    expect(tx).toContain('iifname cni0 goto service-');
    const prefix = nodeOf(scenario('nftables', { localDetector: 'InterfaceNamePrefix', interfaceNamePrefix: 'veth' }));
    expect(prefix.nft!.transaction).toContain('ip daddr 10.96.0.20 iifname != veth* jump mark-for-masquerade');
  });

  it('IPVS mode masquerades ClusterIP traffic not in on the bridge', () => {
    const ipvs = nodeOf(scenario('ipvs', { localDetector: 'BridgeInterface', bridgeInterface: 'cni0' })).restore;
    expect(ipvs).toContain(
      '-A KUBE-SERVICES -m comment --comment "Kubernetes service cluster ip + port for masquerade purpose" -m set --match-set KUBE-CLUSTER-IP dst,dst ! -i cni0 -j KUBE-MARK-MASQ',
    );
  });

  it('a trace: a pod in on cni0 is not masqueraded, a client in on eth0 is', () => {
    const node = nodeOf(scenario('iptables', { localDetector: 'BridgeInterface', bridgeInterface: 'cni0' })).node;
    const syn = (src: string, iface: string) =>
      tracePacket(node, {
        src: parseIPv4(src)!,
        dst: parseIPv4('10.96.0.20')!,
        protocol: 'tcp',
        dport: 80,
        origin: { kind: 'interface', iface },
      });
    expect(syn('10.244.1.5', 'cni0').masquerade).toBe(false);
    expect(syn('192.168.0.50', 'eth0').masquerade).toBe(true);
  });

  it('the interface is required, as kube-proxy validates it', () => {
    expect(errorsOf(clusterYaml({ localDetector: 'BridgeInterface' })).join('\n')).toContain(
      'spec.proxy.bridgeInterface: must not be empty when localDetector is BridgeInterface',
    );
  });
});
