// Random scenarios for the kernel oracle: Services of every type and policy with
// 0-5 endpoints (local or remote; ready, terminating or not ready), affinity,
// source ranges and external IPs; and packets aimed at them from a pod, the
// node and outside clients.
import fc from 'fast-check';
import type { ScenarioNode } from '../../src/engine';
import { clusterYaml, type EndpointSpec, serviceYaml } from '../helpers/scenario';
import type { KernelPacket } from './kernel-node';

const endpointArb = fc.record({
  local: fc.boolean(),
  state: fc.constantFrom('ready', 'ready', 'ready', 'terminating', 'notready'),
});

export const serviceArb = fc.record({
  type: fc.constantFrom('ClusterIP', 'NodePort', 'LoadBalancer'),
  protocol: fc.constantFrom('TCP', 'UDP'),
  etpLocal: fc.boolean(),
  itpLocal: fc.boolean(),
  affinity: fc.boolean(),
  externalIP: fc.boolean(),
  sourceRanges: fc.boolean(),
  endpoints: fc.array(endpointArb, { minLength: 0, maxLength: 5 }),
});

export type RandomService = typeof serviceArb extends fc.Arbitrary<infer T> ? T : never;

/** A scenario of two nodes with these Services (svc<i> at 10.96.0.<10+i>, NodePort 30000+i). */
export function scenarioYamlOf(services: readonly RandomService[], mode: string): string {
  let yaml = clusterYaml({
    nfacctCounters: ['ct_state_invalid_dropped_pkts', 'localhost_nps_accepted_pkts'],
  }).replace('mode: iptables', `mode: ${mode}`);
  services.forEach((s, i) => {
    const endpoints: EndpointSpec[] = s.endpoints.map((e, k) => ({
      ip: `10.244.${e.local ? 1 : 2}.${10 + i * 10 + k}`,
      node: e.local ? 'node-1' : 'node-2',
      ...(e.state === 'terminating'
        ? { ready: false, serving: true, terminating: true }
        : e.state === 'notready'
          ? { ready: false, serving: false, terminating: false }
          : {}),
    }));
    const extra = [
      s.type !== 'ClusterIP' && s.etpLocal ? '  externalTrafficPolicy: Local' : '',
      s.itpLocal ? '  internalTrafficPolicy: Local' : '',
      s.affinity ? '  sessionAffinity: ClientIP' : '',
      s.externalIP ? `  externalIPs: [192.0.2.${10 + i}]` : '',
      s.type === 'LoadBalancer' && s.sourceRanges ? '  loadBalancerSourceRanges: [203.0.113.0/25]' : '',
      s.type === 'LoadBalancer' && s.etpLocal ? `  healthCheckNodePort: ${32000 + i}` : '',
    ]
      .filter(Boolean)
      .join('\n');
    yaml += serviceYaml({
      name: `svc${i}`,
      type: s.type,
      clusterIP: `10.96.0.${10 + i}`,
      port: 80 + i,
      targetPort: 8080,
      protocol: s.protocol,
      ...(s.type !== 'ClusterIP' ? { nodePort: 30000 + i } : {}),
      extra,
      ...(s.type === 'LoadBalancer'
        ? { status: `status: {loadBalancer: {ingress: [{ip: 198.51.100.${10 + i}}]}}` }
        : {}),
      endpoints,
    });
  });
  return yaml;
}

export const scenarioArb = fc
  .tuple(
    fc.array(serviceArb, { minLength: 1, maxLength: 4 }),
    fc.constantFrom('iptables', 'iptables', 'ipvs', 'userspace'),
  )
  .map(([services, mode]) => scenarioYamlOf(services, mode));

const SOURCES: { from: KernelPacket['from']; src: string }[] = [
  { from: 'pod', src: '10.244.1.100' },
  { from: 'node', src: '192.168.0.2' },
  { from: 'outside', src: '203.0.113.9' },
  { from: 'outside', src: '203.0.113.200' },
];

/** About ten packets at a scenario's services, chosen from the seed. */
export function packetsFor(sn: ScenarioNode, seed: number): KernelPacket[] {
  let s = seed >>> 0 || 1;
  const pick = <T>(list: readonly T[]): T => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return list[s % list.length]!;
  };
  const targets: { dst: string; dport: number; protocol: 'tcp' | 'udp' }[] = [];
  for (const svc of sn.localState.servicePorts) {
    const protocol = svc.protocol === 'UDP' ? 'udp' : 'tcp';
    targets.push(
      { dst: svc.clusterIP, dport: svc.port, protocol },
      { dst: svc.clusterIP, dport: svc.port + 1000, protocol },
    );
    if (svc.nodePort) targets.push({ dst: '192.168.0.2', dport: svc.nodePort, protocol });
    for (const ip of svc.externalIPs) targets.push({ dst: ip, dport: svc.port, protocol });
    for (const ip of svc.loadBalancerIPs) targets.push({ dst: ip, dport: svc.port, protocol });
    const ep = svc.endpoints[0];
    if (ep) targets.push({ dst: ep.ip, dport: ep.port, protocol });
  }
  return Array.from({ length: 10 }, (_, i) => ({ ...pick(SOURCES), ...pick(targets), sport: 42000 + i }));
}
