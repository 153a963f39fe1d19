// What the kernel holds after iptables-restore: per table, its chains (built-in
// ones with policies) and their rules. Applying a script checks it as the kernel
// would (missing chains, loops, targets at the wrong hook) and is all or nothing.
import { alg, Graph } from '@dagrejs/graphlib';
import {
  type AppendLayout,
  CHAIN_OF,
  CHAIN_WORDS,
  DECLARED_AT,
  EXTENSION_BASE,
  FIRST_RULE,
  LAST_RULE,
  RULE_COUNT,
  STATEMENT_WORDS,
  TARGET_OF,
} from './append-layout';
import { BUILTIN_CHAINS } from './builtin-chains';
import { canonicalRuleText } from './canonical-form';
import type { Hook, TableName } from './extension';
import { findTarget, newChainNameProblem, unmodelledTarget } from './extensions';
import { type RestoreScript, type ScriptError, type Statement, shortCommand, TABLE_NAMES } from './restore-script';
import { hasAddressLists, prefixesOf, type Rule, type RuleTarget } from './rule';
import { printTokens, tokenizeLine } from './tokenize';

export { BUILTIN_CHAINS };

export interface StoredRule {
  readonly rule: Rule;
  readonly counters: string | null;
  /** Line of the script that added it, for error messages. */
  readonly line: number;
}

export interface Chain {
  readonly name: string;
  readonly builtin: boolean;
  readonly policy: 'ACCEPT' | 'DROP' | null;
  readonly counters: string | null;
  readonly rules: readonly StoredRule[];
  /**
   * Its place in its table's `chains` (their order): compiling numbers chains by it and finds a
   * jump's chain through it, without a map of its own. Whoever makes a table sets it.
   */
  readonly index: number;
}

export interface NetfilterTable {
  readonly name: TableName;
  /** In creation order; built-in chains first. */
  readonly chains: ReadonlyMap<string, Chain>;
  /**
   * A script has named it: the table exists in the kernel (iptables-save lists it, built-in chains
   * alone too). A table no script named is there only as the kernel's empty default.
   */
  readonly made?: boolean;
}

export interface NetfilterState {
  readonly tables: ReadonlyMap<TableName, NetfilterTable>;
}

function emptyTable(name: TableName): NetfilterTable {
  const chains = new Map<string, Chain>();
  for (const hook of BUILTIN_CHAINS[name])
    chains.set(hook, { name: hook, builtin: true, policy: 'ACCEPT', counters: null, rules: [], index: chains.size });
  return { name, chains };
}

/** A node with nothing loaded: every table with its built-in chains, policy ACCEPT. */
export function emptyNetfilterState(): NetfilterState {
  return { tables: new Map(TABLE_NAMES.map((t) => [t, emptyTable(t)])) };
}

export interface ApplyOptions {
  /** iptables-restore --noflush: tables keep what the script does not touch (kube-proxy always uses it). */
  readonly noflush: boolean;
}

export type ApplyResult =
  | { readonly ok: true; readonly state: NetfilterState }
  | { readonly ok: false; readonly error: ScriptError };

class ApplyError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
  }
}

/** iptables expands "-s a,b" into one rule per address (and per -d address). */
function expandAddresses(rule: Rule): Rule[] {
  const srcs = rule.header.src ? prefixesOf(rule.header.src) : [null];
  const dsts = rule.header.dst ? prefixesOf(rule.header.dst) : [null];
  if (srcs.length === 1 && dsts.length === 1) return [rule];
  const tokens = tokenizeLine(rule.source);
  if (!Array.isArray(tokens)) return [rule];
  const out: Rule[] = [];
  for (const s of srcs)
    for (const d of dsts) {
      const header = {
        ...rule.header,
        src:
          s && rule.header.src
            ? { ...rule.header.src, address: s.address, length: s.length, list: null }
            : rule.header.src,
        dst:
          d && rule.header.dst
            ? { ...rule.header.dst, address: d.address, length: d.length, list: null }
            : rule.header.dst,
      };
      // The address lists are replaced by the one address this copy has, as iptables-save would show it.
      const source = printTokens(
        tokens.map((t, i) => {
          const flag = HEADER_FLAG_FIELD[tokens[i - 1]?.text ?? ''] ?? HEADER_FLAG_FIELD[tokens[i - 2]?.text ?? ''];
          if (!flag || !t.text.includes(',')) return t;
          return { ...t, text: formatPrefixForRule(flag === 'src' ? s! : d!) };
        }),
      );
      out.push({ ...rule, header, source });
    }
  return out;
}

