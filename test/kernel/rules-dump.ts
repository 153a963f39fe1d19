// An iptables-restore text for a test case's rules: each table it names, with its built-in
// chains (policy ACCEPT unless the case sets one), the user chains it declares, then its rules.
import { BUILTIN_CHAINS, type TableName } from '../../src/netfilter';

export type CaseRules = Partial<Record<TableName, readonly string[]>>;

/** `policies`: a built-in chain's policy by "table/CHAIN"; a table named there is written even without rules. */
export function rulesDump(rules: CaseRules, policies: Readonly<Record<string, 'ACCEPT' | 'DROP'>> = {}): string {
  const tables = (['raw', 'mangle', 'nat', 'filter'] as const).filter(
    (t) => rules[t] || Object.keys(policies).some((k) => k.startsWith(`${t}/`)),
  );
  const lines = tables.flatMap((t) => {
    const own = rules[t] ?? [];
    return [
      `*${t}`,
      ...BUILTIN_CHAINS[t].map((chain) => `:${chain} ${policies[`${t}/${chain}`] ?? 'ACCEPT'} [0:0]`),
      ...own.filter((l) => l.startsWith(':')),
      ...own.filter((l) => !l.startsWith(':')),
      'COMMIT',
    ];
  });
  return `${lines.join('\n')}\n`;
}
