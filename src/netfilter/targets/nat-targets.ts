// The NAT targets: DNAT, SNAT, MASQUERADE and REDIRECT. Only the nat table may
// hold them, and each only at the hooks the kernel allows.
import { scanIPv4 } from '../../net';
import type { NatRange, ParsedOption, TargetExtension } from '../extension';
import { parsePort, scanPort } from '../values';

/** "ADDR[-ADDR][:PORT[-PORT]]", the --to-destination / --to-source syntax. */
export function parseNatRange(text: string, needAddress: boolean): NatRange | null {
  const colon = text.indexOf(':');
  const addressEnd = colon < 0 ? text.length : colon;
  let minAddress: number | null = null;
  let maxAddress: number | null = null;
  if (addressEnd > 0) {
    const dash = text.indexOf('-');
    const split = dash >= 0 && dash < addressEnd ? dash : addressEnd;
    minAddress = scanIPv4(text, 0, split);
    maxAddress = split === addressEnd ? minAddress : scanIPv4(text, split + 1, addressEnd);
    if (minAddress === null || maxAddress === null || minAddress > maxAddress) return null;
  } else if (needAddress) return null;
  let minPort: number | null = null;
  let maxPort: number | null = null;
  if (colon >= 0) {
    const dash = text.indexOf('-', colon + 1);
    const split = dash < 0 ? text.length : dash;
    minPort = scanPort(text, colon + 1, split);
    maxPort = dash < 0 ? minPort : scanPort(text, dash + 1, text.length);
    if (minPort === null || maxPort === null || minPort > maxPort) return null;
  }
  return { minAddress, maxAddress, minPort, maxPort };
}

function portsOption(options: readonly ParsedOption[]): { minPort: number | null; maxPort: number | null } | string {
  const o = options.find((x) => x.name === '--to-ports');
  if (!o) return { minPort: null, maxPort: null };
  const [a, b] = (o.args[0] ?? '').split('-');
  const minPort = parsePort(a ?? '');
  const maxPort = b === undefined ? minPort : parsePort(b);
  if (minPort === null || maxPort === null || minPort > maxPort) return `bad port range "${o.args[0]}"`;
  return { minPort, maxPort };
}

function natTarget(name: 'DNAT' | 'SNAT', option: string, hooks: TargetExtension['hooks']): TargetExtension {
  return {
    name,
    tables: ['nat'],
    hooks,
    seldomRepeated: true,
    options: [
      { name: option, args: 1 },
      { name: '--random', args: 0 },
      { name: '--random-fully', args: 0 },
      { name: '--persistent', args: 0 },
    ],
    compile(options, facts) {
      const o = options.find((x) => x.name === option);
      if (!o) return `${name} needs ${option}`;
      const range = parseNatRange(o.args[0] ?? '', false);
      if (!range) return `bad IP address or range "${o.args[0]}"`;
      if (range.minPort !== null && facts.protocol !== 'tcp' && facts.protocol !== 'udp' && facts.protocol !== 'sctp')
        return 'need TCP, UDP, SCTP or DCCP with port specification';
      const random = options.some((x) => x.name === '--random' || x.name === '--random-fully');
      const persistent = options.some((x) => x.name === '--persistent');
      // Written out rather than spread: every endpoint of a kube-proxy dump has its own DNAT.
      const { minAddress, maxAddress, minPort, maxPort } = range;
      return name === 'DNAT'
        ? { kind: 'DNAT', minAddress, maxAddress, minPort, maxPort, random, persistent }
        : { kind: 'SNAT', minAddress, maxAddress, minPort, maxPort, random, persistent };
    },
  };
}

export const dnatTarget = natTarget('DNAT', '--to-destination', ['PREROUTING', 'OUTPUT']);
export const snatTarget = natTarget('SNAT', '--to-source', ['POSTROUTING', 'INPUT']);

export const masqueradeTarget: TargetExtension = {
  name: 'MASQUERADE',
  tables: ['nat'],
  hooks: ['POSTROUTING'],
  options: [
    { name: '--to-ports', args: 1 },
    { name: '--random', args: 0 },
    { name: '--random-fully', args: 0 },
  ],
  compile(options) {
    const ports = portsOption(options);
    if (typeof ports === 'string') return ports;
    return {
      kind: 'MASQUERADE',
      ...ports,
      randomFully: options.some((x) => x.name === '--random-fully'),
      random: options.some((x) => x.name === '--random'),
    };
  },
};

export const redirectTarget: TargetExtension = {
  name: 'REDIRECT',
  tables: ['nat'],
  hooks: ['PREROUTING', 'OUTPUT'],
  options: [
    { name: '--to-ports', args: 1 },
    { name: '--random', args: 0 },
  ],
  compile(options) {
    const ports = portsOption(options);
    if (typeof ports === 'string') return ports;
    return { kind: 'REDIRECT', ...ports };
  },
};