const HEADER_FLAG_FIELD: Readonly<Record<string, 'src' | 'dst'>> = {
  '-s': 'src',
  '--source': 'src',
  '--src': 'src',
  '-d': 'dst',
  '--destination': 'dst',
  '--dst': 'dst',
};

function formatPrefixForRule(p: { address: number; length: number }): string {
  const a = p.address;
  const text = `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
  return p.length === 32 ? text : `${text}/${p.length}`;
}

/** How many arguments each chain command takes at most (-D CHAIN N is a command; -D with a rule is a rule). */
const MOST_ARGUMENTS: Readonly<Record<string, number>> = {
  '-N': 1,
  '-X': 1,
  '-F': 1,
  '-Z': 2,
  '-P': 2,
  '-E': 2,
  '-D': 2,
};

function applyTable(
  before: NetfilterTable | undefined,
  name: TableName,
  statements: RestoreScript['blocks'][number],
  opts: ApplyOptions,
): NetfilterTable {
  if (statements.kind !== 'table') throw new Error('unreachable');
  const base = opts.noflush && before ? before : emptyTable(name);
  if (statements.layout) return applyLayout(base, statements, statements.layout);
  const chains = new Map<string, Chain>();
  for (const [k, c] of base.chains) chains.set(k, { ...c, rules: [...c.rules] });
  const mutableRules = (chain: string, line: number): StoredRule[] => {
    const c = chains.get(chain);
    if (!c) throw new ApplyError(line, `chain "${chain}" does not exist in table ${name}`);
    return c.rules as StoredRule[];
  };
  let lastChain: string | null = null;
  let lastRules: StoredRule[] = [];
  const list = statements.statements;
  // A run of plain appends (-A, no address lists) to one chain that had no rules: its statements
  // become the chain's rules in one exactly sized copy when the run ends, rather than push by push
  // into a list that keeps room for seventeen (forty thousand such lists in a kube-proxy dump).
  let runFrom = -1;
  let runTo = -1;
  let runChain: Chain | null = null;
  const endRun = () => {
    if (runChain === null) return;
    const rules = list.slice(runFrom, runTo) as StoredRule[];
    (runChain as { rules: readonly StoredRule[] }).rules = rules;
    if (runChain.name === lastChain) lastRules = rules;
    runChain = null;
  };
  for (let k = 0; k < list.length; k++) {
    const s = list[k]!;
    const plainAppend = s.kind === 'rule' && s.command === '-A' && !hasAddressLists(s.rule.header);
    // Whatever is not the next append of the run ends it (a comment too: the run is a slice of statements).
    if (runChain !== null && !(plainAppend && s.chain === lastChain)) endRun();
    if (s.kind === 'comment') continue;
    // Anything but a rule may create, flush, rename or delete chains: look the next one up afresh.
    if (s.kind !== 'rule') lastChain = null;
    if (s.kind === 'chain') {
      const existing = chains.get(s.name);
      const builtin = (BUILTIN_CHAINS[name] as readonly string[]).includes(s.name);
      if (builtin) {
        if (s.policy !== 'ACCEPT' && s.policy !== 'DROP')
          throw new ApplyError(s.line, `bad policy "${s.policy}" for built-in chain ${s.name} (ACCEPT or DROP)`);
        chains.set(s.name, { ...existing!, policy: s.policy, counters: s.counters });
      } else {
        if (s.policy !== '-') throw new ApplyError(s.line, `user chain ${s.name} cannot have a policy ("${s.policy}")`);
        // Declaring an existing user chain flushes it, as iptables-restore --noflush does.
        chains.set(s.name, { name: s.name, builtin: false, policy: null, counters: s.counters, rules: [], index: -1 });
      }
      continue;
    }
    if (s.kind === 'rule') {
      // Rules come in runs for one chain: look it up when the run changes.
      if (s.chain !== lastChain) {
        lastRules = mutableRules(s.chain, s.line);
        lastChain = s.chain;
      }
      // A jump names a chain that exists at its line (iptables-restore refuses one made further on).
      const jump = s.rule.target;
      if ((jump.kind === 'jump' || jump.kind === 'goto') && !chains.has(jump.chain))
        throw new ApplyError(
          s.line,
          unmodelledTarget(jump.chain) ?? `-j ${jump.chain}: no chain or target by that name in table ${name}`,
        );
      const rules = lastRules;
      if (plainAppend) {
        // The usual line: one rule appended, without the lists an expansion needs. The statement
        // itself is kept (it has the rule, counters and line): a copy per rule would only be garbage.
        if (runChain !== null) runTo = k + 1;
        else if (rules.length === 0) {
          runChain = chains.get(s.chain)!;
          runFrom = k;
          runTo = k + 1;
        } else rules.push(s);
        continue;
      }
      const stored = expandAddresses(s.rule).map((rule) => ({ rule, counters: s.counters, line: s.line }));
      if (s.command === '-A') rules.push(...stored);
      else if (s.command === '-I') {
        const at = (s.position ?? 1) - 1;
        if (at > rules.length)
          throw new ApplyError(s.line, `index of insertion too big (${s.position}) for chain ${s.chain}`);
        // iptables inserts the rules of an address list one by one at the same place: they end up reversed.
        rules.splice(at, 0, ...stored.reverse());
      } else if (s.command === '-R') {
        const at = s.position! - 1;
        if (stored.length > 1) throw new ApplyError(s.line, 'Replacement rule does not specify a unique address');
        if (at >= rules.length) throw new ApplyError(s.line, `rule ${s.position} does not exist in chain ${s.chain}`);
        rules.splice(at, 1, ...stored);
      } else {
        // The kernel deletes the rule that is the same once loaded, however it was written (-p tcp --dport
        // 80 is -p tcp -m tcp --dport 80; 1.2.3.4 is 1.2.3.4/32): compared in iptables-save's form. An
        // address list deletes each of its rules.
        for (const { rule } of stored) {
          const want = canonicalRuleText(s.chain, rule);
          const at = rules.findIndex((r) => canonicalRuleText(s.chain, r.rule) === want);
          if (at < 0) throw new ApplyError(s.line, `rule to delete does not exist in chain ${s.chain}`);
          rules.splice(at, 1);
        }
      }
      continue;
    }
    const arg = s.args[0]?.text ?? '';
    // iptables refuses arguments a command does not take ("Bad argument `X'").
    // The statement keeps the flag as written (--new-chain, --new, -N): the command is its short form.
    const command = shortCommand(s.command);
    const most = MOST_ARGUMENTS[command] ?? 0;
    if (s.args.length > most) throw new ApplyError(s.line, `bad argument "${s.args[most]!.text}"`);
    switch (command) {
      case '-N': {
        const problem = newChainNameProblem(arg);
        if (problem !== null) throw new ApplyError(s.line, problem);
        if (chains.has(arg)) throw new ApplyError(s.line, `chain "${arg}" already exists`);
        chains.set(arg, { name: arg, builtin: false, policy: null, counters: null, rules: [], index: -1 });
        break;
      }
      case '-X': {
        const targets = arg ? [arg] : [...chains.values()].filter((c) => !c.builtin).map((c) => c.name);
        for (const t of targets) {
          const c = chains.get(t);
          if (!c) throw new ApplyError(s.line, `chain "${t}" does not exist`);
          if (c.builtin) throw new ApplyError(s.line, `cannot delete built-in chain ${t}`);
          // The kernel keeps a chain that still has rules (EBUSY): flush it first.
          if (c.rules.length > 0)
            throw new ApplyError(s.line, `cannot delete chain ${t}: it still has rules (Device or resource busy)`);
          chains.delete(t);
        }
        break;
      }
      case '-F':
        for (const c of arg ? [arg] : [...chains.keys()]) mutableRules(c, s.line).length = 0;
        break;
      case '-Z': {
        // Counters are not kept past a load; what is checked is that the chain and rule exist.
        const rules = arg ? mutableRules(arg, s.line) : [];
        const n = s.args[1]?.text;
        if (n !== undefined && !(/^\d+$/.test(n) && Number(n) >= 1 && Number(n) <= rules.length))
          throw new ApplyError(s.line, `rule ${n} does not exist in chain ${arg}`);
        break;
      }
      case '-P': {
        const c = chains.get(arg);
        const policy = s.args[1]?.text;
        if (!c?.builtin) throw new ApplyError(s.line, `"${arg}" is not a built-in chain`);
        if (policy !== 'ACCEPT' && policy !== 'DROP') throw new ApplyError(s.line, `bad policy "${policy}"`);
        chains.set(arg, { ...c, policy });
        break;
      }
      case '-E': {
        if (s.args.length < 2) throw new ApplyError(s.line, '-E requires old-chain-name and new-chain-name');
        const to = s.args[1]!.text;
        const c = chains.get(arg);
        if (!c || c.builtin) throw new ApplyError(s.line, `cannot rename chain "${arg}"`);
        const problem = newChainNameProblem(to);
        if (problem !== null) throw new ApplyError(s.line, problem);
        if (chains.has(to)) throw new ApplyError(s.line, `chain "${to}" already exists`);
        chains.delete(arg);
        chains.set(to, { ...c, name: to });
        // Jumps follow the chain to its new name, as the kernel's rules point at the chain, not its name.
        for (const other of chains.values()) {
          const rules = other.rules as StoredRule[];
          for (let r = 0; r < rules.length; r++) {
            const stored = rules[r]!;
            const t = stored.rule.target;
            if ((t.kind === 'jump' || t.kind === 'goto') && t.chain === arg)
              rules[r] = {
                rule: { ...stored.rule, target: { kind: t.kind, chain: to } },
                counters: stored.counters,
                line: stored.line,
              };
          }
        }
        lastChain = null;
        break;
      }
      case '-D': {
        const rules = mutableRules(arg, s.line);
        const n = Number(s.args[1]?.text);
        if (!(n >= 1 && n <= rules.length))
          throw new ApplyError(s.line, `rule ${s.args[1]?.text} does not exist in chain ${arg}`);
        rules.splice(n - 1, 1);
        break;
      }
    }
  }
  endRun();
  // Chains made, deleted or renamed above have their places yet to be numbered.
  let index = 0;
  chains.forEach((c, k) => {
    if (c.index !== index) chains.set(k, { ...c, index });
    index++;
  });
  const table = { name, chains, made: true };
  checkTable(table, statements.line);
  return table;
}

