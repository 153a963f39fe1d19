// Connects iptables' -m set to the node's ipsets, counting look-ups as the
// kernel's cost.
import { type IpsetRegistry, matchSet } from '../ipset';
import { PROTOCOL_NUMBERS } from '../net';
import type { SetLookup } from './sim-node';

export function setLookupOf(registry: IpsetRegistry): SetLookup {
  return {
    get lookups() {
      return registry.stats.lookups;
    },
    has: (name) => registry.sets.has(name),
    test(name, flags, p) {
      const r = matchSet(registry, name, flags, {
        src: p.src,
        dst: p.dst,
        proto: PROTOCOL_NUMBERS[p.protocol],
        sport: p.sport,
        dport: p.dport,
        ...(p.protocol === 'icmp' ? { icmpType: p.sport, icmpCode: p.dport } : {}),
        laterFragment: p.fragment,
      });
      // The rules were checked against the sets when loaded, so a missing set here is a miss.
      return r.ok && r.value.member;
    },
  };
}
