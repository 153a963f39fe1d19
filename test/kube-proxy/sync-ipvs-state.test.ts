// kube-proxy IPVS mode: a packet's way through the sets, IPVS and the masquerade rules
// (the reference cases run in test/examples/reference-cases.test.ts).
import { describe, expect, it } from 'vitest';
import { samplePackets, tracePacket } from '../../src/engine';
import { loadIptables } from '../../src/netfilter';
import { ip } from '../helpers/node-from-rules';
import { clusterYaml, nodeOf, serviceYaml } from '../helpers/scenario';

describe('IPVS mode on a node', () => {
  const yaml =
    clusterYaml().replace('mode: iptables', 'mode: ipvs') +
    serviceYaml({
      name: 'web',
      type: 'NodePort',
      clusterIP: '10.96.0.10',
      nodePort: 30080,
      extra: '  sessionAffinity: ClientIP',
      endpoints: [
        { ip: '10.244.1.5', node: 'node-1' },
        { ip: '10.244.2.5', node: 'node-2' },
      ],
    }) +
    serviceYaml({ name: 'empty', clusterIP: '10.96.0.11', endpoints: [] });
  const n = nodeOf(yaml);

  it('loads its rules and sets through the same parsers as a dump, and reloads its iptables-save', () => {
    expect(n.ipsetSave).toContain('add KUBE-CLUSTER-IP 10.96.0.10,tcp:80');
    expect(loadIptables(n.restore, 'again', n.netfilter).ok).toBe(true);
    expect(n.ipvs!.virtualServers.find((v) => v.port === 30080)).toMatchObject({
      address: '192.168.0.2',
      flags: ['persistent'],
      timeout: 10800,
    });
  });
  it('a pod to a ClusterIP: accepted by the sets, IPVS picks a real server (every one a branch)', () => {
    const t = tracePacket(n.node, {
      src: ip('10.244.1.9'),
      dst: ip('10.96.0.10'),
      protocol: 'tcp',
      dport: 80,
      origin: { kind: 'interface', iface: 'cni0' },
    });
    expect(t.endpoints.map((e) => [e.address, e.probability]).sort()).toEqual([
      ['10.244.1.5:80', 0.5],
      ['10.244.2.5:80', 0.5],
    ]);
    expect(t.hops.some((h) => h.stage === 'ipvs')).toBe(true);
    expect(t.masquerade).toBe(false);
    expect(t.cost.setLookups).toBeGreaterThan(0);
  });
  it('sampled packets each take one real server, drawn by weight', () => {
    const s = samplePackets(
      n.node,
      {
        src: ip('10.244.1.9'),
        dst: ip('10.96.0.10'),
        protocol: 'tcp',
        dport: 80,
        origin: { kind: 'interface', iface: 'cni0' },
      },
      2000,
      5,
    );
    expect(s.endpoints.map((e) => e.address).sort()).toEqual(['10.244.1.5:80', '10.244.2.5:80']);
    expect(s.endpoints.every((e) => Math.abs(e.count - 1000) < 150)).toBe(true);
  });
  it('an outside client to the NodePort is marked and masqueraded', () => {
    const t = tracePacket(n.node, {
      src: ip('203.0.113.9'),
      dst: ip('192.168.0.2'),
      protocol: 'tcp',
      dport: 30080,
      origin: { kind: 'interface', iface: 'eth0' },
    });
    expect(t.outcome).toBe('ACCEPT');
    expect(t.masquerade).toBe(true);
    expect(t.endpoints.length).toBe(2);
  });
  it('a virtual service with no real servers: NO_ENDPOINTS', () => {
    const t = tracePacket(n.node, {
      src: ip('10.244.1.9'),
      dst: ip('10.96.0.11'),
      protocol: 'tcp',
      dport: 80,
      origin: { kind: 'interface', iface: 'cni0' },
    });
    expect(t.outcome).toBe('NO_ENDPOINTS');
  });
  it('binds every ClusterIP to kube-ipvs0', () => {
    expect(n.network.devices.find((d) => d.name === 'kube-ipvs0')?.addresses.map((a) => a.address)).toEqual([
      '10.96.0.10',
      '10.96.0.11',
    ]);
  });
  it('the node itself to a ClusterIP: IPVS takes it at LOCAL_OUT, masqueraded out the real interface', () => {
    const t = tracePacket(n.node, {
      src: ip('192.168.0.2'),
      dst: ip('10.96.0.10'),
      protocol: 'tcp',
      dport: 80,
      origin: { kind: 'local' },
    });
    expect(t.outcome).toBe('ACCEPT');
    expect(t.masquerade).toBe(true);
    expect(t.branches.find((b) => b.endpoint === '10.244.2.5:80')!.final).toBe('tcp 10.244.1.0:40000 -> 10.244.2.5:80');
  });
});
