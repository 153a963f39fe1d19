// Does knetsim agree with the kernel about one packet? Its way must be one of
// knetsim's branches, rule for rule in order, with the same outcome, endpoint
// and masquerading.
import type { TraceResult } from '../../src/engine';
import type { KernelResult } from './kernel-node';

export interface BranchView {
  rules: string[];
  endpoint: string | null;
  masquerade: boolean;
  outcome: string;
  /** IPVS took the packet: this kernel has no IPVS, so only the rules before it can be compared. */
  ipvs: boolean;
}

export function knetsimRuleLists(t: TraceResult): BranchView[] {
  return t.branches.map((b) => {
    const cut = b.hops.findIndex((h) => h.stage === 'ipvs');
    const hops = cut < 0 ? b.hops : b.hops.slice(0, cut);
    return {
      rules: hops.filter((h) => h.ruleNumber !== undefined).map((h) => `${h.stage.split('/')[0]} ${h.saved ?? h.rule}`),
      endpoint: b.endpoint,
      masquerade: b.masquerade,
      outcome: b.outcome,
      ipvs: cut >= 0,
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
  // Where IPVS took the packet, the kernel here (no IPVS) goes on without it: the rules up to IPVS must agree.
  const ipvsBranch = branches.find(
    (b) => b.ipvs && b.rules.join('\n') === kernelRules.slice(0, b.rules.length).join('\n'),
  );
  if (ipvsBranch && k.outcome === 'ACCEPT' && k.endpoint === null) return null;
  const outcome = t.outcome === 'NO_ROUTE' ? 'ACCEPT' : (same?.outcome ?? t.outcome);
  if (
    same &&
    outcome === k.outcome &&
    (k.outcome !== 'ACCEPT' || (same.endpoint === k.endpoint && same.masquerade === k.masquerade))
  )
    return null;
  const closest = same ?? branches[0]!;
  return [
    `  kernel:  ${k.outcome} endpoint=${k.endpoint} masquerade=${k.masquerade}`,
    ...kernelRules.map((r) => `    ${r}`),
    `  knetsim: ${closest.outcome} endpoint=${closest.endpoint} masquerade=${closest.masquerade} (${branches.length} branches)`,
    ...closest.rules.map((r) => `    ${r}`),
  ].join('\n');
}