type TableBlock = Extract<RestoreScript['blocks'][number], { kind: 'table' }>;

/**
 * Applies a block the parser found plain (see AppendLayout): what applying it statement by
 * statement gives, built from its layout. Chains keep their places and user chains declared anew
 * come after them; a declared user chain holds the rules appended to it, a built-in chain its own
 * followed by those; each list is made in one go (a slice when its rules are consecutive). The
 * commit checks run on a jump graph made from the layout's numbers (and the rules already there);
 * should they find a fault, the usual checks run again to word it.
 */
function applyLayout(base: NetfilterTable, block: TableBlock, layout: AppendLayout): NetfilterTable {
  const list = block.statements;
  const builtins = BUILTIN_CHAINS[base.name];
  const baseChains = [...base.chains.values()];
  const baseIndex = new Map<string, number>();
  for (let i = 0; i < baseChains.length; i++) baseIndex.set(baseChains[i]!.name, i);
  const words = layout.chains;
  const count = layout.chainCount;
  const declaredAt = (i: number) => words[i * CHAIN_WORDS + DECLARED_AT]!;
  // Each layout chain's place in the table: where it already is, or after every chain there.
  const placeOf = new Int32Array(count);
  // Per old chain, whether it keeps its rules (a user chain declared again is flushed).
  const keepsOld = new Uint8Array(baseChains.length).fill(1);
  let next = baseChains.length;
  for (let i = 0; i < count; i++) {
    const name = i < builtins.length ? builtins[i]! : declarationAt(list, declaredAt(i)).name;
    const old = baseIndex.get(name);
    if (old !== undefined && i >= builtins.length) keepsOld[old] = 0;
    placeOf[i] = old ?? next++;
  }
  // The rules the block appends to each chain, in order.
  const appended: StoredRule[][] = new Array(count);
  let scattered = false;
  for (let i = 0; i < count; i++) {
    const n = words[i * CHAIN_WORDS + RULE_COUNT]!;
    const first = words[i * CHAIN_WORDS + FIRST_RULE]!;
    const last = words[i * CHAIN_WORDS + LAST_RULE]!;
    const consecutive = n > 0 && last - first + 1 === n;
    if (n > 0 && !consecutive) scattered = true;
    appended[i] = consecutive ? (list.slice(first, last + 1) as StoredRule[]) : [];
  }
  if (scattered)
    for (let k = 0; k < list.length; k++) {
      const c = layout.statements[k * STATEMENT_WORDS + CHAIN_OF]!;
      if (c >= 0 && appended[c]!.length < words[c * CHAIN_WORDS + RULE_COUNT]!)
        appended[c]!.push(list[k] as StoredRule);
    }
  const chains: Chain[] = baseChains.map((c) => ({ ...c, rules: [...c.rules] }));
  for (let i = 0; i < count; i++) {
    const place = placeOf[i]!;
    const at = declaredAt(i);
    if (i < builtins.length) {
      // A built-in chain keeps its rules (--noflush) and takes a declaration's policy and counters.
      const c = chains[place]!;
      const rules = c.rules.length === 0 ? appended[i]! : [...c.rules, ...appended[i]!];
      const declared = at < 0 ? null : declarationAt(list, at);
      chains[place] = declared
        ? { ...c, policy: declared.policy as 'ACCEPT' | 'DROP', counters: declared.counters, rules }
        : { ...c, rules };
    } else {
      const declared = declarationAt(list, at);
      chains[place] = {
        name: declared.name,
        builtin: false,
        policy: null,
        counters: declared.counters,
        rules: appended[i]!,
        index: place,
      };
    }
  }
  const byName = new Map<string, Chain>();
  for (const c of chains) byName.set(c.name, c);
  const table = { name: base.name, chains: byName, made: true };
  const graph = layoutGraph(chains, baseChains, keepsOld, baseIndex, layout, placeOf);
  if (graph === null || hasFault(table, graph)) checkTable(table, block.line);
  return table;
}

