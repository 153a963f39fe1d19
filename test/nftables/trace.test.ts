// Traces through a node in kube-proxy's nftables mode: outcomes, endpoints with
// their probabilities, masquerade, and hops that name each map look-up.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type SimNode, samplePackets, tracePacket } from '../../src/engine';
import { ip } from '../helpers/node-from-rules';
import { clusterYaml, nodeOf, serviceYaml } from '../helpers/scenario';

const objects =
  clusterYaml() +
  serviceYaml({
    name: 'web',
    clusterIP: '10.96.0.10',
    targetPort: 8080,
    endpoints: [
      { ip: '10.244.1.5', node: 'node-1' },
      { ip: '10.244.2.5', node: 'node-2' },
      { ip: '10.244.2.6', node: 'node-2' },
    ],
  }) +
  serviceYaml({
    name: 'lb',
    type: 'LoadBalancer',
    clusterIP: '10.96.0.11',
    nodePort: 30090,
    extra: '  externalTrafficPolicy: Local\n  loadBalancerSourceRanges: [203.0.113.0/25]',
    status: 'status: {loadBalancer: {ingress: [{ip: 198.51.100.9}]}}',
    endpoints: [
      { ip: '10.244.1.7', node: 'node-1' },
      { ip: '10.244.2.7', node: 'node-2' },
    ],
  }) +
  serviceYaml({ name: 'empty', clusterIP: '10.96.0.12', endpoints: [] });

const node: SimNode = nodeOf(objects.replace('mode: iptables', 'mode: nftables')).node;

function trace(from: string, to: string, kind: 'pod' | 'outside' | 'node' = 'pod', proto: 'tcp' | 'udp' = 'tcp') {
  const [dst, port] = to.split(':');
  return tracePacket(node, {
    src: ip(from),
    dst: ip(dst!),
    protocol: proto,
    dport: Number(port),
    origin: kind === 'node' ? { kind: 'local' } : { kind: 'interface', iface: kind === 'pod' ? 'cni0' : 'eth0' },
  });
}

