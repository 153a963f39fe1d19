// kube-proxy's test normalisation of iptables-restore text (its sortIPTablesRules):
// per table, chain declarations sorted, rules grouped by chain, and the per-service
// rules of KUBE-SERVICES / KUBE-NODEPORTS sorted by service (Go map order is random).

const BUILTIN = ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'];

function chainRank(c: string): number {
  return c === 'KUBE-NODEPORTS' ? 0 : c === 'KUBE-SERVICES' ? 1 : c.startsWith('KUBE-') ? 2 : 3;
}

function serviceKey(rule: string): string {
  return /--comment "?([^ ":]*)/.exec(rule)?.[1] ?? '';
}

export function normalizeIptables(text: string): string[] {
  const tables = new Map<string, { chains: string[]; rules: Map<string, string[]> }>();
  let current: { chains: string[]; rules: Map<string, string[]> } | null = null;
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (!line || line.startsWith('#')) continue;
    if (line.startsWith('*')) {
      current = { chains: [], rules: new Map() };
      tables.set(line.slice(1), current);
    } else if (line !== 'COMMIT' && current) {
      if (line.startsWith(':')) {
        const name = line.slice(1).split(' ')[0]!;
        if (!BUILTIN.includes(name)) current.chains.push(name);
        continue;
      }
      const chain = /^-A (\S+)/.exec(line)?.[1];
      if (!chain || BUILTIN.includes(chain)) continue;
      current.rules.set(chain, [...(current.rules.get(chain) ?? []), line]);
    }
  }
  const out: string[] = [];
  for (const name of [...tables.keys()].sort()) {
    const t = tables.get(name)!;
    const order = [...new Set([...t.chains, ...t.rules.keys()])].sort(
      (a, b) => chainRank(a) - chainRank(b) || (a < b ? -1 : a > b ? 1 : 0),
    );
    out.push(`*${name}`, ...order.map((c) => `:${c} - [0:0]`));
    for (const c of order) {
      let rules = t.rules.get(c) ?? [];
      if (c === 'KUBE-NODEPORTS' || c === 'KUBE-SERVICES') {
        const last = rules.filter((r) => r.includes('this must be the last rule'));
        const rest = rules.filter((r) => !r.includes('this must be the last rule'));
        rules = rest
          .map((r, i) => ({ r, i, k: serviceKey(r) }))
          .sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : a.i - b.i))
          .map((x) => x.r)
          .concat(last);
      }
      out.push(...rules);
    }
    out.push('COMMIT');
  }
  return out;
}