function declarationAt(list: TableBlock['statements'], at: number): Extract<Statement, { kind: 'chain' }> {
  const s = list[at]!;
  if (s.kind !== 'chain') throw new Error('unreachable: a layout names a declaration');
  return s;
}

/**
 * The jump graph of a table applied from a layout, for the commit checks alone (an edge may be
 * there twice): the rules chains kept are read as chainGraph reads them, the appended ones come
 * from the layout's numbers. Null when a kept rule names a chain the old table did not have.
 */
function layoutGraph(
  chains: readonly Chain[],
  baseChains: readonly Chain[],
  keepsOld: Uint8Array,
  baseIndex: ReadonlyMap<string, number>,
  layout: AppendLayout,
  placeOf: Int32Array,
): ChainGraph | null {
  const n = chains.length;
  const words = layout.statements;
  const statementCount = words.length / STATEMENT_WORDS;
  const allowed = new Uint8Array(n).fill(ALL_HOOKS);
  const edgeCount = new Int32Array(n);
  // Kept rules' edges, as (chain, target) pairs.
  const kept: number[] = [];
  for (let c = 0; c < baseChains.length; c++) {
    if (keepsOld[c] === 0) continue;
    for (const r of baseChains[c]!.rules) {
      const rule = r.rule;
      if (rule.matchHooks) for (const m of rule.matchHooks) allowed[c]! &= hookMaskOf(m.hooks);
      const t = rule.target;
      if (t.kind === 'extension') allowed[c]! &= hookMaskOf(targetHooks(t));
      else if (t.kind === 'jump' || t.kind === 'goto') {
        const to = baseIndex.get(t.chain);
        if (to === undefined) return null;
        kept.push(c, to);
        edgeCount[c]!++;
      }
    }
  }
  const masks = layout.targetNames.map((name) => hookMaskOf(findTarget(name)?.hooks));
  for (let k = 0; k < statementCount; k++) {
    const c = words[k * STATEMENT_WORDS + CHAIN_OF]!;
    if (c < 0) continue;
    const to = words[k * STATEMENT_WORDS + TARGET_OF]!;
    if (to >= 0) edgeCount[placeOf[c]!]!++;
    else if (to <= EXTENSION_BASE) allowed[placeOf[c]!]! &= masks[EXTENSION_BASE - to]!;
  }
  const edgeStart = new Int32Array(n + 1);
  for (let c = 0; c < n; c++) edgeStart[c + 1] = edgeStart[c]! + edgeCount[c]!;
  const edges = new Int32Array(edgeStart[n]!);
  const fill = edgeStart.slice(0, n);
  for (let e = 0; e < kept.length; e += 2) edges[fill[kept[e]!]!++] = kept[e + 1]!;
  for (let k = 0; k < statementCount; k++) {
    const c = words[k * STATEMENT_WORDS + CHAIN_OF]!;
    const to = words[k * STATEMENT_WORDS + TARGET_OF]!;
    if (c >= 0 && to >= 0) edges[fill[placeOf[c]!]!++] = placeOf[to]!;
  }
  return { chains, edgeStart, edges, allowed };
}

