// -m multiport: up to 15 ports or ranges in one rule.
import type { MatchExtension } from '../extension';
import { parsePortRange } from '../values';

export const multiportMatch: MatchExtension = {
  name: 'multiport',
  options: [
    { name: '--sports', args: 1, negatable: true },
    { name: '--source-ports', args: 1, negatable: true },
    { name: '--dports', args: 1, negatable: true },
    { name: '--destination-ports', args: 1, negatable: true },
    { name: '--ports', args: 1, negatable: true },
  ],
  protocolFirst: {
    missing: "multiport needs `-p tcp', `-p udp', `-p udplite', `-p sctp' or `-p dccp'",
    wrong: (protocol) => protocol !== 'tcp' && protocol !== 'udp' && protocol !== 'sctp',
    wrongMessage: 'multiport only works with TCP, UDP, UDPLITE, SCTP and DCCP',
  },
  compile(options, facts) {
    if (!facts.protocol || facts.protocol === 'icmp')
      return "multiport needs `-p tcp', `-p udp', `-p udplite', `-p sctp' or `-p dccp'";
    const o = options[0];
    if (!o) return 'one of --sports, --dports or --ports is required';
    const ranges = (o.args[0] ?? '').split(',').map(parsePortRange);
    if (ranges.some((r) => r === null)) return `bad port list "${o.args[0]}"`;
    // Ranges count twice against the kernel's limit of 15 ports.
    if (ranges.reduce((n, r) => n + (r!.min === r!.max ? 1 : 2), 0) > 15) return 'too many ports specified';
    const inList = (port: number) => ranges.some((r) => port >= r!.min && port <= r!.max);
    const which = o.name;
    return {
      test: (p) => {
        const hit =
          which === '--ports'
            ? inList(p.sport) || inList(p.dport)
            : which.startsWith('--s')
              ? inList(p.sport)
              : inList(p.dport);
        return hit !== o.negated;
      },
    };
  },
};
