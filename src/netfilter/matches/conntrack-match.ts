// -m conntrack and the older -m state: the connection's state, NAT status,
// tuples and direction, as xt_conntrack reads them from the packet's entry.
import { ipProtocolNumber, PROTOCOL_NUMBERS, parseIPv4Prefix, prefixContains } from '../../net';
import type { MatchExtension, NfPacket, ParsedOption } from '../extension';
import { parsePortRange } from '../values';

const CT_STATES = ['INVALID', 'NEW', 'ESTABLISHED', 'RELATED', 'UNTRACKED', 'SNAT', 'DNAT'] as const;
const CT_STATUSES = ['NONE', 'EXPECTED', 'SEEN_REPLY', 'ASSURED', 'CONFIRMED'] as const;

function isDnat(p: NfPacket): boolean {
  const ct = p.ct;
  return ct !== null && (ct.reply.src !== ct.original.dst || ct.reply.sport !== ct.original.dport);
}

function isSnat(p: NfPacket): boolean {
  const ct = p.ct;
  return ct !== null && (ct.reply.dst !== ct.original.src || ct.reply.dport !== ct.original.sport);
}

/** Whether the packet is in one of the listed states; SNAT/DNAT are the virtual states of NATed connections. */
function stateMatches(states: readonly string[], p: NfPacket): boolean {
  const state = p.ct ? p.ct.state : p.untracked ? 'UNTRACKED' : 'INVALID';
  for (const s of states) {
    if (s === state) return true;
    if (s === 'DNAT' && isDnat(p)) return true;
    if (s === 'SNAT' && isSnat(p)) return true;
  }
  return false;
}

/** A comma list of keywords, which iptables reads in any letter case (strcasecmp); upper case as kept. */
function listOf(option: ParsedOption, allowed: readonly string[]): string[] | string {
  const values = (option.args[0] ?? '').toUpperCase().split(',');
  for (const v of values) if (!allowed.includes(v)) return `bad ${option.name.slice(2)} value "${v}"`;
  return values;
}

type Test = (p: NfPacket) => boolean;

function tupleTest(option: ParsedOption): Test | string {
  const arg = option.args[0] ?? '';
  const field = option.name.slice(4); // origsrc, origdst, replsrc, repldst (+port)
  const tupleOf = (p: NfPacket) => (field.startsWith('orig') ? p.ct?.original : p.ct?.reply);
  if (field.endsWith('port')) {
    const range = parsePortRange(arg);
    if (!range) return `bad port "${arg}"`;
    const key = field.includes('src') ? 'sport' : 'dport';
    return (p) => {
      const t = tupleOf(p);
      return t !== undefined && (t[key] >= range.min && t[key] <= range.max) !== option.negated;
    };
  }
  const prefix = parseIPv4Prefix(arg);
  if (!prefix) return `bad address "${arg}"`;
  const key = field.endsWith('src') ? 'src' : 'dst';
  return (p) => {
    const t = tupleOf(p);
    return t !== undefined && prefixContains(prefix, t[key]) !== option.negated;
  };
}

function compileConntrackOption(o: ParsedOption): Test | string {
  switch (o.name) {
    case '--ctstate': {
      const states = listOf(o, CT_STATES);
      if (typeof states === 'string') return states;
      return (p) => stateMatches(states, p) !== o.negated;
    }
    case '--ctstatus': {
      const statuses = listOf(o, CT_STATUSES);
      if (typeof statuses === 'string') return statuses;
      return (p) => {
        const ct = p.ct;
        const has = (s: string) =>
          ct !== null &&
          ((s === 'SEEN_REPLY' && ct.seenReply) ||
            (s === 'ASSURED' && ct.assured) ||
            (s === 'CONFIRMED' && ct.confirmed) ||
            (s === 'NONE' && !ct.seenReply && !ct.assured && !ct.confirmed));
        return statuses.some(has) !== o.negated;
      };
    }
    case '--ctproto': {
      // Any protocol iptables knows (gre, 47, all: 0), compared by number as xt_conntrack does.
      const number = ipProtocolNumber(o.args[0] ?? '');
      if (number === null) return `unknown protocol "${o.args[0]}"`;
      return (p) => p.ct !== null && (PROTOCOL_NUMBERS[p.ct.original.protocol] === number) !== o.negated;
    }
    case '--ctdir': {
      const dir = o.args[0]?.toUpperCase();
      if (dir !== 'ORIGINAL' && dir !== 'REPLY') return `bad --ctdir value "${dir}"`;
      return (p) => p.ct !== null && p.ct.direction === dir;
    }
    case '--ctexpire':
      return () => !o.negated;
    default:
      return tupleTest(o);
  }
}

export const conntrackMatch: MatchExtension = {
  name: 'conntrack',
  options: [
    { name: '--ctstate', args: 1, negatable: true },
    { name: '--ctstatus', args: 1, negatable: true },
    { name: '--ctproto', args: 1, negatable: true },
    { name: '--ctorigsrc', args: 1, negatable: true },
    { name: '--ctorigdst', args: 1, negatable: true },
    { name: '--ctreplsrc', args: 1, negatable: true },
    { name: '--ctrepldst', args: 1, negatable: true },
    { name: '--ctorigsrcport', args: 1, negatable: true },
    { name: '--ctorigdstport', args: 1, negatable: true },
    { name: '--ctreplsrcport', args: 1, negatable: true },
    { name: '--ctrepldstport', args: 1, negatable: true },
    { name: '--ctexpire', args: 1, negatable: true },
    { name: '--ctdir', args: 1 },
  ],
  compile(options) {
    if (options.length === 0) return 'At least one option is required';
    const tests: Test[] = [];
    let stateTest: Test | null = null;
    for (const o of options) {
      const t = compileConntrackOption(o);
      if (typeof t === 'string') return t;
      tests.push(t);
      if (o.name === '--ctstate') stateTest = t;
    }
    // One option (kube-proxy's "--ctstate X") is its own test, without the loop around it.
    if (tests.length === 1 && stateTest !== null) return { test: stateTest };
    const all: Test = tests.length === 1 ? tests[0]! : (p) => tests.every((t) => t(p));
    // xt_conntrack without a connection (INVALID or UNTRACKED): the state decides when the rule
    // asks for one, and no other option is looked at; without a state option the match fails.
    const byState = stateTest;
    if (byState === null) return { test: (p) => p.ct !== null && all(p) };
    return { test: (p) => (p.ct === null ? byState(p) : all(p)) };
  },
};

export const stateMatch: MatchExtension = {
  name: 'state',
  options: [{ name: '--state', args: 1, negatable: true }],
  compile(options) {
    const o = options[0];
    if (!o) return '--state is required';
    const states = listOf(o, ['INVALID', 'NEW', 'ESTABLISHED', 'RELATED', 'UNTRACKED']);
    if (typeof states === 'string') return states;
    return { test: (p) => stateMatches(states, p) !== o.negated };
  },
};
