// -m quota: a rule that passes packets while its byte quota lasts (xt_quota): each
// packet that fits takes its length off; the first that does not fit empties it, and
// nothing passes after. The quota is the rule's own: sampled packets use it up one
// after another; a full trace meets it as loaded.
import type { MatchExtension, ParsedOption } from '../extension';

/** The quota in bytes as libxt_quota reads it (strtoull base 0, up to 2^64 - 1); null when bad. */
export function parseQuota(text: string): bigint | null {
  const m = /^(?:0[xX]([0-9a-fA-F]+)|0([0-7]*)|([1-9][0-9]*))$/.exec(text);
  if (!m) return null;
  const n = m[1] !== undefined ? BigInt(`0x${m[1]}`) : m[2] !== undefined ? BigInt(`0o${m[2] || '0'}`) : BigInt(m[3]!);
  return n <= 0xffffffffffffffffn ? n : null;
}

export function quotaOf(options: readonly ParsedOption[]): { bytes: bigint; negated: boolean } | string {
  const o = options[0];
  if (!o) return 'option "--quota" must be specified';
  const bytes = parseQuota(o.args[0] ?? '');
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
