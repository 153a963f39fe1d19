// -m multiport: up to 15 ports or ranges in one rule.

import { SCTP_SERVICE_PORTS, TCP_SERVICE_PORTS, UDP_SERVICE_PORTS } from '../../net';
import type { MatchExtension } from '../extension';
import { parsePort } from '../values';

/** Each option by the name libxt_multiport's messages give it. */
const LONG_NAMES: Readonly<Record<string, string>> = {
  '--sports': '--source-ports',
  '--source-ports': '--source-ports',
  '--dports': '--destination-ports',
  '--destination-ports': '--destination-ports',
  '--ports': '--ports',
};

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
    // One list a rule (libxt_multiport: the three exclude one another).
    if (options.length > 1)
      return `option "${LONG_NAMES[options[1]!.name]}" cannot be used together with "${LONG_NAMES[o.name]}".`;
    // Port names in the rule's protocol's services (getservbyname(name, proto)).
    const names =
      facts.protocol === 'tcp' ? TCP_SERVICE_PORTS : facts.protocol === 'udp' ? UDP_SERVICE_PORTS : SCTP_SERVICE_PORTS;
    const ranges: { min: number; max: number }[] = [];
    for (const item of (o.args[0] ?? '').split(',')) {
      // Each item a port or FIRST:LAST with both ends and FIRST below LAST (not tcp's open ranges).
      const colon = item.indexOf(':');
      const minText = colon < 0 ? item : item.slice(0, colon);
      const maxText = colon < 0 ? item : item.slice(colon + 1);
      const min = parsePort(minText, names);
      const max = colon < 0 ? min : parsePort(maxText, names);
      if (min === null) return `invalid port/service \`${minText}' specified`;
      if (max === null) return `invalid port/service \`${maxText}' specified`;
      if (colon >= 0 && min >= max) return 'invalid portrange specified';
      ranges.push({ min, max });
    }
    // Ranges count twice against the kernel's limit of 15 ports.
    if (ranges.reduce((n, r) => n + (r.min === r.max ? 1 : 2), 0) > 15) return 'too many ports specified';
    const inList = (port: number) => ranges.some((r) => port >= r.min && port <= r.max);
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
