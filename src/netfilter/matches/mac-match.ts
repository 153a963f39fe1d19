// -m mac --mac-source: the Ethernet source address of the frame the packet came in
// (xt_mac; only where a frame was received: PREROUTING, INPUT, FORWARD). knetsim
// knows it when the trace gives it (`trace --src-mac`); a packet whose source MAC is
// not given matches no address (and so matches every negated one). A packet that came in
// no Ethernet frame (made on the node, or looped back through lo) matches neither way.
import type { MatchExtension } from '../extension';

/** A MAC as xtables_parse_mac reads it (six parts of one or two hex digits, ":" between) in its printed form; null when bad. */
export function parseMac(text: string): string | null {
  const parts = text.split(':');
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{1,2}$/.test(p))) return null;
  return parts.map((p) => p.toLowerCase().padStart(2, '0')).join(':');
}

export const macMatch: MatchExtension = {
  name: 'mac',
  options: [{ name: '--mac-source', args: 1, negatable: true }],
  hooks: ['PREROUTING', 'INPUT', 'FORWARD'],
  compile(options) {
    const o = options[0];
    if (!o) return 'option "--mac-source" must be specified';
    const mac = parseMac(o.args[0] ?? '');
    if (mac === null) return 'Invalid MAC address specified.';
    // xt_mac answers no for a frame that is no Ethernet one (lo, a packet made here), "!" or not.
    return { test: (p) => p.inIface !== null && p.inIface !== 'lo' && (p.srcMac === mac) !== o.negated };
  },
};