/** The hooks a target may run at as bits (all of them when it names none). */
function hookMaskOf(hooks: readonly Hook[] | undefined): number {
  return hooks ? hooks.reduce((m, h) => m | HOOK_BIT[h], 0) : ALL_HOOKS;
}

/**
 * The table's chains as numbers and, per chain, the chains its rules jump or go
 * to (each once, in the order first seen): the checks below walk 40,000 chains
 * of a kube-proxy node several times, so they work on typed arrays, not sets of objects.
 */
interface ChainGraph {
  readonly chains: readonly Chain[];
  /** Chain i's edges are edges[edgeStart[i] .. edgeStart[i + 1] - 1] (compressed rows: one array for all). */
  readonly edgeStart: Int32Array;
  readonly edges: Int32Array;
  /** Per chain, the hooks every target in it may run at (a bit per hook). */
  readonly allowed: Uint8Array;
}

/** The graph and the hooks each chain's targets allow, in one pass over the rules. */
function chainGraph(table: NetfilterTable): ChainGraph {
  const chains = [...table.chains.values()];
  // Filled by a loop: a Map built from [name, index] pairs makes a pair array per chain (forty thousand in a big dump).
  const indexOf = new Map<string, number>();
  for (let i = 0; i < chains.length; i++) indexOf.set(chains[i]!.name, i);
  const allowed = new Uint8Array(chains.length).fill(ALL_HOOKS);
  const hookMask = new Map<string, number>();
  const lastSeenBy = new Int32Array(chains.length);
  const edgeStart = new Int32Array(chains.length + 1);
  let edges = new Int32Array(Math.max(16, chains.length * 2));
  let edgeCount = 0;
  for (let ci = 0; ci < chains.length; ci++) {
    edgeStart[ci] = edgeCount;
    for (const r of chains[ci]!.rules) {
      const rule = r.rule;
      const t = rule.target;
      const matchHooks = rule.matchHooks;
      if (matchHooks) for (const m of matchHooks) allowed[ci]! &= hookMaskOf(m.hooks);
      if (t.kind === 'extension') {
        let mask = hookMask.get(t.name);
        if (mask === undefined) {
          mask = hookMaskOf(targetHooks(t));
          // Hooks that depend on options are worked out per rule, not kept by name.
          if (!findTarget(t.name)?.hooksFor) hookMask.set(t.name, mask);
        }
        allowed[ci]! &= mask;
        continue;
      }
      if (t.kind !== 'jump' && t.kind !== 'goto') continue;
      const i = indexOf.get(t.chain);
      if (i === undefined)
        throw new ApplyError(
          r.line,
          unmodelledTarget(t.chain) ?? `-j ${t.chain}: no chain or target by that name in table ${table.name}`,
        );
      if (chains[i]!.builtin) throw new ApplyError(r.line, `-j ${t.chain}: cannot jump to a built-in chain`);
      // Each target once: marked with the chain being read (KUBE-SERVICES jumps to ten thousand).
      if (lastSeenBy[i] === ci + 1) continue;
      lastSeenBy[i] = ci + 1;
      if (edgeCount === edges.length) {
        const grown = new Int32Array(edges.length * 2);
        grown.set(edges);
        edges = grown;
      }
      edges[edgeCount++] = i;
    }
  }
  edgeStart[chains.length] = edgeCount;
  return { chains, edgeStart, edges, allowed };
}

