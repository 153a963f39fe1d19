// The bench's least-squares cost model recovers the coefficients of exact data, folds
// constant terms into the base, and reports its error on noisy data.
import { describe, expect, it } from 'vitest';
import { fitCostModel, modeledMicros, solve } from '../../bench/cost-model';

describe('cost model', () => {
  it('solves a linear system', () => {
    expect(
      solve(
        [
          [2, 1],
          [1, 3],
        ],
        [3, 5],
      )!.map((x) => Number(x.toFixed(9))),
    ).toEqual([0.8, 1.4]);
    expect(
      solve(
        [
          [1, 2],
          [2, 4],
        ],
        [1, 2],
      ),
    ).toBeNull();
  });

  it('recovers exact coefficients; a term that never varies is folded into the base', () => {
    const samples = [10, 500, 1000, 5000, 10000].flatMap((rules) =>
      [0, 4].map((sets) => ({ rules, sets, conntrack: 1, micros: 3 + 0.02 * rules + 0.5 * sets })),
    );
    const m = fitCostModel(samples)!;
    expect(m.perRuleMicros).toBeCloseTo(0.02, 9);
    expect(m.perSetMicros).toBeCloseTo(0.5, 9);
    expect(m.perConntrackMicros).toBe(0);
    expect(m.baseMicros).toBeCloseTo(3, 9);
    expect(m.r2).toBeCloseTo(1, 9);
    expect(m.rmsErrorMicros).toBeLessThan(1e-9);
    expect(modeledMicros(m, { rules: 2000, sets: 4, conntrack: 1 })).toBeCloseTo(45, 6);
  });

  it('keeps per-look-up costs non-negative: a term that would come out negative is left out', () => {
    // Set look-ups only in the mode that is faster overall: plain least squares would give them a negative cost.
    const samples = [
      { rules: 16, sets: 0, conntrack: 1, micros: 20 },
      { rules: 516, sets: 0, conntrack: 1, micros: 36 },
      { rules: 1015, sets: 0, conntrack: 1, micros: 40 },
      { rules: 20, sets: 6, conntrack: 1, micros: 3 },
      { rules: 20, sets: 6, conntrack: 1, micros: 7 },
    ];
    const m = fitCostModel(samples)!;
    expect(m.perSetMicros).toBe(0);
    expect(m.perRuleMicros).toBeGreaterThanOrEqual(0);
    expect(m.r2).toBeLessThan(1);
  });

  it('reports the residual error of noisy data', () => {
    const noise = [0.3, -0.2, 0.1, -0.4, 0.2, 0.0];
    const samples = noise.map((e, i) => ({ rules: i * 1000, sets: 0, conntrack: 1, micros: 5 + 0.01 * i * 1000 + e }));
    const m = fitCostModel(samples)!;
    expect(m.perRuleMicros).toBeGreaterThan(0.009);
    expect(m.perRuleMicros).toBeLessThan(0.011);
    expect(m.rmsErrorMicros).toBeGreaterThan(0.1);
    expect(m.r2).toBeLessThan(1);
    expect(fitCostModel(samples.slice(0, 1))).toBeNull();
  });
});
