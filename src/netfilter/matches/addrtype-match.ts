// -m addrtype: the routing type of the source or destination address (LOCAL is
// how kube-proxy finds NodePort traffic), optionally limited to one interface.
import type { AddrType, MatchExtension, MatchTest } from '../extension';

/** In the kernel's bit order, which is also the order iptables-save prints them in. */
export const ADDR_TYPES: readonly AddrType[] = [
  'UNSPEC',
  'UNICAST',
  'LOCAL',
  'BROADCAST',
  'ANYCAST',
  'MULTICAST',
  'BLACKHOLE',
  'UNREACHABLE',
  'PROHIBIT',
  'THROW',
  'NAT',
  'XRESOLVE',
];

export const addrtypeMatch: MatchExtension = {
  name: 'addrtype',
  options: [
    { name: '--src-type', args: 1, negatable: true },
    { name: '--dst-type', args: 1, negatable: true },
    { name: '--limit-iface-in', args: 0 },
    { name: '--limit-iface-out', args: 0 },
  ],
  compile(options) {
    const limitIn = options.some((o) => o.name === '--limit-iface-in');
    const limitOut = options.some((o) => o.name === '--limit-iface-out');
    const tests: MatchTest[] = [];
    for (const o of options) {
      if (o.name !== '--src-type' && o.name !== '--dst-type') continue;
      const types = (o.args[0] ?? '').split(',');
      for (const t of types) if (!(ADDR_TYPES as readonly string[]).includes(t)) return `unknown address type "${t}"`;
      const field = o.name === '--src-type' ? 'src' : 'dst';
      tests.push((p, env) => {
        const iface = limitIn ? p.inIface : limitOut ? p.outIface : null;
        return types.includes(env.addrType(p[field], iface)) !== o.negated;
      });
    }
    return { test: (p, env, flow) => tests.every((t) => t(p, env, flow)) };
  },
};
