// -m icmp --icmp-type: ICMP type[/code] by number or by the names iptables knows.
import type { MatchExtension } from '../extension';

/** libxt_icmp's names: type and code (null: any code; -1: any type). */
const ICMP_TYPES: Readonly<Record<string, [number, number | null]>> = {
  any: [-1, null],
  'echo-reply': [0, null],
  pong: [0, null],
  'destination-unreachable': [3, null],
  'network-unreachable': [3, 0],
  'host-unreachable': [3, 1],
  'protocol-unreachable': [3, 2],
  'port-unreachable': [3, 3],
  'fragmentation-needed': [3, 4],
  'source-route-failed': [3, 5],
  'network-unknown': [3, 6],
  'host-unknown': [3, 7],
  'network-prohibited': [3, 9],
  'host-prohibited': [3, 10],
  'TOS-network-unreachable': [3, 11],
  'TOS-host-unreachable': [3, 12],
  'communication-prohibited': [3, 13],
  'host-precedence-violation': [3, 14],
  'precedence-cutoff': [3, 15],
  'source-quench': [4, null],
  redirect: [5, null],
  'network-redirect': [5, 0],
  'host-redirect': [5, 1],
  'TOS-network-redirect': [5, 2],
  'TOS-host-redirect': [5, 3],
  'echo-request': [8, null],
  ping: [8, null],
  'router-advertisement': [9, null],
  'router-solicitation': [10, null],
  'time-exceeded': [11, null],
  'ttl-exceeded': [11, null],
  'ttl-zero-during-transit': [11, 0],
  'ttl-zero-during-reassembly': [11, 1],
  'parameter-problem': [12, null],
  'ip-header-bad': [12, 0],
  'required-option-missing': [12, 1],
  'timestamp-request': [13, null],
  'timestamp-reply': [14, null],
  'address-mask-request': [17, null],
  'address-mask-reply': [18, null],
};

/** An --icmp-type argument (a name, TYPE or TYPE/CODE) as type and code, or null. */
/** The names by their lower-case spelling ("TOS-host-redirect" is written with capitals in the table). */
const ICMP_TYPES_ANY_CASE = new Map(Object.entries(ICMP_TYPES).map(([name, t]) => [name.toLowerCase(), t]));

export function parseIcmpType(text: string): { type: number; code: number | null } | null {
  // Names in any letter case, as libxt_icmp compares them.
  const named = ICMP_TYPES_ANY_CASE.get(text.toLowerCase());
  if (named) return { type: named[0], code: named[1] };
  const m = /^(\d{1,3})(?:\/(\d{1,3}))?$/.exec(text);
  if (!m || Number(m[1]) > 255 || (m[2] !== undefined && Number(m[2]) > 255)) return null;
  return { type: Number(m[1]), code: m[2] === undefined ? null : Number(m[2]) };
}

export const icmpMatch: MatchExtension = {
  name: 'icmp',
  implicitFor: 'icmp',
  options: [{ name: '--icmp-type', args: 1, negatable: true }],
  compile(options) {
    const o = options[0];
    if (!o) return 'option "--icmp-type" must be specified';
    const parsed = parseIcmpType(o.args[0] ?? '');
    if (!parsed) return `invalid ICMP type "${o.args[0]}"`;
    const { type, code } = parsed;
    // For ICMP the packet's sport/dport carry type and code.
    return {
      test: (p) =>
        p.protocol === 'icmp' &&
        // Type 255 is the kernel's "any type" (libxt_icmp stores any as 0xFF), whatever code came with it.
        (type === -1 || type === 255 || (p.sport === type && (code === null || p.dport === code))) !== o.negated,
    };
  },
};
