// Sampled packets take one path each: their frequencies follow the branch probabilities.
import { describe, expect, it } from 'vitest';
import { samplePackets, tracePacket } from '../../src/engine';
import { ip, nodeFromRules, table } from '../helpers/node-from-rules';

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
