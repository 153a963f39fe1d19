// Builds a simulated node from a real node's dumps (iptables-save, nft list
// ruleset, ip route, ipset save) with no Kubernetes objects: what
// `knetsim trace --rules` / `--nft` runs on.

import type { VirtualService } from '../ipvs';
import {
  ConntrackTable,
  type IPv4,
  type PolicyRule,
  parseConntrackList,
  parseIpRoutes,
  parseIpRules,
  type Route,
} from '../net';
import { compileRuleset, loadIptables, type NetfilterState, setsNamed, setTargetSpec } from '../netfilter';
import { loadNftFile, type NftRuleset, parseNftList, tokenizeNft } from '../nftables';
import { makeSimNode, type NodeInterface, type SetLookup, type SimNode } from './sim-node';

export interface DumpFile {
  readonly text: string;
  readonly file: string;
}

export interface NodeDumps {
  readonly name?: string;
  /** iptables-save; a node with only nftables rules may have none. */
  readonly iptables?: DumpFile;
  /** `nft list ruleset` (or an `nft -f` transaction). */
  readonly nft?: DumpFile;
  readonly routes?: DumpFile;
  /** `ip rule show`: the policy rules routing goes through (the kernel's default three without it). */
  readonly ipRules?: DumpFile;
  /** `conntrack -L`: the connections the node tracks (a packet of one meets its entry and NAT). */
  readonly conntrack?: DumpFile;
  /** The node's own addresses when no route dump tells them (they go on the default interface). */
  readonly nodeAddresses?: readonly IPv4[];
  readonly sets?: SetLookup | null;
  readonly defaultInterface?: string;
  /** Virtual services from `ipvsadm -S -n`: their addresses are bound to kube-ipvs0 unless a route dump says where they are. */
  readonly ipvs?: readonly VirtualService[];
}

const BRIDGE_NAMES = ['cni0', 'cbr0', 'docker0'];

export type NodeResult =
  | { readonly ok: true; readonly node: SimNode }
  | { readonly ok: false; readonly message: string };

/** Interfaces and their addresses as the kernel routes imply them ("proto kernel scope link src X" and local routes). */
function interfacesFromRoutes(routes: readonly Route[]): Map<string, { address: IPv4; prefixLength: number }[]> {
  const out = new Map<string, { address: IPv4; prefixLength: number }[]>();
  const add = (dev: string, address: IPv4, prefixLength: number) => {
    const list = out.get(dev) ?? [];
    const existing = list.find((a) => a.address === address);
    if (existing) {
      if (prefixLength < existing.prefixLength) existing.prefixLength = prefixLength;
    } else list.push({ address, prefixLength });
    out.set(dev, list);
  };
  for (const r of routes) {
    if (r.type === 'local' && r.dev && r.dst.length === 32 && r.dst.address >>> 24 !== 127)
      add(r.dev, r.dst.address, 32);
    if (r.type === 'unicast' && r.scope === 'link' && r.src !== null && r.dev) add(r.dev, r.src, r.dst.length);
  }
  return out;
}

/** The kernel refuses a -m set rule whose set does not exist; so do we, at load. */
function missingSet(state: NetfilterState, sets: SetLookup | null): { name: string; line: number } | null {
  for (const table of state.tables.values())
    for (const chain of table.chains.values())
      for (const stored of chain.rules) {
        for (const m of stored.rule.matches) {
          if (m.module !== 'set') continue;
          const name = m.options.find((o) => o.name === '--match-set')?.args[0] ?? '';
          if (!sets?.has(name)) return { name, line: stored.line };
        }
        // A SET target's sets must exist too.
        const target = stored.rule.target;
        if (target.kind === 'extension' && target.name === 'SET') {
          const spec = setTargetSpec(target.options);
          const name = typeof spec === 'string' ? undefined : setsNamed(spec).find((n) => !sets?.has(n));
          if (name !== undefined) return { name, line: stored.line };
        }
      }
  return null;
}

