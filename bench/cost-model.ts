// A per-packet cost model fitted to kernel measurements by least squares: time =
// base + per-rule × rules evaluated + per-set × set/map look-ups + per-conntrack ×
// conntrack look-ups, with the fit's error, so the modes table can show modeled
// latency next to the counts knetsim reports.

export interface CostSample {
  /** What knetsim counted for the packet. */
  readonly rules: number;
  readonly sets: number;
  readonly conntrack: number;
  /** What the kernel took, in microseconds. */
  readonly micros: number;
}

export interface CostModel {
  readonly baseMicros: number;
  readonly perRuleMicros: number;
  readonly perSetMicros: number;
  readonly perConntrackMicros: number;
  /** Root mean square of the residuals, in microseconds. */
  readonly rmsErrorMicros: number;
  /** Share of the variance the model explains (1 is a perfect fit). */
  readonly r2: number;
  readonly samples: number;
}

/** Solves A x = b (A square) by Gaussian elimination with partial pivoting; null when singular. */
export function solve(a: number[][], b: number[]): number[] | null {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i]!]);
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(m[r]![col]!) > Math.abs(m[pivot]![col]!)) pivot = r;
    if (Math.abs(m[pivot]![col]!) < 1e-12) return null;
    [m[col], m[pivot]] = [m[pivot]!, m[col]!];
    for (let r = 0; r < n; r++) {
      if (r === col) continue;
      const f = m[r]![col]! / m[col]![col]!;
      for (let c = col; c <= n; c++) m[r]![c]! -= f * m[col]![c]!;
    }
  }
  return m.map((row, i) => row[n]! / row[i]!);
}

type Term = 'rules' | 'sets' | 'conntrack';

/** Ordinary least squares with the base and these terms: coefficients and residual sum of squares. */
function ols(samples: readonly CostSample[], terms: readonly Term[]): { beta: number[]; ssRes: number } | null {
  const row = (s: CostSample) => [1, ...terms.map((t) => s[t])];
  const k = terms.length + 1;
  if (samples.length < k) return null;
  const xtx = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  const xty = new Array<number>(k).fill(0);
  for (const s of samples) {
    const x = row(s);
    for (let i = 0; i < k; i++) {
      xty[i]! += x[i]! * s.micros;
      for (let j = 0; j < k; j++) xtx[i]![j]! += x[i]! * x[j]!;
    }
  }
  const beta = solve(xtx, xty);
  if (!beta) return null;
  const ssRes = samples.reduce((sum, s) => sum + (s.micros - row(s).reduce((p, x, i) => p + x * beta[i]!, 0)) ** 2, 0);
  return { beta, ssRes };
}

/**
 * Least squares with the per-look-up costs kept non-negative (a rule or a look-up cannot
 * make a packet faster): every subset of the terms that vary in the samples is fitted,
 * and the best fit whose costs are all ≥ 0 wins; a term left out costs 0.
 */
export function fitCostModel(samples: readonly CostSample[]): CostModel | null {
  if (samples.length < 2) return null;
  const varying = (['rules', 'sets', 'conntrack'] as const).filter((t) => new Set(samples.map((s) => s[t])).size > 1);
  let best: { terms: Term[]; beta: number[]; ssRes: number } | null = null;
  for (let mask = 0; mask < 1 << varying.length; mask++) {
    const terms = varying.filter((_, i) => mask & (1 << i));
    const fit = ols(samples, terms);
    if (!fit || fit.beta.slice(1).some((c) => c < 0)) continue;
    if (!best || fit.ssRes < best.ssRes - 1e-12) best = { terms, ...fit };
  }
  if (!best) return null;
  const { terms, beta, ssRes } = best;
  const coef = (t: Term) => (terms.includes(t) ? beta[terms.indexOf(t) + 1]! : 0);
  const mean = samples.reduce((sum, x) => sum + x.micros, 0) / samples.length;
  const ssTot = samples.reduce((sum, x) => sum + (x.micros - mean) ** 2, 0);
  return {
    baseMicros: beta[0]!,
    perRuleMicros: coef('rules'),
    perSetMicros: coef('sets'),
    perConntrackMicros: coef('conntrack'),
    rmsErrorMicros: Math.sqrt(ssRes / samples.length),
    r2: ssTot === 0 ? 1 : 1 - ssRes / ssTot,
    samples: samples.length,
  };
}

/** The model's latency for a packet knetsim counted. */
export function modeledMicros(m: CostModel, c: { rules: number; sets: number; conntrack: number }): number {
  return m.baseMicros + m.perRuleMicros * c.rules + m.perSetMicros * c.sets + m.perConntrackMicros * c.conntrack;
}
