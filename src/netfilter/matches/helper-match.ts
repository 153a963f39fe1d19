// -m helper: the conntrack helper (ftp, sip, ...) of the connection that expected the
// packet's (xt_helper reads ct->master's). knetsim traces no expected (related)
// connections, so no packet has one, and the match passes only negated (CT --helper
// attaches a helper to the connection it opens, which this match does not read).
import type { MatchExtension } from '../extension';

export const helperMatch: MatchExtension = {
  name: 'helper',
  options: [{ name: '--helper', args: 1, negatable: true }],
  compile(options) {
    const o = options[0];
    if (!o) return 'option "--helper" must be specified';
    return { test: () => o.negated };
  },
};