/** A listing starts with `table`; anything else is read as `nft -f` commands. */
/** The tables iptables-nft keeps iptables' rules in: an iptables-save of the node holds them in full. */
const IPTABLES_NFT_TABLE = /^\s*table\s+ip\s+(filter|nat|mangle|raw|security)\s*\{/;

/**
 * A listing without iptables-nft's tables (the lines blanked, so messages keep their numbers): when the
 * node's iptables-save is given too, those rules come from it (in full, where nft's text may not say
 * what an iptables extension tests) and must not run twice.
 */
function withoutIptablesTables(text: string): string {
  const lines = text.split('\n');
  let depth = 0;
  let skipping = false;
  for (let n = 0; n < lines.length; n++) {
    if (depth === 0) skipping = IPTABLES_NFT_TABLE.test(lines[n]!);
    const t = tokenizeNft(lines[n]!);
    if (t.ok) for (const token of t.tokens) depth += token.text === '{' ? 1 : token.text === '}' ? -1 : 0;
    if (skipping) lines[n] = '';
  }
  return lines.join('\n');
}

function loadNftDump(
  dump: DumpFile,
  withIptablesSave: boolean,
): { ok: true; ruleset: NftRuleset } | { ok: false; message: string } {
  const text = withIptablesSave ? withoutIptablesTables(dump.text) : dump.text;
  if (/^\s*table\s/.test(dump.text.replace(/^(\s*#.*\n)*/, ''))) {
    const listed = parseNftList(text);
    return listed.ok ? { ok: true, ruleset: listed.value } : { ok: false, message: `${dump.file}: ${listed.message}` };
  }
  const loaded = loadNftFile(text, dump.file);
  return loaded.ok ? { ok: true, ruleset: loaded.value } : loaded;
}

export function nodeFromDumps(d: NodeDumps): NodeResult {
  const loaded = loadIptables(d.iptables?.text ?? '', d.iptables?.file ?? 'iptables');
  if (!loaded.ok) return { ok: false, message: loaded.message };
  let nft: NftRuleset | null = null;
  if (d.nft) {
    const n = loadNftDump(d.nft, d.iptables !== undefined);
    if (!n.ok) return { ok: false, message: n.message };
    nft = n.ruleset;
  }
  let routes: Route[] = [];
  if (d.routes) {
    const parsed = parseIpRoutes(d.routes.text);
    if (!parsed.ok) return { ok: false, message: `${d.routes.file}: line ${parsed.line}: ${parsed.message}` };
    routes = parsed.routes;
  }
  // Only a script that loads -m set or names the SET target can name a missing set (the dump is loaded onto an empty node).
  const missing =
    loaded.script.matchModules?.has('set') === false && loaded.script.targetModules?.has('SET') === false
      ? null
      : missingSet(loaded.state, d.sets ?? null);
  if (missing)
    return {
      ok: false,
      message: `${d.iptables?.file ?? 'iptables'}: line ${missing.line}: set "${missing.name}" does not exist${d.sets ? '' : " (give the node's ipset dump with --ipset)"}`,
    };
  let policyRules: PolicyRule[] | undefined;
  if (d.ipRules) {
    const parsed = parseIpRules(d.ipRules.text);
    if (!parsed.ok) return { ok: false, message: `${d.ipRules.file}: line ${parsed.line}: ${parsed.message}` };
    if (!d.routes)
      return { ok: false, message: `${d.ipRules.file}: policy rules need the routes of every table (--routes)` };
    policyRules = parsed.rules;
  }
  let tracked: ConntrackTable | undefined;
  if (d.conntrack) {
    const parsed = parseConntrackList(d.conntrack.text);
    if (!parsed.ok) return { ok: false, message: `${d.conntrack.file}: line ${parsed.line}: ${parsed.message}` };
    tracked = new ConntrackTable();
    for (const entry of parsed.entries) tracked.update(entry);
  }
  // Outside traffic leaves by the main table's default route (other tables serve only the rules naming them).
  const defaultRoute = routes.find((r) => r.dst.length === 0 && r.type === 'unicast' && r.table === 'main');
  const defaultInterface = d.defaultInterface ?? defaultRoute?.dev ?? 'eth0';
  const byDev = interfacesFromRoutes(routes);
  for (const a of d.nodeAddresses ?? []) {
    const known = [...byDev.values()].some((list) => list.some((x) => x.address === a));
    if (!known) byDev.set(defaultInterface, [...(byDev.get(defaultInterface) ?? []), { address: a, prefixLength: 32 }]);
  }
  const known = new Set([...byDev.values()].flatMap((list) => list.map((a) => a.address)));
  const vips = [...new Set((d.ipvs ?? []).map((vs) => vs.address))].filter((a) => !known.has(a));
  if (vips.length > 0)
    byDev.set('kube-ipvs0', [
      ...(byDev.get('kube-ipvs0') ?? []),
      ...vips.map((address) => ({ address, prefixLength: 32 })),
    ]);
  // A route dump does not say which devices are bridges; these are the CNI and container bridges' usual names.
  const interfaces: NodeInterface[] = [...byDev].map(([name, addresses]) => ({
    name,
    addresses,
    bridge: BRIDGE_NAMES.includes(name),
  }));
  return {
    ok: true,
    node: makeSimNode({
      name: d.name ?? 'node',
      interfaces,
      routes,
      ruleset: compileRuleset(loaded.state),
      sets: d.sets ?? null,
      defaultInterface,
      ipvs: d.ipvs ?? [],
      ...(nft ? { nft } : {}),
      ...(policyRules ? { policyRules } : {}),
      ...(tracked ? { conntrack: tracked } : {}),
    }),
  };
}
