// A ruleset as the transaction that creates it from nothing, in the order
// knftables' fake dumps it (the form kube-proxy's own tests compare): the table,
// chains, sets and maps by name, then every chain's rules, then the elements.
import { formatElement } from './format-rule';
import type { NftChain, NftRuleset, NftSet, NftTable } from './ruleset';

const byName = <T extends { name: string }>(m: Map<string, T>): T[] =>
  [...m.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

function chainLine(prefix: string, ch: NftChain): string {
  const props: string[] = [];
  if (ch.base) {
    props.push(`type ${ch.base.type} hook ${ch.base.hook} priority ${ch.base.priority} ;`);
    if (ch.base.policy) props.push(`policy ${ch.base.policy} ;`);
  }
  if (ch.comment !== undefined) props.push(`comment "${ch.comment}" ;`);
  return `add chain ${prefix} ${ch.name}${props.length ? ` { ${props.join(' ')} }` : ''}`;
}

function setLine(prefix: string, s: NftSet): string {
  const props = [`type ${s.type}${s.dataType ? ` : ${s.dataType}` : ''} ;`];
  if (s.flags.length) props.push(`flags ${s.flags.join(',')} ;`);
  if (s.timeout !== undefined) props.push(`timeout ${s.timeout}s ;`);
  if (s.size !== undefined) props.push(`size ${s.size} ;`);
  if (s.comment !== undefined) props.push(`comment "${s.comment}" ;`);
  return `add ${s.kind} ${prefix} ${s.name} { ${props.join(' ')} }`;
}

function dumpTable(t: NftTable): string[] {
  const prefix = `${t.family} ${t.name}`;
  const out = [`add table ${prefix}${t.comment !== undefined ? ` { comment "${t.comment}" ; }` : ''}`];
  const chains = byName(t.chains);
  const sets = byName(t.sets);
  for (const ch of chains) out.push(chainLine(prefix, ch));
  for (const s of sets.filter((x) => x.kind === 'set')) out.push(setLine(prefix, s));
  for (const s of sets.filter((x) => x.kind === 'map')) out.push(setLine(prefix, s));
  for (const ch of chains) for (const r of ch.rules) out.push(`add rule ${prefix} ${ch.name} ${r.text}`);
  for (const s of [...sets.filter((x) => x.kind === 'set'), ...sets.filter((x) => x.kind === 'map')])
    for (const e of s.elements) out.push(`add element ${prefix} ${s.name} { ${formatElement(e)} }`);
  return out;
}

/** `nft -f` text that builds this ruleset on an empty node. */
export function dumpNftTransaction(r: NftRuleset): string {
  return [...r.tables.values()]
    .flatMap(dumpTable)
    .map((l) => `${l}\n`)
    .join('');
}
