// Targets that end the packet's walk: ACCEPT, DROP, RETURN and REJECT.
import type { TargetExtension } from '../extension';

export const acceptTarget: TargetExtension = { name: 'ACCEPT', options: [], compile: () => ({ kind: 'ACCEPT' }) };
export const dropTarget: TargetExtension = { name: 'DROP', options: [], compile: () => ({ kind: 'DROP' }) };
export const returnTarget: TargetExtension = { name: 'RETURN', options: [], compile: () => ({ kind: 'RETURN' }) };

const REJECT_WITH = [
  'icmp-net-unreachable',
  'icmp-host-unreachable',
  'icmp-port-unreachable',
  'icmp-proto-unreachable',
  'icmp-net-prohibited',
  'icmp-host-prohibited',
  'icmp-admin-prohibited',
  'tcp-reset',
];
const REJECT_ALIASES: Readonly<Record<string, string>> = {
  'net-unreach': 'icmp-net-unreachable',
  'host-unreach': 'icmp-host-unreachable',
  'port-unreach': 'icmp-port-unreachable',
  'proto-unreach': 'icmp-proto-unreachable',
  'net-prohib': 'icmp-net-prohibited',
  'host-prohib': 'icmp-host-prohibited',
  'admin-prohib': 'icmp-admin-prohibited',
  'tcp-rst': 'tcp-reset',
};

export const rejectTarget: TargetExtension = {
  name: 'REJECT',
  options: [{ name: '--reject-with', args: 1 }],
  // ipt_REJECT registers for the filter table alone.
  tables: ['filter'],
  hooks: ['INPUT', 'FORWARD', 'OUTPUT'],
  compile(options, facts) {
    // Names in any letter case, as libipt_REJECT compares them.
    const given = options[0]?.args[0] ?? 'icmp-port-unreachable';
    const lower = given.toLowerCase();
    const rejectWith = REJECT_ALIASES[lower] ?? lower;
    if (!REJECT_WITH.includes(rejectWith)) return `unknown reject type "${given}"`;
    if (rejectWith === 'tcp-reset' && facts.protocol !== 'tcp') return 'TCP RST can only be used with -p tcp';
    return { kind: 'REJECT', rejectWith };
  },
};
