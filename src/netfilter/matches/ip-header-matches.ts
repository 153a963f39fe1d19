// -m ttl, -m tos and -m dscp: the IP header's time to live and its TOS byte (the
// DSCP in its upper six bits, ECN in the lower two), as xt_ttl, xt_tos and xt_dscp
// read them. The values as libxt_ttl, libxt_tos and libxt_dscp take them.
import { type MatchExtension, optionOf, type ParsedOption } from '../extension';
import { excludeEachOther, outOfRange, parseCNumber } from '../values';

/** The TTL comparisons, by option: --ttl is libxt_ttl's other name for --ttl-eq. */
const TTL_TESTS: Readonly<Record<string, (ttl: number, value: number) => boolean>> = {
  '--ttl-eq': (ttl, value) => ttl === value,
  '--ttl': (ttl, value) => ttl === value,
  '--ttl-lt': (ttl, value) => ttl < value,
  '--ttl-gt': (ttl, value) => ttl > value,
};

export const ttlMatch: MatchExtension = {
  name: 'ttl',
  options: [
    { name: '--ttl-eq', args: 1, negatable: true },
    { name: '--ttl', args: 1, negatable: true },
    { name: '--ttl-lt', args: 1 },
    { name: '--ttl-gt', args: 1 },
  ],
  compile(options) {
    if (options.length === 0) return "You must specify one of `--ttl-eq', `--ttl-lt', `--ttl-gt'";
    if (options.length > 1) {
      const [first, second] = options;
      const name = (o: ParsedOption) => (o.name === '--ttl' ? '--ttl-eq' : o.name);
      return name(first!) === name(second!)
        ? `option "${name(second!)}" can only be used once.`
        : `option "${name(second!)}" cannot be used together with "${name(first!)}".`;
    }
    const o = options[0]!;
    const value = parseCNumber(o.args[0] ?? '', 255);
    if (value === null) return outOfRange(o.name, 0, 255);
    const test = TTL_TESTS[o.name]!;
    return { test: (p) => test(p.ttl, value) !== o.negated };
  },
};

/** xt_tos's symbolic values (libxt_tos: any letter case); each is tested under the mask 0x3f. */
const TOS_NAMES: ReadonlyMap<string, number> = new Map([
  ['minimize-cost', 0x02],
  ['maximize-reliability', 0x04],
  ['maximize-throughput', 0x08],
  ['minimize-delay', 0x10],
  ['normal-service', 0x00],
]);

/**
 * "VALUE[/MASK]" (numbers up to 0xff, the mask 0xff when absent) or a symbolic name (mask 0x3f), as
 * libxt_tos's tos_parse_symbolic reads --tos and --set-tos; a message when it is neither.
 */
export function parseTosValue(text: string): { value: number; mask: number } | string {
  const slash = text.indexOf('/');
  const value = parseCNumber(slash < 0 ? text : text.slice(0, slash), 0xff);
  if (value !== null) {
    if (slash < 0) return { value, mask: 0xff };
    const mask = parseCNumber(text.slice(slash + 1), 0xff);
    return mask === null ? `Illegal value: "${text}"` : { value, mask };
  }
  const named = TOS_NAMES.get(text.toLowerCase());
  return named === undefined ? `Symbolic name "${text}" is unknown` : { value: named, mask: 0x3f };
}

export const tosMatch: MatchExtension = {
  name: 'tos',
  options: [{ name: '--tos', args: 1, negatable: true }],
  compile(options) {
    const o = options[0];
    if (!o) return 'option "--tos" must be specified';
    const tos = parseTosValue(o.args[0] ?? '');
    if (typeof tos === 'string') return tos;
    return { test: (p) => ((p.tos & tos.mask) === tos.value) !== o.negated };
  },
};

/**
 * The DiffServ classes libxt_dscp knows, in its table's order: a class is found by the first name
 * the text starts with, in any letter case (strncasecmp over the name's length: "EFX" is EF).
 */