describe('nftables-mode traces', () => {
  it('a cluster IP spreads over its endpoints with exact probabilities, naming the map element', () => {
    const t = trace('10.244.1.20', '10.96.0.10:80');
    expect(t.outcome).toBe('ACCEPT');
    const eps = t.endpoints.map((e) => [e.address, Number(e.probability.toFixed(6))]).sort();
    expect(eps).toEqual([
      ['10.244.1.5:8080', 0.333333],
      ['10.244.2.5:8080', 0.333333],
      ['10.244.2.6:8080', 0.333333],
    ]);
    expect(t.masquerade).toBe(false);
    const hops = JSON.stringify(t);
    expect(hops).toContain('10.96.0.10 . tcp . 80 matched @service-ips element 10.96.0.10 . tcp . 80 : goto service-');
    expect(hops).toContain('numgen random mod 3 = 0 (probability 1/3)');
  });
  it('rejects an unknown port of a cluster IP and drops an unallocated cluster IP', () => {
    expect(trace('10.244.1.20', '10.96.0.10:81').outcome).toBe('REJECT');
    expect(trace('10.244.1.20', '10.96.0.10:80', 'pod', 'udp').outcome).toBe('REJECT');
    expect(trace('10.244.1.20', '10.96.7.7:80').outcome).toBe('DROP');
  });
  it('rejects a service without endpoints', () => {
    expect(trace('10.244.1.20', '10.96.0.12:80').outcome).toBe('REJECT');
  });
  it('masquerades traffic from outside the pod network to a cluster IP', () => {
    const t = trace('203.0.113.2', '10.96.0.10:80', 'outside');
    expect(t.outcome).toBe('ACCEPT');
    expect(t.masquerade).toBe(true);
  });
  it('loadBalancerSourceRanges: allowed sources reach the local endpoint unmasqueraded, others are dropped', () => {
    const ok = trace('203.0.113.2', '198.51.100.9:80', 'outside');
    expect(ok.endpoints.map((e) => e.address)).toEqual(['10.244.1.7:80']);
    expect(ok.masquerade).toBe(false);
    expect(trace('203.0.113.130', '198.51.100.9:80', 'outside').outcome).toBe('DROP');
  });
  it('externalTrafficPolicy Local: outside to the NodePort reaches only the local endpoint; a pod reaches both', () => {
    const out = trace('203.0.113.2', '192.168.0.2:30090', 'outside');
    expect(out.endpoints.map((e) => e.address)).toEqual(['10.244.1.7:80']);
    expect(out.masquerade).toBe(false);
    const pod = trace('10.244.1.20', '192.168.0.2:30090');
    expect(pod.endpoints.map((e) => e.address).sort()).toEqual(['10.244.1.7:80', '10.244.2.7:80']);
  });
  it('the node itself to the NodePort is masqueraded and short-circuited to every endpoint', () => {
    const t = trace('192.168.0.2', '192.168.0.2:30090', 'node');
    expect(t.endpoints.map((e) => e.address).sort()).toEqual(['10.244.1.7:80', '10.244.2.7:80']);
    expect(t.masquerade).toBe(true);
  });
  it('sampled connections with ClientIP affinity: the first picks at random, the rest follow it', () => {
    const stickyYaml = (
      clusterYaml() +
      serviceYaml({
        name: 'sticky',
        clusterIP: '10.96.0.20',
        extra: '  sessionAffinity: ClientIP',
        endpoints: [
          { ip: '10.244.1.8', node: 'node-1' },
          { ip: '10.244.2.8', node: 'node-2' },
          { ip: '10.244.2.9', node: 'node-2' },
        ],
      })
    ).replace('mode: iptables', 'mode: nftables');
    const sticky = nodeOf(stickyYaml).node;
    const request = {
      src: ip('10.244.1.20'),
      dst: ip('10.96.0.20'),
      protocol: 'tcp' as const,
      dport: 80,
      origin: { kind: 'interface' as const, iface: 'cni0' },
    };
    // A trace starts with an empty affinity set: every endpoint is a branch.
    expect(tracePacket(nodeOf(stickyYaml).node, request).endpoints).toHaveLength(3);
    const r = samplePackets(sticky, request, 50, 3);
    expect(r.endpoints).toHaveLength(1);
    expect(r.endpoints[0]!.count).toBe(50);
    // The affinity set now remembers the client, as the kernel's would: a later trace follows it.
    expect(tracePacket(sticky, request).endpoints.map((e) => e.address)).toEqual([r.endpoints[0]!.address]);
    // Until the set's timeout (10800 s, the Service's stickiness) runs out.
    expect(tracePacket(sticky, { ...request, now: 1000 + 10800 }).endpoints).toHaveLength(3);
  });
});

// kube-proxy's nftables TestLoadBalancer expects of its packets what its iptables one does:
// the same example, switched to nftables mode, must agree flow for flow.
describe('TestLoadBalancer in nftables mode', () => {
  const dir = join(__dirname, '..', '..', '..', 'shared', 'examples', 'kube-proxy');
  const yaml = readFileSync(join(dir, 'TestLoadBalancer.yaml'), 'utf8').replace(/mode: \w+/, 'mode: nftables');
  const lb = nodeOf(yaml, 'test-node').node;
  const flows = JSON.parse(readFileSync(join(dir, 'TestLoadBalancer.flows.json'), 'utf8')) as {
    name: string;
    sourceIP: string;
    destIP: string;
    destPort: number;
    expectedVerdict: string;
    expectedEndpoints: string[] | null;
    masq: boolean;
  }[];
  for (const f of flows)
    it(f.name, () => {
      const src = ip(f.sourceIP);
      const local = lb.interfaces.some((i) => i.addresses.some((a) => a.address === src));
      const t = tracePacket(lb, {
        src,
        dst: ip(f.destIP),
        protocol: 'tcp',
        dport: f.destPort,
        origin: local ? { kind: 'local' } : { kind: 'interface', iface: 'eth0' },
      });
      expect(t.outcome).toBe(f.expectedVerdict);
      if (f.expectedVerdict !== 'ACCEPT') return;
      expect(t.endpoints.map((e) => e.address).sort()).toEqual([...(f.expectedEndpoints ?? [])].sort());
      expect(t.masquerade).toBe(f.masq);
    });
});
