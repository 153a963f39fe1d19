// -m statistic: kube-proxy's random split between endpoints. The engine follows
// both outcomes, weighting each by the probability the kernel would give it.
import { parseCDouble } from '../../net';
import type { MatchExtension } from '../extension';

/** The kernel keeps the probability as a 31-bit fraction (xt_statistic); that is the chance it really applies. */
export function quantizedProbability(p: number): number {
  return Math.round(p * 0x80000000) / 0x80000000;
}

export const statisticMatch: MatchExtension = {
  name: 'statistic',
  options: [
    { name: '--mode', args: 1 },
    { name: '--probability', args: 1, negatable: true },
    { name: '--every', args: 1, negatable: true },
    { name: '--packet', args: 1 },
  ],
  compile(options) {
    // The checks libxt_statistic makes, with its words and in its order: a mode it does not know as
    // it reads it; then its own check, for which no --mode is random mode; then --mode's being mandatory.
    const given = options.find((o) => o.name === '--mode')?.args[0];
    if (given !== undefined && given !== 'random' && given !== 'nth') return `Bad mode "${given}"`;
    const mode = given ?? 'random';
    const has = (name: string) => options.some((o) => o.name === name);
    if (has('--probability') && has('--every')) return 'option "--probability" cannot be used together with "--every".';
    if (has('--every') && !has('--packet')) return 'option "--every" also requires "--packet".';
    if (mode === 'random' && !has('--probability')) return '--probability must be specified when using random mode';
    if (given === undefined) return 'option "--mode" must be specified';
    if (mode === 'nth') {
      const every = Number(options.find((x) => x.name === '--every')?.args[0] ?? 0);
      const packet = Number(options.find((x) => x.name === '--packet')?.args[0] ?? 0);
      if (!(packet >= 0 && packet <= every - 1)) return 'the --packet p must be 0 <= p <= n-1';
    }
    if (mode === 'random') {
      const o = options.find((x) => x.name === '--probability');
      const text = o?.args[0] ?? '';
      const p = parseCDouble(text);
      if (!o || p === null || !(p >= 0 && p <= 1)) return `bad --probability "${text}"`;
      const q = quantizedProbability(p);
      return { probability: o.negated ? 1 - q : q };
    }
    // nth mode.
    const o = options.find((x) => x.name === '--every');
    const every = Number(o?.args[0]);
    if (!o || !Number.isInteger(every) || every < 1) return `bad --every "${o?.args[0] ?? ''}"`;
    // One packet in `every` matches; a full trace does not know where the counter stands, so it
    // reports the long-run share as the branch's probability (sampled packets run the counter).
    const packet = Number(options.find((x) => x.name === '--packet')?.args[0] ?? 0);
    return {
      probability: o.negated ? 1 - 1 / every : 1 / every,
      nth: { every, packet, invert: o.negated },
    };
  },
};
