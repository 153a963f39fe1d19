// Parts of rules shared by the rules of one script. A kube-proxy dump repeats
// the same few matches, targets and addresses thousands of times ("-m tcp
// --dport 80", "-j KUBE-MARK-MASQ", "! -s 10.244.0.0/16"); compiling each once
// and sharing the result keeps a 100,000-rule load small and its walk in cache.
// Safe because extensions compile options and facts into pure values: what a
// match remembers between packets lives in the flow, not in the compiled match.
import type { ParsedOption } from './extension';
import type { AddressCondition, RuleMatch, RuleTarget } from './rule';

export interface RuleCache {
  readonly matches: Map<string, RuleMatch>;
  /** Extension targets by name, table, protocol and options. */
  readonly targets: Map<string, RuleTarget>;
  /** -j CHAIN and -g CHAIN by chain name (most targets of a kube-proxy dump). */
  readonly jumps: Map<string, RuleTarget>;
  readonly gotos: Map<string, RuleTarget>;
  readonly addresses: Map<string, AddressCondition>;
}

export function newRuleCache(): RuleCache {
  return { matches: new Map(), targets: new Map(), jumps: new Map(), gotos: new Map(), addresses: new Map() };
}

/** A key naming an extension's parsed options exactly (names, negation, arguments, in order). */
export function optionsKey(options: readonly ParsedOption[]): string {
  let key = '';
  for (const o of options) {
    key += o.negated ? `\u0001!${o.name}` : `\u0001${o.name}`;
    for (const a of o.args) key += `\u0002${a}`;
  }
  return key;
}
