// -m icmp --icmp-type: ICMP type[/code] by number or by the names iptables knows.
import type { MatchExtension } from '../extension';

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
  'source-quench': [4, null],
  redirect: [5, null],
  'echo-request': [8, null],
  ping: [8, null],
  'time-exceeded': [11, null],
  'parameter-problem': [12, null],
  'timestamp-request': [13, null],
  'timestamp-reply': [14, null],
};

export const icmpMatch: MatchExtension = {
  name: 'icmp',
  implicitFor: 'icmp',
  options: [{ name: '--icmp-type', args: 1, negatable: true }],
  compile(options) {
    const o = options[0];
    if (!o) return { test: (p) => p.protocol === 'icmp' };
    let type: number;
    let code: number | null;
    const named = ICMP_TYPES[o.args[0] ?? ''];
    if (named) [type, code] = named;
    else {
      const m = /^(\d{1,3})(?:\/(\d{1,3}))?$/.exec(o.args[0] ?? '');
      if (!m) return `invalid ICMP type "${o.args[0]}"`;
      type = Number(m[1]);
      code = m[2] === undefined ? null : Number(m[2]);
    }
    // For ICMP the packet's sport/dport carry type and code.
    return {
      test: (p) =>
        p.protocol === 'icmp' &&
        (type === -1 || (p.sport === type && (code === null || p.dport === code))) !== o.negated,
    };
  },
};