/** The graph's edges as chain objects, for describing a loop. */
function edgeMap(graph: ChainGraph): Map<Chain, Chain[]> {
  const map = new Map<Chain, Chain[]>();
  graph.chains.forEach((c, i) => {
    const out: Chain[] = [];
    for (let e = graph.edgeStart[i]!; e < graph.edgeStart[i + 1]!; e++) out.push(graph.chains[graph.edges[e]!]!);
    map.set(c, out);
  });
  return map;
}

/**
 * Words a loop for the user; graphlib finds the strongly connected chains among those a built-in
 * chain reaches (the only loops the kernel looks for).
 */
function describeLoop(table: NetfilterTable, edges: Map<Chain, Chain[]>, commitLine: number): ApplyError {
  const graph = new Graph({ directed: true });
  const reached = new Set<Chain>([...edges.keys()].filter((c) => c.builtin));
  for (const from of reached) for (const to of edges.get(from)!) reached.add(to);
  for (const from of reached) for (const to of edges.get(from)!) graph.setEdge(from.name, to.name);
  const cycle = alg.findCycles(graph)[0] ?? [];
  const path = [...cycle].reverse();
  return new ApplyError(commitLine, `table ${table.name}: chains ${[...path, path[0]].join(' -> ')} form a loop`);
}

