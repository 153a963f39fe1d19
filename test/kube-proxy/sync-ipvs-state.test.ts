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
    serviceYaml({ name: 'empty', clusterIP: '10.96.0.11', endpoints: [] }) +
    serviceYaml({
      name: 'rr',
      clusterIP: '10.96.0.12',
      endpoints: [
        { ip: '10.244.1.5', node: 'node-1' },
        { ip: '10.244.2.5', node: 'node-2' },
      ],
    });
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
  const sampleTo = (clusterIP: string, client: string, count: number) =>
    samplePackets(
      n.node,
      {
        src: ip(client),
        dst: ip(clusterIP),
        protocol: 'tcp',
        dport: 80,
        origin: { kind: 'interface', iface: 'cni0' },
      },
      count,
      5,
    ).endpoints.map((e) => [e.address, e.count]);
  it("sampled connections go round robin, as the kernel's rr scheduler hands them out", () => {
    expect(sampleTo('10.96.0.12', '10.244.1.9', 2000).sort()).toEqual([
      ['10.244.1.5:80', 1000],
      ['10.244.2.5:80', 1000],
    ]);
  });
  it("with ClientIP affinity (a persistent service) a client's connections all go where its template says", () => {
    const first = sampleTo('10.96.0.10', '10.244.1.9', 50);
    expect(first).toHaveLength(1);
    expect(first[0]![1]).toBe(50);
    // The same again: samplePackets starts from the node as built, so the same template is made.
    expect(sampleTo('10.96.0.10', '10.244.1.9', 50)).toEqual(first);
  });
  it('a sampled connection leaves its IPVS connection and template on the node; a full trace still shows every server', () => {
    const request = {
      src: ip('10.244.1.20'),
      dst: ip('10.96.0.10'),
      protocol: 'tcp' as const,
      dport: 80,
      origin: { kind: 'interface' as const, iface: 'cni0' },
    };
    const one = tracePacket(n.node, { ...request, sport: 41000, sample: () => 0.5 });
    const again = tracePacket(n.node, { ...request, sport: 41001, sample: () => 0.5 });
    expect(again.endpoints).toEqual(one.endpoints);
    expect(again.hops.find((h) => h.stage === 'ipvs' && h.action.includes('persistence: template'))).toBeDefined();
    expect(tracePacket(n.node, request).endpoints).toHaveLength(2);
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
      '10.96.0.12',
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
