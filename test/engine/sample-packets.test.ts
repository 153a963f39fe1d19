// Sampled packets take one path each: their frequencies follow the branch probabilities.
import { describe, expect, it } from 'vitest';
import { samplePackets, seededRandom, tracePacket } from '../../src/engine';
import { ip, nodeFromRules, table } from '../helpers/node-from-rules';
import { clusterYaml, nodeOf, serviceYaml } from '../helpers/scenario';

const node = nodeFromRules(
  table('nat', [
    '-A PREROUTING -p tcp -m statistic --mode random --probability 0.2000000000 -j DNAT --to-destination 10.0.0.1:80',
    '-A PREROUTING -p tcp -m statistic --mode random --probability 0.5000000000 -j DNAT --to-destination 10.0.0.2:80',
    '-A PREROUTING -p tcp -j DNAT --to-destination 10.0.0.3:80',
  ]),
);
const request = {
  src: ip('10.244.1.5'),
  dst: ip('10.96.0.5'),
  protocol: 'tcp' as const,
  dport: 80,
  origin: { kind: 'interface' as const, iface: 'cni0' },
};

describe('sampling', () => {
  it('draws each endpoint about as often as the full trace says (chi-square, seeded)', () => {
    const expected = new Map(tracePacket(node, request).endpoints.map((e) => [e.address, e.probability]));
    const n = 20_000;
    const s = samplePackets(node, request, n, 7);
    expect(s.outcomes).toEqual({ ACCEPT: n });
    expect(new Set(s.endpoints.map((e) => e.address))).toEqual(new Set(expected.keys()));
    const chi2 = s.endpoints.reduce((sum, e) => {
      const want = n * expected.get(e.address)!;
      return sum + (e.count - want) ** 2 / want;
    }, 0);
    // Two degrees of freedom: 13.8 is the 0.1% critical value.
    expect(chi2).toBeLessThan(13.8);
  });
  it('is repeatable for a seed', () => {
    expect(samplePackets(node, request, 500, 3)).toEqual(samplePackets(node, request, 500, 3));
  });
  it("a sampled packet's cost is the rules on the path it took, not that path's share of them", () => {
    // A draw of 0.9 misses the first two statistic rules: all three rules are evaluated.
    expect(tracePacket(node, { ...request, sample: () => 0.9 }).cost.rulesEvaluated).toBe(3);
    // A draw of 0.1 takes the first: one rule.
    expect(tracePacket(node, { ...request, sample: () => 0.1 }).cost.rulesEvaluated).toBe(1);
    // Every branch: the expectation, 0.2·1 + 0.4·2 + 0.4·3.
    expect(tracePacket(node, request).cost.rulesEvaluated).toBeCloseTo(2.2, 9);
  });
});

describe('sampled packets are connections one after another: ClientIP affinity holds across them', () => {
  const affinity = (mode: string) =>
    nodeOf(
      clusterYaml().replace('mode: iptables', `mode: ${mode}`) +
        serviceYaml({
          name: 'sticky',
          clusterIP: '10.96.0.20',
          extra: '  sessionAffinity: ClientIP',
          endpoints: [
            { ip: '10.244.1.5', node: 'node-1' },
            { ip: '10.244.1.6', node: 'node-1' },
            { ip: '10.244.2.5', node: 'node-2' },
          ],
        }),
    ).node;
  const from = (client: string) => ({
    src: ip(client),
    dst: ip('10.96.0.20'),
    protocol: 'tcp' as const,
    dport: 80,
    origin: { kind: 'interface' as const, iface: 'cni0' },
  });
  for (const mode of ['iptables', 'nftables', 'ipvs'])
    it(`${mode}: every connection of one client goes to the endpoint its first one drew`, () => {
      const n = affinity(mode);
      const s = samplePackets(n, from('10.244.1.9'), 200, 11);
      expect(s.outcomes).toEqual({ ACCEPT: 200 });
      expect(s.endpoints).toHaveLength(1);
      // Other clients, one connection each after it, spread over the endpoints: affinity is per client.
      const draw = seededRandom(5);
      const firsts = new Set(
        Array.from(
          { length: 30 },
          (_, i) => tracePacket(n, { ...from(`10.244.1.${30 + i}`), sample: draw }).endpoints[0]!.address,
        ),
      );
      expect(firsts.size).toBeGreaterThan(1);
    });
  it('iptables: without the earlier connections (a full trace) every endpoint is still possible', () => {
    const n = affinity('iptables');
    samplePackets(n, from('10.244.1.9'), 20, 3);
    expect(tracePacket(n, from('10.244.1.9')).endpoints).toHaveLength(3);
  });
});

describe('sampled packets run nth counters as the kernel does', () => {
  it('--every 3 --packet 0 drops the 1st, 4th and 7th of seven connections; a full trace shows the share', () => {
    const n = nodeFromRules(
      '*filter\n:FORWARD ACCEPT [0:0]\n-A FORWARD -p tcp -m statistic --mode nth --every 3 --packet 0 -j DROP\nCOMMIT\n',
    );
    const request = {
      src: ip('10.244.1.5'),
      dst: ip('8.8.8.8'),
      protocol: 'tcp',
      dport: 80,
      origin: { kind: 'interface', iface: 'cni0' },
    } as const;
    const draw = seededRandom(5);
    const outcomes = Array.from(
      { length: 7 },
      (_, i) => tracePacket(n, { ...request, sport: 40000 + i, sample: draw }).outcome,
    );
    expect(outcomes).toEqual(['DROP', 'ACCEPT', 'ACCEPT', 'DROP', 'ACCEPT', 'ACCEPT', 'DROP']);
    const full = tracePacket(n, request);
    expect(full.branches.find((b) => b.outcome === 'DROP')!.probability).toBeCloseTo(1 / 3, 12);
    expect(samplePackets(n, request, 6).outcomes).toEqual({ DROP: 2, ACCEPT: 4 });
  });
});
