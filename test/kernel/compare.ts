// Does knetsim agree with the kernel about one packet? Its way must be one of
// knetsim's branches, rule for rule in order, with the same outcome, endpoint
// and masquerading.
import type { TraceResult } from '../../src/engine';
import type { KernelResult } from './kernel-node';

export interface BranchView {
  rules: string[];
  /** Where the packet is addressed when it leaves or is delivered. */
  finalDst: string;
  endpoint: string | null;
  masquerade: boolean;
  outcome: string;
  /** IPVS or the userspace proxy took the packet: only the rules before it can be compared. */
  cut: 'ipvs' | 'userspace' | null;
}

export function knetsimRuleLists(t: TraceResult): BranchView[] {
  return t.branches.map((b) => {
    // IPVS and the userspace proxy are where this kernel and knetsim part ways (no IPVS here, no proxy process).
    const cut = b.hops.findIndex((h) => h.stage === 'ipvs' || h.stage === 'userspace');
    // This harness's flannel.1 is a plain veth: no VXLAN datagram goes through the node's hooks
    // after the packet (the flannel harness checks that one), so knetsim's hops end at its encapsulation.
    const outer = b.hops.findIndex((h) => h.stage === 'vxlan outer');
    const end = cut >= 0 ? cut : outer >= 0 ? outer : b.hops.length;
    const hops = b.hops.slice(0, end);
    return {
      rules: hops.filter((h) => h.ruleNumber !== undefined).map((h) => `${h.stage.split('/')[0]} ${h.saved ?? h.rule}`),
      finalDst: /-> (\S+):\d+$/.exec(b.final)?.[1] ?? '',
      endpoint: b.endpoint,
      masquerade: b.masquerade,
      outcome: b.outcome,
      cut: cut < 0 ? null : (b.hops[cut]!.stage as 'ipvs' | 'userspace'),
    };
  });
}

export function kernelRuleList(k: KernelResult): string[] {
  return k.hops.filter((h) => h.rule !== null).map((h) => `${h.table} ${h.rule}`);
}

/** Null when they agree; otherwise both sides, side by side, for the report. */
export function disagreement(t: TraceResult, k: KernelResult): string | null {
  const kernelRules = kernelRuleList(k);
  const branches = knetsimRuleLists(t);
  const same = branches.find((b) => b.rules.join('\n') === kernelRules.join('\n'));
  // Where IPVS or the userspace proxy took the packet, the kernel here goes on without them:
  // the rules up to that point must agree. Without IPVS the kernel does no DNAT; the userspace
  // proxy's REDIRECT delivers to its port.
  const cutBranch = branches.find(
    (b) => b.cut && b.rules.join('\n') === kernelRules.slice(0, b.rules.length).join('\n'),
  );
  if (cutBranch && k.outcome === 'ACCEPT' && (cutBranch.cut === 'userspace' || k.endpoint === null)) return null;
  const outcome = t.outcome === 'NO_ROUTE' ? 'ACCEPT' : (same?.outcome ?? t.outcome);
  // A pod namespace that received the packet must be where knetsim's branch sent it.
  const arrivedRight = k.arrivedAt === null || same?.finalDst === k.arrivedAt;
  if (
    same &&
    arrivedRight &&
    outcome === k.outcome &&
    (k.outcome !== 'ACCEPT' || (same.endpoint === k.endpoint && same.masquerade === k.masquerade))
  )
    return null;
  const closest = same ?? branches[0]!;
  return [
    `  kernel:  ${k.outcome} endpoint=${k.endpoint} masquerade=${k.masquerade}${k.arrivedAt ? ` arrived at pod ${k.arrivedAt}` : ''}`,
    ...kernelRules.map((r) => `    ${r}`),
    `  knetsim: ${closest.outcome} endpoint=${closest.endpoint} masquerade=${closest.masquerade} (${branches.length} branches)`,
    ...closest.rules.map((r) => `    ${r}`),
  ].join('\n');
}
