// Whether a kernel suite runs: KNETSIM_KERNEL=off skips it, =required makes a missing tool
// (or no root) a failing test, and otherwise a suite that cannot run says why and is skipped.
import { it } from 'vitest';
import { IPTABLES_TOOLS, kernelUnavailable } from './netns';

/** Why `suite` is skipped (null: it runs); under KNETSIM_KERNEL=required a reason becomes a failing test. */
export function kernelGate(suite: string, tools: readonly string[] = IPTABLES_TOOLS): string | null {
  const mode = process.env.KNETSIM_KERNEL ?? 'auto';
  const why = mode === 'off' ? 'KNETSIM_KERNEL=off' : kernelUnavailable(tools);
  if (why && mode === 'required')
    it('kernel tests are required (KNETSIM_KERNEL=required)', () => {
      throw new Error(`kernel tests cannot run: ${why}`);
    });
  else if (why) console.log(`${suite} skipped: ${why}`);
  return why;
}
