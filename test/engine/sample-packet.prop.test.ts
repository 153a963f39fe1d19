// samplePacket (what `trace --sample` counts) must say what tracePacket says for the same
// packet and the same draws: it only leaves out the text. Two copies of one node are fed the
// same connections one after another, so what earlier ones leave (affinity, recent lists,
// nth counters, IPVS connections) evolves alike on both.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { samplePacket, seededRandom, type TraceRequest, tracePacket } from '../../src/engine';
import { ip } from '../helpers/node-from-rules';
import { clusterYaml, nodeOf, serviceYaml } from '../helpers/scenario';

function cluster(mode: string): string {
  return (
    clusterYaml().replace('mode: iptables', `mode: ${mode}`) +
    serviceYaml({
      name: 'web',
      type: 'NodePort',
      clusterIP: '10.96.0.10',
      nodePort: 30080,
      endpoints: [
        { ip: '10.244.1.5', node: 'node-1' },
        { ip: '10.244.1.6', node: 'node-1' },
        { ip: '10.244.2.5', node: 'node-2' },
      ],
    }) +
    serviceYaml({
      name: 'sticky',
      clusterIP: '10.96.0.20',
      extra: '  sessionAffinity: ClientIP',
      endpoints: [
        { ip: '10.244.1.7', node: 'node-1' },
        { ip: '10.244.2.7', node: 'node-2' },
      ],
    }) +
    serviceYaml({
      name: 'local',
      type: 'NodePort',
      clusterIP: '10.96.0.30',
      nodePort: 30090,
      extra: '  externalTrafficPolicy: Local',
      endpoints: [{ ip: '10.244.2.8', node: 'node-2' }],
    }) +
    serviceYaml({ name: 'empty', clusterIP: '10.96.0.40', endpoints: [] })
  );
}

const SOURCES = [
  { src: '10.244.1.9', origin: { kind: 'interface', iface: 'cni0' } },
  { src: '10.244.1.5', origin: { kind: 'interface', iface: 'cni0' } },
  { src: '203.0.113.7', origin: { kind: 'interface', iface: 'eth0' } },
  { src: '192.168.0.2', origin: { kind: 'local' } },
] as const;

const DESTINATIONS = [
  { dst: '10.96.0.10', dport: 80 },
  { dst: '10.96.0.20', dport: 80 },
  { dst: '10.96.0.30', dport: 80 },
  { dst: '10.96.0.40', dport: 80 },
  { dst: '192.168.0.2', dport: 30080 },
  { dst: '192.168.0.2', dport: 30090 },
  { dst: '10.244.2.5', dport: 80 },
] as const;

const connection = fc.record({
  from: fc.integer({ min: 0, max: SOURCES.length - 1 }),
  to: fc.integer({ min: 0, max: DESTINATIONS.length - 1 }),
  sport: fc.integer({ min: 1024, max: 65535 }),
  protocol: fc.constantFrom('tcp' as const, 'udp' as const),
});

describe('samplePacket agrees with tracePacket on the same draws', () => {
  for (const mode of ['iptables', 'nftables', 'ipvs'])
    it(`${mode}: outcome, endpoints, masquerade and rules evaluated, connection after connection`, () => {
      const yaml = cluster(mode);
      fc.assert(
        fc.property(fc.array(connection, { minLength: 1, maxLength: 12 }), fc.nat(), (connections, seed) => {
          const lean = nodeOf(yaml).node;
          const full = nodeOf(yaml).node;
          const drawLean = seededRandom(seed);
          const drawFull = seededRandom(seed);
          for (const c of connections) {
            const from = SOURCES[c.from]!;
            const to = DESTINATIONS[c.to]!;
            const request: TraceRequest = {
              src: ip(from.src),
              dst: ip(to.dst),
              dport: to.dport,
              sport: c.sport,
              protocol: c.protocol,
              origin: from.origin,
              commit: true,
            };
            const sampled = samplePacket(lean, request, drawLean);
            const traced = tracePacket(full, { ...request, recordHops: false, sample: drawFull });
            expect(sampled).toEqual({
              outcome: traced.outcome,
              endpoints: traced.endpoints.map((e) => e.address),
              masquerade: traced.masquerade,
              rulesEvaluated: traced.cost.rulesEvaluated,
            });
          }
        }),
        { numRuns: 40 },
      );
    });
});
