// TCPMSS: rewrites the MSS option of TCP SYNs (to a value, or to the path MTU less the
// headers). knetsim does not model TCP options, so the packet goes on as it was; the rule
// is checked as the kernel checks it and its hop says what the kernel would have done.
import type { Hook, TargetExtension } from '../extension';

/** Clamping to the path MTU needs the route out: the kernel refuses it at other hooks. */
const CLAMP_HOOKS: readonly Hook[] = ['FORWARD', 'OUTPUT', 'POSTROUTING'];

export const tcpmssTarget: TargetExtension = {
  name: 'TCPMSS',
  options: [
    { name: '--set-mss', args: 1 },
    { name: '--clamp-mss-to-pmtu', args: 0 },
  ],
  hooksFor: (options) => (options.some((o) => o.name === '--clamp-mss-to-pmtu') ? CLAMP_HOOKS : undefined),
  compile(options, facts) {
    if (facts.protocol !== 'tcp') return 'needs -p tcp';
    const set = options.find((o) => o.name === '--set-mss');
    const clamp = options.some((o) => o.name === '--clamp-mss-to-pmtu');
    if ((set === undefined) === !clamp) return 'one of --set-mss or --clamp-mss-to-pmtu';
    if (set) {
      const mss = Number(set.args[0]);
      if (!/^\d+$/.test(set.args[0] ?? '') || mss > 65535) return `bad --set-mss "${set.args[0]}"`;
      return { kind: 'CONTINUE', apply: () => `MSS of a SYN set to ${mss} (TCP options are not modelled)` };
    }
    return { kind: 'CONTINUE', apply: () => 'MSS of a SYN clamped to the path MTU (TCP options are not modelled)' };
  },
};
