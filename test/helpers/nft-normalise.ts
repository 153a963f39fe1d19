// Test helper: an nft ruleset as its dump, objects sorted by kind and name and rules in
// order within their chain (kube-proxy's own test normalisation), optionally leaving out
// some chains (the stale ones a partial sync flushes and the next sync deletes).
import { dumpNftTransaction, type NftRuleset } from '../../src/nftables';

export function normalisedNft(r: NftRuleset, leaveOutChains: ReadonlySet<string> = new Set()): string[] {
  const kinds = ['table', 'chain', 'rule', 'set', 'map', 'element'];
  return dumpNftTransaction(r)
    .split('\n')
    .filter(Boolean)
    .map((l, i) => {
      const w = l.split(' ');
      return { l, i, kind: kinds.indexOf(w[1]!), name: w[1] === 'table' ? '' : w[4]!, rule: w[1] === 'rule' };
    })
    .filter((x) => !(x.kind === 1 && leaveOutChains.has(x.name)))
    .sort(
      (a, b) =>
        a.kind - b.kind ||
        (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) ||
        (a.rule ? a.i - b.i : a.l < b.l ? -1 : 1),
    )
    .map((x) => x.l);
}