/**
 * Whether a chain a built-in chain reaches reaches itself (iterative depth-first search from each
 * built-in chain: 1 while on the stack, 2 when done). The kernel's check (mark_source_chains) walks
 * from the hooks: a loop among chains no hook reaches loads.
 */
function hasLoop(graph: ChainGraph): boolean {
  const { edgeStart, edges } = graph;
  const colour = new Uint8Array(graph.chains.length);
  // The stack of chains being searched, and per entry the next of its edges to follow.
  const stack = new Int32Array(graph.chains.length);
  const next = new Int32Array(graph.chains.length);
  for (let root = 0; root < graph.chains.length; root++) {
    if (colour[root] !== 0 || !graph.chains[root]!.builtin) continue;
    stack[0] = root;
    next[0] = edgeStart[root]!;
    let sp = 1;
    colour[root] = 1;
    while (sp > 0) {
      const top = sp - 1;
      const chain = stack[top]!;
      if (next[top]! >= edgeStart[chain + 1]!) {
        colour[chain] = 2;
        sp--;
        continue;
      }
      const to = edges[next[top]!++]!;
      if (colour[to] === 1) return true;
      if (colour[to] === 0) {
        colour[to] = 1;
        stack[sp] = to;
        next[sp] = edgeStart[to]!;
        sp++;
      }
    }
  }
  return false;
}

