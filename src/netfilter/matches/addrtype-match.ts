// -m addrtype: the routing type of the source or destination address (LOCAL is
// how kube-proxy finds NodePort traffic), optionally limited to one interface;
// and -m rpfilter, the reverse-path check routing makes of a packet's source.
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
  // xt_addrtype: the incoming interface is known up to FORWARD, the outgoing from FORWARD on.
  hooksFor(options) {
    if (options.some((o) => o.name === '--limit-iface-in')) return ['PREROUTING', 'INPUT', 'FORWARD'];
    if (options.some((o) => o.name === '--limit-iface-out')) return ['FORWARD', 'OUTPUT', 'POSTROUTING'];
    return undefined;
  },
  compile(options) {
    const limitIn = options.some((o) => o.name === '--limit-iface-in');
    const limitOut = options.some((o) => o.name === '--limit-iface-out');
    // libxt_addrtype's checks, with its words.
    if (!options.some((o) => o.name === '--src-type' || o.name === '--dst-type'))
      return 'you must specify --src-type or --dst-type';
    if (limitIn && limitOut) return "you can't specify both --limit-iface-in and --limit-iface-out";
    const tests: MatchTest[] = [];
    for (const o of options) {
      if (o.name !== '--src-type' && o.name !== '--dst-type') continue;
      // Type names in any letter case, as libxt_addrtype compares them (strcasecmp).
      const types = (o.args[0] ?? '').toUpperCase().split(',');
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

/**
 * -m rpfilter: whether the way back to the packet's source leaves by the device it came in on
 * (--loose: by any device), as rp_filter checks, for raw and mangle PREROUTING. A packet that came
 * in on lo passes; a source of 0.0.0.0 to a broadcast or local multicast address (DHCP) passes;
 * a source the node reaches only as a local address passes with --accept-local. The look-up goes
 * through the node's policy rules as rpfilter_mt's fib_lookup does: from the packet's destination
 * (0 for a broadcast or multicast one), with the packet's mark under --validmark and 0 otherwise.
 */
export const rpfilterMatch: MatchExtension = {
  name: 'rpfilter',
  hooks: ['PREROUTING'],
  options: [
    { name: '--loose', args: 0 },
    { name: '--validmark', args: 0 },
    { name: '--accept-local', args: 0 },
    { name: '--invert', args: 0 },
  ],
  compile(options, facts) {
    if (facts.table !== 'raw' && facts.table !== 'mangle') return "only valid in 'raw' or 'mangle' table";
    const has = (name: string) => options.some((o) => o.name === name);
    const loose = has('--loose');
    const acceptLocal = has('--accept-local');
    const invert = has('--invert');
    const validMark = has('--validmark');
    return {
      test: (p, env) => {
        if (p.inIface === null || p.inIface === 'lo') return !invert;
        if (p.src === 0 && (p.dst === 0xffffffff || p.dst >>> 8 === 0xe00000)) return !invert;
        const multicast = p.dst >>> 28 === 0xe || env.addrType(p.dst, null) === 'BROADCAST';
        const back = env.routeTo(p.src, { src: multicast ? 0 : p.dst, mark: validMark ? p.mark : 0 });
        let ok = back !== null && (back.type === 'unicast' || (back.type === 'local' && acceptLocal));
        // fib_info_nh_uses_dev: any path of a multipath route will do.
        if (ok && !loose) ok = back!.dev === p.inIface || (back!.nexthops?.some((h) => h.dev === p.inIface) ?? false);
        return ok !== invert;
      },
    };
  },
};