const DSCP_CLASSES: ReadonlyArray<readonly [string, number]> = [
  ['CS0', 0x00],
  ['CS1', 0x08],
  ['CS2', 0x10],
  ['CS3', 0x18],
  ['CS4', 0x20],
  ['CS5', 0x28],
  ['CS6', 0x30],
  ['CS7', 0x38],
  ['BE', 0x00],
  ['AF11', 0x0a],
  ['AF12', 0x0c],
  ['AF13', 0x0e],
  ['AF21', 0x12],
  ['AF22', 0x14],
  ['AF23', 0x16],
  ['AF31', 0x1a],
  ['AF32', 0x1c],
  ['AF33', 0x1e],
  ['AF41', 0x22],
  ['AF42', 0x24],
  ['AF43', 0x26],
  ['EF', 0x2e],
];

/** A DSCP class name's value, as libxt_dscp's class_to_dscp finds it; a message when none. */
export function dscpClass(text: string): number | string {
  const upper = text.toUpperCase();
  const found = DSCP_CLASSES.find(([name]) => upper.startsWith(name));
  return found === undefined ? `Invalid DSCP value \`${text}'` : found[1];
}

/**
 * The DSCP an option pair gives (a number up to 63, or a class), with the message libxt_dscp and
 * libxt_DSCP give when neither or both are there.
 */
export function dscpValue(
  options: readonly ParsedOption[],
  numberOption: string,
  classOption: string,
): { value: number; negated: boolean } | string {
  const number = optionOf(options, numberOption);
  const named = optionOf(options, classOption);
  const both = excludeEachOther(options, numberOption, classOption);
  if (both) return both;
  if (number) {
    const value = parseCNumber(number.args[0] ?? '', 63);
    return value === null ? outOfRange(number.name, 0, 63) : { value, negated: number.negated };
  }
  if (named) {
    const value = dscpClass(named.args[0] ?? '');
    return typeof value === 'string' ? value : { value, negated: named.negated };
  }
  return `Parameter ${numberOption} is required`;
}

export const dscpMatch: MatchExtension = {
  name: 'dscp',
  options: [
    { name: '--dscp', args: 1, negatable: true },
    { name: '--dscp-class', args: 1, negatable: true },
  ],
  compile(options) {
    const dscp = dscpValue(options, '--dscp', '--dscp-class');
    if (typeof dscp === 'string') return dscp;
    return { test: (p) => (p.tos >>> 2 === dscp.value) !== dscp.negated };
  },
};

/**
 * -m ecn: the IP header's ECN bits (--ecn-ip-ect 0-3) and the TCP header's ECE and CWR flags, which
 * no packet knetsim traces sets (a Linux SYN asks for no ECN by default).
 */
export const ecnMatch: MatchExtension = {
  name: 'ecn',
  options: [
    { name: '--ecn-tcp-cwr', args: 0, negatable: true },
    { name: '--ecn-tcp-ece', args: 0, negatable: true },
    { name: '--ecn-ip-ect', args: 1, negatable: true },
  ],
  compile(options, facts) {
    if (options.length === 0) return 'ECN match: some option required';
    const ip = optionOf(options, '--ecn-ip-ect');
    const tcp = options.filter((o) => o.name !== '--ecn-ip-ect');
    // The kernel takes the TCP tests only with -p tcp.
    if (tcp.length > 0 && facts.protocol !== 'tcp')
      return 'the TCP ECN flags need -p tcp (the kernel refuses the rule)';
    let ect: number | null = null;
    if (ip) {
      ect = parseCNumber(ip.args[0] ?? '', 3);
      if (ect === null) return outOfRange(ip.name, 0, 3);
    }
    return {
      test: (p) => {
        // ECE and CWR are never set: a test of them passes only negated.
        for (const o of tcp) if (!o.negated) return false;
        return ip === undefined || ((p.tos & 3) === ect) !== ip.negated;
      },
    };
  },
};

/** The match as libxt_ecn prints it: ECE, CWR, then the IP ECN value. */
export function ecnText(options: readonly ParsedOption[]): string {
  const part = (name: string, value = '') => {
    const o = optionOf(options, name);
    return o ? `${o.negated ? ' !' : ''} ${name}${value}` : '';
  };
  const ip = optionOf(options, '--ecn-ip-ect');
  return (
    part('--ecn-tcp-ece') +
    part('--ecn-tcp-cwr') +
    (ip ? part('--ecn-ip-ect', ` ${parseCNumber(ip.args[0] ?? '', 3)}`) : '')
  );
}
