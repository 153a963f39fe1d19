// -m set --match-set NAME src,dst: membership of the packet's fields in an ipset.
import type { MatchExtension } from '../extension';

export const setMatch: MatchExtension = {
  name: 'set',
  options: [
    { name: '--match-set', args: 2, negatable: true },
    { name: '--return-nomatch', args: 0 },
    { name: '--update-counters', args: 0, negatable: true },
    { name: '--update-subcounters', args: 0, negatable: true },
  ],
  compile(options) {
    const o = options.find((x) => x.name === '--match-set');
    if (!o) return '--match-set is required';
    const name = o.args[0] ?? '';
    const flags = (o.args[1] ?? '').split(',');
    if (flags.some((f) => f !== 'src' && f !== 'dst') || flags.length > 6) return `bad set flags "${o.args[1]}"`;
    const dirs = flags as ('src' | 'dst')[];
    return { test: (p, env, flow) => env.setTest(name, dirs, p, flow.setEdits) !== o.negated };
  },
};
