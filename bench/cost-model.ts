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

/**
 * Least squares over the terms that vary in the samples (a term that is constant is
 * folded into the base and reported as 0): normal equations XᵀX β = Xᵀy.
 */
export function fitCostModel(samples: readonly CostSample[]): CostModel | null {
  if (samples.length < 2) return null;
  const terms = (['rules', 'sets', 'conntrack'] as const).filter((t) => new Set(samples.map((s) => s[t])).size > 1);
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
  const coef = (t: (typeof terms)[number]) => (terms.includes(t) ? beta[terms.indexOf(t) + 1]! : 0);
  const predict = (s: CostSample) => row(s).reduce((sum, x, i) => sum + x * beta[i]!, 0);
  const mean = samples.reduce((s, x) => s + x.micros, 0) / samples.length;
  const ssRes = samples.reduce((s, x) => s + (x.micros - predict(x)) ** 2, 0);
  const ssTot = samples.reduce((s, x) => s + (x.micros - mean) ** 2, 0);
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