const HOOK_BIT: Readonly<Record<Hook, number>> = { PREROUTING: 1, INPUT: 2, FORWARD: 4, OUTPUT: 8, POSTROUTING: 16 };
const ALL_HOOKS = 31;

/** Whether a chain reachable from the hook's base chain holds a target that does not work at that hook. */
function misplacedTargetAt(table: NetfilterTable, graph: ChainGraph, hook: Hook): boolean {
  const start = graph.chains.indexOf(table.chains.get(hook)!);
  const bit = HOOK_BIT[hook];
  const seen = new Uint8Array(graph.chains.length);
  seen[start] = 1;
  const todo = [start];
  while (todo.length > 0) {
    const chain = todo.pop()!;
    if ((graph.allowed[chain]! & bit) === 0) return true;
    for (let e = graph.edgeStart[chain]!; e < graph.edgeStart[chain + 1]!; e++) {
      const next = graph.edges[e]!;
      if (!seen[next]) {
        seen[next] = 1;
        todo.push(next);
      }
    }
  }
  return false;
}

/** The first misplaced target in the kernel's order of looking, for the error message. */
function misplacedTargetError(table: NetfilterTable, edges: Map<Chain, Chain[]>, hook: Hook): ApplyError | null {
  const start = table.chains.get(hook)!;
  const seen = new Set<Chain>([start]);
  const todo = [start];
  while (todo.length > 0) {
    const chain = todo.pop()!;
    for (const r of chain.rules) {
      const m = r.rule.matchHooks?.find((x) => !x.hooks.includes(hook));
      if (m)
        return new ApplyError(
          r.line,
          `${m.module} match in chain ${chain.name} is reached from ${hook}, but works only in ${m.hooks.join('/')}`,
        );
      const t = r.rule.target;
      if (t.kind !== 'extension') continue;
      const hooks = targetHooks(t);
      if (hooks && !hooks.includes(hook))
        return new ApplyError(
          r.line,
          `${t.name} target in chain ${chain.name} is reached from ${hook}, but works only in ${hooks.join('/')}`,
        );
    }
    for (const next of edges.get(chain)!)
      if (!seen.has(next)) {
        seen.add(next);
        todo.push(next);
      }
  }
  return null;
}

/**
 * The checks the kernel makes when a table is committed (mark_source_chains):
 * every jump lands on an existing user chain, no chain reaches itself, and a
 * target that works only at some hooks is not reachable from the others.
 * The fast checks only say whether something is wrong; the message then comes
 * from a walk in the order the kernel looks, so it names the same rule.
 */
function checkTable(table: NetfilterTable, commitLine: number): void {
  const graph = chainGraph(table);
  if (hasLoop(graph)) throw describeLoop(table, edgeMap(graph), commitLine);
  for (const hook of BUILTIN_CHAINS[table.name]) {
    if (!misplacedTargetAt(table, graph, hook)) continue;
    const error = misplacedTargetError(table, edgeMap(graph), hook);
    if (error) throw error;
  }
}

/** Whether the commit checks would fail: a loop, or a target reachable from a hook it does not work at. */
function hasFault(table: NetfilterTable, graph: ChainGraph): boolean {
  return hasLoop(graph) || BUILTIN_CHAINS[table.name].some((hook) => misplacedTargetAt(table, graph, hook));
}

function targetHooks(target: Extract<RuleTarget, { kind: 'extension' }>): readonly Hook[] | undefined {
  const ext = findTarget(target.name);
  return ext?.hooksFor?.(target.options) ?? ext?.hooks;
}

/** Applies a parsed script to a state, as iptables-restore (with or without --noflush) does. */
export function applyRestoreScript(state: NetfilterState, script: RestoreScript, opts: ApplyOptions): ApplyResult {
  const tables = new Map(state.tables);
  try {
    for (const block of script.blocks) {
      if (block.kind !== 'table') continue;
      tables.set(block.name, applyTable(tables.get(block.name), block.name, block, opts));
    }
  } catch (e) {
    if (e instanceof ApplyError) return { ok: false, error: { line: e.line, message: e.message } };
    throw e;
  }
  return { ok: true, state: { tables } };
}
