// -m helper: the conntrack helper (ftp, sip, ...) of the connection that expected the
// packet's (xt_helper reads ct->master's). knetsim assigns no helpers: CT --helper is
// not modelled, and kernels no longer attach them by port (nf_conntrack_helper=0), so
// the match passes only negated.
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
