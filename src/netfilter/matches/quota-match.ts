// -m quota: a rule that passes packets while its byte quota lasts (xt_quota): each
// packet that fits takes its length off; the first that does not fit empties it, and
// nothing passes after. The quota is the rule's own: sampled packets use it up one
// after another; a full trace meets it as loaded.
import { parseCBigInt } from '../../net';
import type { MatchExtension, ParsedOption } from '../extension';

export function quotaOf(options: readonly ParsedOption[]): { bytes: bigint; negated: boolean } | string {
  const o = options[0];
  if (!o) return 'option "--quota" must be specified';
  const bytes = parseCBigInt(o.args[0] ?? '');
  if (bytes === null) return 'bad value for option "--quota", or out of range (0-18446744073709551615).';
  return { bytes, negated: o.negated };
}

export const quotaMatch: MatchExtension = {
  name: 'quota',
  options: [{ name: '--quota', args: 1, negatable: true }],
  compile(options) {
    const q = quotaOf(options);
    if (typeof q === 'string') return q;
    return {
      perRule: {
        initial: Number(q.bytes),
        test: (p, state) => {
          const left = state as number;
          const fits = left >= p.length;
          return { pass: fits !== q.negated, next: fits ? left - p.length : 0 };
        },
      },
    };
  },
};
