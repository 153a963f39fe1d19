// -m ipvs: whether the packet belongs to an IPVS connection (and to which
// virtual service). kube-proxy's KUBE-IPVS-OUT-FILTER uses it.
import { parseIPv4 } from '../../net';
import type { MatchExtension, MatchTest } from '../extension';
import { parsePort } from '../values';

export const ipvsMatch: MatchExtension = {
  name: 'ipvs',
  options: [
    { name: '--ipvs', args: 0, negatable: true },
    { name: '--vproto', args: 1, negatable: true },
    { name: '--vaddr', args: 1, negatable: true },
    { name: '--vport', args: 1, negatable: true },
    { name: '--vdir', args: 1 },
    { name: '--vmethod', args: 1, negatable: true },
    { name: '--vportctl', args: 1, negatable: true },
  ],
  compile(options) {
    const tests: MatchTest[] = [];
    for (const o of options) {
      const arg = o.args[0] ?? '';
      switch (o.name) {
        case '--ipvs':
          tests.push((p) => (p.ipvs !== null) !== o.negated);
          break;
        case '--vproto': {
          const proto = arg.toLowerCase();
          if (!['tcp', 'udp', 'sctp', '6', '17', '132'].includes(proto)) return `unknown protocol "${arg}"`;
          const name = proto === '6' ? 'tcp' : proto === '17' ? 'udp' : proto === '132' ? 'sctp' : proto;
          tests.push((p) => p.ipvs !== null && (p.ipvs.protocol === name) !== o.negated);
          break;
        }
        case '--vaddr': {
          const a = parseIPv4(arg.replace(/\/32$/, ''));
          if (a === null) return `bad address "${arg}"`;
          tests.push((p) => p.ipvs !== null && (p.ipvs.address === a) !== o.negated);
          break;
        }
        case '--vport': {
          const port = parsePort(arg);
          if (port === null) return `bad port "${arg}"`;
          tests.push((p) => p.ipvs !== null && (p.ipvs.port === port) !== o.negated);
          break;
        }
        case '--vdir':
          if (arg !== 'ORIGINAL' && arg !== 'REPLY') return `bad --vdir "${arg}"`;
          tests.push((p) => p.ipvs !== null && arg === 'ORIGINAL');
          break;
        default:
          tests.push((p) => p.ipvs !== null);
      }
    }
    return { test: (p, env, flow) => tests.every((t) => t(p, env, flow)) };
  },
};
