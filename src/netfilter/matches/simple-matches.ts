// Small matches that look at one field: comment, mark, nfacct, limit, physdev.
import type { CompiledMatch, MatchExtension, NfPacket } from '../extension';
import { parseCNumber, parseMarkMask } from '../values';

/** What a comment compiles to: nothing to test; one object for every comment. */
const PASSES: CompiledMatch = {};

export const commentMatch: MatchExtension = {
  name: 'comment',
  options: [{ name: '--comment', args: 1 }],
  compile(options) {
    // --comment is mandatory; a longer text is cut to the 255 bytes the kernel stores (commentSaved).
    if (options.length === 0) return 'option "--comment" must be specified';
    return PASSES;
  },
};

/** --mark VALUE[/MASK] against a mark read from the packet (null: nothing to match, whatever the "!"). */
function markMatchOn(name: string, read: (p: NfPacket) => number | null): MatchExtension {
  return {
    name,
    options: [{ name: '--mark', args: 1, negatable: true }],
    compile(options) {
      const o = options[0];
      if (!o) return '--mark is required';
      const mm = parseMarkMask(o.args[0] ?? '');
      if (!mm) return `bad mark value "${o.args[0]}"`;
      const { value, mask } = mm;
      return {
        test: (p) => {
          const mark = read(p);
          return mark !== null && ((mark & mask) >>> 0 === value >>> 0) !== o.negated;
        },
      };
    },
  };
}

export const markMatch: MatchExtension = markMatchOn('mark', (p) => p.mark);

/** -m connmark: the connection's mark (set by CONNMARK); a packet without a connection never matches. */
export const connmarkMatch: MatchExtension = markMatchOn('connmark', (p) => (p.ct === null ? null : p.ct.mark));

const PACKET_TYPES: Readonly<Record<string, 'unicast' | 'broadcast' | 'multicast'>> = {
  unicast: 'unicast',
  host: 'unicast',
  broadcast: 'broadcast',
  multicast: 'multicast',
};

/**
 * -m pkttype: how the frame was addressed when the packet came in (a packet made on this host,
 * or looped back through lo, is unicast); knetsim has no link layer, so the IP destination decides.
 */
export const pkttypeMatch: MatchExtension = {
  name: 'pkttype',
  options: [{ name: '--pkt-type', args: 1, negatable: true }],
  compile(options) {
    const o = options[0];
    const want = PACKET_TYPES[o?.args[0] ?? ''];
    if (!o || !want) return `bad --pkt-type "${o?.args[0] ?? ''}" (unicast, broadcast or multicast)`;
    return {
      test: (p, env) => {
        let type: 'unicast' | 'broadcast' | 'multicast' = 'unicast';
        if (p.inIface !== null && p.inIface !== 'lo') {
          if (p.dst >>> 28 === 0xe) type = 'multicast';
          else if (env.addrType(p.dst, p.inIface) === 'BROADCAST') type = 'broadcast';
        }
        return (type === want) !== o.negated;
      },
    };
  },
};

/** nfacct counts the packets that reach it under a named accounting object and always passes. */
export const nfacctMatch: MatchExtension = {
  name: 'nfacct',
  options: [{ name: '--nfacct-name', args: 1 }],
  compile(options) {
    const name = options[0]?.args[0];
    if (!name) return '--nfacct-name is required';
    return {
      effect: (_p, _env, flow) => {
        const next = new Map(flow.nfacct);
        next.set(name, (next.get(name) ?? 0) + 1);
        flow.nfacct = next;
      },
    };
  },
};

/** "5/min" style rates; the first packets of a trace always fit in the burst, as with a fresh bucket. */
export const limitMatch: MatchExtension = {
  name: 'limit',
  options: [
    { name: '--limit', args: 1 },
    { name: '--limit-burst', args: 1 },
  ],
  compile(options) {
    for (const o of options) {
      if (o.name === '--limit' && !limitRate(o.args[0] ?? '')) return `bad rate "${o.args[0]}"`;
      if (o.name === '--limit-burst' && parseCNumber(o.args[0] ?? '', 10000) === null)
        return `bad --limit-burst "${o.args[0]}"`;
    }
    return {};
  },
};

/**
 * libxt_limit's rate: a count from 1 (at most 10,000 a second), and a unit that is any prefix of
 * second, minute, hour or day in any letter case (none: a second).
 */
const LIMIT_UNIT_SECONDS: ReadonlyArray<readonly [string, number]> = [
  ['second', 1],
  ['minute', 60],
  ['hour', 3600],
  ['day', 86400],
];

function limitRate(text: string): boolean {
  const m = /^(\d+)(?:\/([a-z]+))?$/i.exec(text);
  if (!m) return false;
  const unit = m[2]?.toLowerCase() ?? 'second';
  const seconds = LIMIT_UNIT_SECONDS.find(([u]) => u.startsWith(unit))?.[1];
  const count = Number(m[1]);
  // The kernel keeps the period between packets in 1/10,000 s: a rate whose period comes to 0 is refused.
  return seconds !== undefined && count >= 1 && Math.floor((10000 * seconds) / count) >= 1;
}

export const physdevMatch: MatchExtension = {
  name: 'physdev',
  options: [
    { name: '--physdev-in', args: 1, negatable: true },
    { name: '--physdev-out', args: 1, negatable: true },
    { name: '--physdev-is-in', args: 0, negatable: true },
    { name: '--physdev-is-out', args: 0, negatable: true },
    { name: '--physdev-is-bridged', args: 0, negatable: true },
  ],
  // xt_physdev: the output port is known only once a bridge has chosen it, so a rule testing it (other
  // than for bridged packets alone) cannot be reached from OUTPUT, where locally made packets start.
  hooksFor(options) {
    const out = options.some((o) => o.name === '--physdev-out' || o.name === '--physdev-is-out');
    const bridged = options.find((o) => o.name === '--physdev-is-bridged');
    return out && (!bridged || bridged.negated) ? ['PREROUTING', 'INPUT', 'FORWARD', 'POSTROUTING'] : undefined;
  },
  compile(options) {
    if (options.length === 0) return 'no physdev option specified';
    const tests = options.map((o) => {
      const name = o.args[0] ?? '';
      const ifaceMatches = (dev: string | null) => dev !== null && interfaceMatches(name, dev);
      switch (o.name) {
        case '--physdev-in':
          return (p: { physIn: string | null }) => ifaceMatches(p.physIn) !== o.negated;
        case '--physdev-out':
          return (p: { physOut: string | null }) => ifaceMatches(p.physOut) !== o.negated;
        case '--physdev-is-in':
          return (p: { physIn: string | null }) => (p.physIn !== null) !== o.negated;
        case '--physdev-is-out':
          return (p: { physOut: string | null }) => (p.physOut !== null) !== o.negated;
        default:
          return (p: { physIn: string | null; physOut: string | null }) =>
            (p.physIn !== null && p.physOut !== null) !== o.negated;
      }
    });
    return { test: (p) => tests.every((t) => t(p)) };
  },
};

/** Interface names as -i/-o/--physdev-in compare them: a trailing "+" is a prefix wildcard. */
export function interfaceMatches(pattern: string, device: string): boolean {
  return pattern.endsWith('+') ? device.startsWith(pattern.slice(0, -1)) : device === pattern;
}
