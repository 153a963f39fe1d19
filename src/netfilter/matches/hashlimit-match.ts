// -m hashlimit: limit's token bucket kept per flow (per source address, port, ...),
// as firewall scripts use it against floods and scans.
import type { MatchExtension, ParsedOption } from '../extension';
import { parseCNumber } from '../values';

/** The hash keys libxt_hashlimit takes, in the order it prints them. */
export const HASHLIMIT_MODES = ['srcip', 'srcport', 'dstip', 'dstport'] as const;

/** Rates above this many a second are refused ("Rate too fast"), as the kernel's scale cannot hold them. */
const MAX_RATE_PER_SECOND = 1_000_000;

const UNIT_SECONDS: ReadonlyArray<readonly [string, number]> = [
  ['second', 1],
  ['minute', 60],
  ['hour', 3600],
  ['day', 86400],
];

/** A packet rate "N[/unit]" (unit: a prefix of second, minute, hour, day): its packets a second, or null. */
export function hashlimitRate(text: string): number | null {
  const m = /^(\d+)(?:\/([a-z]+))?$/i.exec(text);
  if (!m) return null;
  const unit = m[2]?.toLowerCase() ?? 'second';
  const seconds = UNIT_SECONDS.find(([u]) => u.startsWith(unit))?.[1];
  const count = Number(m[1]);
  if (seconds === undefined || count < 1) return null;
  return count / seconds;
}

const NUMBER_OPTIONS: Readonly<Record<string, readonly [number, number]>> = {
  '--hashlimit-burst': [1, 1_000_000],
  '--hashlimit-htable-size': [0, 0xffffffff],
  '--hashlimit-htable-max': [0, 0xffffffff],
  '--hashlimit-htable-gcinterval': [0, 0xffffffff],
  '--hashlimit-htable-expire': [0, 0xffffffff],
  '--hashlimit-srcmask': [0, 32],
  '--hashlimit-dstmask': [0, 32],
};

/** Whether the rule limits "up to" the rate (it matches while within it) or "above" it. */
export function hashlimitUpTo(options: readonly ParsedOption[]): boolean {
  const o = options.find(
    (x) => x.name === '--hashlimit-upto' || x.name === '--hashlimit' || x.name === '--hashlimit-above',
  );
  return o !== undefined && (o.name === '--hashlimit-above') === o.negated;
}

export const hashlimitMatch: MatchExtension = {
  name: 'hashlimit',
  options: [
    { name: '--hashlimit', args: 1, negatable: true },
    { name: '--hashlimit-upto', args: 1, negatable: true },
    { name: '--hashlimit-above', args: 1, negatable: true },
    { name: '--hashlimit-burst', args: 1 },
    { name: '--hashlimit-mode', args: 1 },
    { name: '--hashlimit-name', args: 1 },
    { name: '--hashlimit-htable-size', args: 1 },
    { name: '--hashlimit-htable-max', args: 1 },
    { name: '--hashlimit-htable-gcinterval', args: 1 },
    { name: '--hashlimit-htable-expire', args: 1 },
    { name: '--hashlimit-srcmask', args: 1 },
    { name: '--hashlimit-dstmask', args: 1 },
    { name: '--hashlimit-rate-match', args: 0 },
    { name: '--hashlimit-rate-interval', args: 1 },
  ],
  compile(options) {
    const limits = options.filter((o) => ['--hashlimit', '--hashlimit-upto', '--hashlimit-above'].includes(o.name));
    if (limits.length === 0) return 'You have to specify --hashlimit';
    if (limits.length > 1) return '--hashlimit-upto and --hashlimit-above cannot be used together';
    const rateText = limits[0]!.args[0]!;
    if (/b\//i.test(rateText) || /^\d+[kmg]?b/i.test(rateText))
      return `byte rates ("${rateText}") are not modelled by knetsim (packet rates are)`;
    const rate = hashlimitRate(rateText);
    if (rate === null) return `Bad value for "${limits[0]!.name}" option: "${rateText}"`;
    if (rate > MAX_RATE_PER_SECOND) return `Rate too fast "${rateText}"`;
    if (!options.some((o) => o.name === '--hashlimit-name')) return 'option "--hashlimit-name" must be specified';
    for (const o of options) {
      const range = NUMBER_OPTIONS[o.name];
      const n = range ? parseCNumber(o.args[0]!, range[1]) : null;
      if (range && (n === null || n < range[0]))
        return `bad value for option "${o.name}", or out of range (${range[0]}-${range[1]}).`;
      if (o.name === '--hashlimit-mode') {
        const bad = o.args[0]!.split(',').find((m) => !(HASHLIMIT_MODES as readonly string[]).includes(m));
        if (bad !== undefined) return `Invalid mode "${bad}" (srcip, srcport, dstip, dstport)`;
      }
      if (o.name === '--hashlimit-rate-match' || o.name === '--hashlimit-rate-interval')
        return `${o.name} (matching on the measured rate) is not modelled by knetsim`;
    }
    // A traced packet is the first of its flow: its bucket is full, so it is within any rate.
    const upTo = hashlimitUpTo(options);
    return { test: () => upTo };
  },
};
