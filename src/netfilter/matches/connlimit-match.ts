// -m connlimit: how many connections from (or to) one address or network the match has
// seen and conntrack still holds, this one included (xt_connlimit over nf_conncount):
// --connlimit-above N passes when there are more than N, --connlimit-upto N when there
// are at most N. The rule's list is its own: it starts empty, so in a full trace the
// packet's connection is the only one; sampled connections add to it one after another.
// Not modelled: the kernel forgets a connection that never got confirmed (a later rule
// dropped its packet) when it next looks, unless it was added within the same jiffy;
// knetsim keeps every connection it counted.
import { maskOf, tupleKey } from '../../net';
import { type MatchExtension, optionOf, type ParsedOption } from '../extension';
import { excludeEachOther, parseCNumber } from '../values';

export interface ConnlimitSpec {
  readonly limit: number;
  /** --connlimit-upto (or "! --connlimit-above"): at most `limit` passes. */
  readonly upto: boolean;
  /** Prefix length the key address is masked to (more than 32 is 32). */
  readonly mask: number;
  readonly byDestination: boolean;
}

export function connlimitSpec(options: readonly ParsedOption[]): ConnlimitSpec | string {
  const above = optionOf(options, '--connlimit-above');
  const upto = optionOf(options, '--connlimit-upto');
  const limits = excludeEachOther(options, '--connlimit-above', '--connlimit-upto');
  if (limits) return limits;
  const given = above ?? upto;
  if (!given) return 'You must specify "--connlimit-above" or "--connlimit-upto".';
  const daddr = optionOf(options, '--connlimit-daddr');
  const sides = excludeEachOther(options, '--connlimit-saddr', '--connlimit-daddr');
  if (sides) return sides;
  const limit = parseCNumber(given.args[0] ?? '', 0xffffffff);
  if (limit === null) return `bad value for option "${given.name}", or out of range (0-4294967295).`;
  const maskOption = optionOf(options, '--connlimit-mask');
  const mask = maskOption ? parseCNumber(maskOption.args[0] ?? '', 128) : 32;
  if (mask === null) return 'bad value for option "--connlimit-mask", or out of range (0-128).';
  // "!" turns one limit into the other.
  return {
    limit,
    upto: (given === upto) !== given.negated,
    mask: Math.min(mask, 32),
    byDestination: daddr !== undefined,
  };
}

/** The rule's connections by key address: each a connection's tuple. */
type Lists = ReadonlyMap<number, ReadonlySet<string>>;

export const connlimitMatch: MatchExtension = {
  name: 'connlimit',
  options: [
    { name: '--connlimit-upto', args: 1, negatable: true },
    { name: '--connlimit-above', args: 1, negatable: true },
    { name: '--connlimit-mask', args: 1 },
    { name: '--connlimit-saddr', args: 0 },
    { name: '--connlimit-daddr', args: 0 },
  ],
  compile(options) {
    const spec = connlimitSpec(options);
    if (typeof spec === 'string') return spec;
    const mask = maskOf(spec.mask);
    return {
      perRule: {
        initial: new Map() as Lists,
        test: (p, state) => {
          const lists = state as Lists;
          const key = ((spec.byDestination ? p.dst : p.src) & mask) >>> 0;
          // The connection as conntrack knows it (its original tuple), else the packet's own.
          const conn = tupleKey(p.ct?.original ?? p, p.ctZone);
          const list = lists.get(key);
          const counted = list?.has(conn) ? list : new Set([...(list ?? []), conn]);
          const next = counted === list ? lists : new Map([...lists, [key, counted]]);
          const over = counted.size > spec.limit;
          return { pass: over !== spec.upto, next };
        },
      },
    };
  },
};

/** The match as libxt_connlimit prints it: the limit, the mask, the address it counts by. */
export function connlimitText(spec: ConnlimitSpec): string {
  return ` --connlimit-${spec.upto ? 'upto' : 'above'} ${spec.limit} --connlimit-mask ${spec.mask} --connlimit-${spec.byDestination ? 'daddr' : 'saddr'}`;
}
