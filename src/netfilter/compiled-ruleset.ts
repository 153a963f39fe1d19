// The loaded rules prepared for fast evaluation: each table's rules as rows of
// int32 words in one typed array (header test, jump, action kind), chain after
// chain, and per chain an index by destination address and port that skips
// rules which cannot match while still counting them as the kernel would.
// A chain's rows and index are written when a walk first enters it: a trace
// meets a few dozen of a big node's forty thousand chains, so loading such a
// node does not pay for preparing the rest.
import { type IPv4Prefix, type L4Protocol, maskOf } from '../net';
import type { CompiledMatch, Hook, NfPacket, TableName, TargetAction } from './extension';
import { interfaceMatches } from './matches/simple-matches';
import { BUILTIN_CHAINS, type Chain, type NetfilterState, type NetfilterTable } from './netfilter-state';
import { PositionIndex, type Positions } from './position-index';
import { hasAddressLists, type Rule, type RuleHeader } from './rule';

/** A match in one fixed shape, so the walk's property reads stay monomorphic. */
export interface RuleMatchStep {
  readonly test: CompiledMatch['test'] | null;
  readonly probability: number | null;
  readonly effect: CompiledMatch['effect'] | null;
  readonly nth: NonNullable<CompiledMatch['nth']> | null;
  readonly perRule: NonNullable<CompiledMatch['perRule']> | null;
}

/** What one table at one hook decides for a packet. */
export type TableVerdict =
  | { readonly kind: 'ACCEPT' }
  | { readonly kind: 'DROP' }
  | { readonly kind: 'REJECT'; readonly rejectWith: string }
  | NatVerdict;

/**
 * A NAT target's verdict. A DNAT's new destination (its address and port ranges, and whether it is
 * --persistent) is copied from the action, so the usual NAT (kube-proxy's DNAT to an endpoint)
 * reads one object, not three.
 */
export type NatVerdict =
  | {
      readonly kind: 'NAT';
      readonly dnat: true;
      readonly action: Extract<TargetAction, { kind: 'DNAT' }>;
      readonly toAddress: number | null;
      readonly toAddressMax: number | null;
      readonly toPort: number | null;
      readonly toPortMax: number | null;
      readonly persistent: boolean;
    }
  | {
      readonly kind: 'NAT';
      readonly dnat: false;
      readonly action: Extract<TargetAction, { kind: 'SNAT' | 'MASQUERADE' | 'REDIRECT' }>;
    };

/** The verdict of a NAT target. */
export function natVerdict(
  action: Extract<TargetAction, { kind: 'DNAT' | 'SNAT' | 'MASQUERADE' | 'REDIRECT' }>,
): NatVerdict {
  if (action.kind !== 'DNAT') return { kind: 'NAT', dnat: false, action };
  const r = action;
  return {
    kind: 'NAT',
    dnat: true,
    action,
    toAddress: r.minAddress,
    toAddressMax: r.maxAddress,
    toPort: r.minPort,
    toPortMax: r.maxPort,
    persistent: action.persistent,
  };
}

// Verdicts without details are shared: a walk with hops off should allocate as little as it can.
export const ACCEPTED: TableVerdict = { kind: 'ACCEPT' };
export const DROPPED: TableVerdict = { kind: 'DROP' };

/**
 * A rule is RULE_WORDS int32 words in its table's `words`; the rules of a chain
 * are consecutive. A packet to a random Service meets rules no other packet
 * touched lately, and each object a rule is spread over is another cache miss:
 * as a row, a short chain (a Service's, an endpoint's) is a line or two of memory.
 */
export const RULE_WORDS = 8;
/** Int32 words per chain in a table's `chainWords`. */
export const CHAIN_WORDS = 2;

/** Word 0: the flags below. */
export const W_FLAGS = 0;
/** Words 1-4: -d and -s as int32 mask and network. */
export const W_DST_MASK = 1;
export const W_DST_NET = 2;
export const W_SRC_MASK = 3;
export const W_SRC_NET = 4;
/** Word 5: the chain a -j/-g goes to, as its id + 1 (0: no jump). */
export const W_JUMP = 5;
/** Word 6: the index of the extension target's action in `actions` (for kinds that need it). */
export const W_ACTION = 6;
/** Word 7: the index of the rule's match steps in `stepLists` (0: none). */
export const W_STEPS = 7;

// Flags: bits 0-1 -d mode, 2-3 -s mode (ANY, MATCH, NOT_MATCH); 4-6 -p as a protocol code (0: any);
// 7 -p negated; 8 -g; 9-11 the action kind; 12-31 the index + 1 of the rule's other header test.
export const ANY = 0;
export const MATCH = 1;
export const NOT_MATCH = 2;
export const SRC_SHIFT = 2;
export const PROTOCOL_SHIFT = 4;
export const PROTOCOL_NEGATED = 1 << 7;
export const GOTO = 1 << 8;
export const ACTION_SHIFT = 9;
export const OTHER_SHIFT = 12;
const MAX_OTHERS = (1 << (32 - OTHER_SHIFT)) - 2;

/** What an extension target does, as the walk dispatches on it (0: a jump, a goto or no target). */
export const ActionKind = {
  None: 0,
  Accept: 1,
  Drop: 2,
  Return: 3,
  Reject: 4,
  Nat: 5,
  Notrack: 6,
  Continue: 7,
} as const;
export type ActionKind = (typeof ActionKind)[keyof typeof ActionKind];

/** A packet's (or rule's) protocol as the code the flags keep (0 is "any"). */
export function protocolCode(protocol: L4Protocol | string): number {
  return protocol === 'tcp'
    ? 1
    : protocol === 'udp'
      ? 2
      : protocol === 'sctp'
        ? 3
        : protocol === 'icmp'
          ? 4
          : OTHER_PROTOCOL;
}

/** A rule's -p naming a protocol no traced packet carries (gre, ipencap, ...): never equal to a packet's code. */
const OTHER_PROTOCOL = 5;

export interface ChainIndex {
  readonly byDst: PositionIndex;
  readonly byDport: PositionIndex;
  /** Positions of rules that may match any destination and port. */
  readonly rest: readonly number[];
}

export interface CompiledChain {
  readonly name: string;
  readonly builtin: boolean;
  readonly policy: 'ACCEPT' | 'DROP' | null;
  /** Its place in the table's `chainList`. */
  readonly id: number;
  /** The table-wide number of its first rule (rows `start` .. `start + ruleCount - 1` of `words`). */
  readonly start: number;
  readonly ruleCount: number;
  /**
   * Null when the chain is short enough that a plain walk is as fast, or not prepared yet
   * (prepareChain sets it with the chain's rows).
   */
  index: ChainIndex | null;
}

export interface CompiledTable {
  readonly name: TableName;
  /**
   * The chains by id (a chain's `index` in the state): made as walks prepare them, so a chain not
   * prepared yet has none here (chainAt makes one; compiledChainNamed finds one by name). Its
   * length is the table's number of chains.
   */
  readonly chainList: readonly (CompiledChain | undefined)[];
  /**
   * Per chain id, CHAIN_WORDS words: its `start`, and its rule count times two plus one when it
   * has an index. A jump reads these rather than the chain object, one cache miss fewer.
   */
  readonly chainWords: Int32Array;
  /** Every rule of the table as RULE_WORDS int32 words, chain after chain (a chain's once it is prepared). */
  readonly words: Int32Array;
  /** Each rule as it was read, by its table-wide number (a prepared chain's): read only to report a hop. */
  readonly sources: readonly Rule[];
  /** Per chain id, 1 once prepareChain has written its rows. */
  readonly prepared: Uint8Array;
  /** What preparing a chain needs: its rules as loaded, by chain id, and the table's shared lists. */
  readonly build: TableBuild;
  /**
   * Actions of extension targets that carry details, and the verdict each gives (null for CONTINUE,
   * and for a plain DNAT, whose verdict is made from `build.plainDnat`).
   */
  readonly actions: readonly TargetAction[];
  readonly verdicts: readonly (TableVerdict | null)[];
  /** Lists of match steps (index 0: the empty list); a comment does nothing and has none. */
  readonly stepLists: readonly (readonly RuleMatchStep[])[];
  /** Header tests with no flat form: interfaces, fragments, lists of addresses. */
  readonly others: readonly ((p: NfPacket) => boolean)[];
}

export interface CompiledRuleset {
  readonly tables: ReadonlyMap<TableName, CompiledTable>;
}

export interface CompileOptions {
  /** Build chain indexes (default true). Turning them off gives the plain linear walk. */
  readonly indexed?: boolean;
  /** Chains shorter than this are walked without an index. */
  readonly indexThreshold?: number;
}

function anyPrefixHit(prefixes: readonly IPv4Prefix[], a: number): boolean {
  return prefixes.some((x) => (a & maskOf(x.length)) >>> 0 === x.address);
}

/** Tests the header fields that have no flat form: interfaces, fragments, lists of addresses. */
function otherHeaderTests(h: RuleHeader): ((p: NfPacket) => boolean) | null {
  const lists = hasAddressLists(h);
  if (!lists && !h.inIface && !h.outIface && !h.fragment) return null;
  const tests: ((p: NfPacket) => boolean)[] = [];
  const src = h.src;
  const srcList = src?.list;
  if (src && srcList) tests.push((p) => anyPrefixHit(srcList, p.src) !== src.negated);
  const dst = h.dst;
  const dstList = dst?.list;
  if (dst && dstList) tests.push((p) => anyPrefixHit(dstList, p.dst) !== dst.negated);
  if (h.inIface) {
    const { name, negated } = h.inIface;
    tests.push((p) => (p.inIface !== null && interfaceMatches(name, p.inIface)) !== negated);
  }
  if (h.outIface) {
    const { name, negated } = h.outIface;
    tests.push((p) => (p.outIface !== null && interfaceMatches(name, p.outIface)) !== negated);
  }
  if (h.fragment) {
    const { negated } = h.fragment;
    tests.push((p) => p.fragment !== negated);
  }
  if (tests.length === 0) return null;
  if (tests.length === 1) return tests[0]!;
  return (p) => tests.every((t) => t(p));
}

/** The mode, int32 mask and int32 network of a one-prefix address condition (ANY for none or a list). */
function addressMode(c: RuleHeader['src']): number {
  return c && c.list === null ? (c.negated ? NOT_MATCH : MATCH) : ANY;
}
function addressMask(c: RuleHeader['src']): number {
  return c && c.list === null ? maskOf(c.length) | 0 : 0;
}
function addressNet(c: RuleHeader['src']): number {
  return c && c.list === null ? c.address | 0 : 0;
}

/** The exact destination a rule requires (-d A/32, not negated), or null. */
function exactDestination(rule: Rule): number | null {
  const dst = rule.header.dst;
  return dst && !dst.negated && dst.list === null && dst.length === 32 ? dst.address : null;
}

/** The exact port a rule requires, reached without side effects, or null. */
function exactPort(rule: Rule): number | null {
  for (const { compiled: m } of rule.matches) {
    if (m.exactDport !== undefined) return m.exactDport;
    // A match before the port test that draws a random number or changes state must still run.
    if (m.probability !== undefined || m.effect !== undefined || m.stateful || m.perRule !== undefined) return null;
  }
  return null;
}

/** Files position `i` under `key`, keeping a lone position as a number. */
function file(map: Map<number, Positions>, key: number, i: number): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, i);
  else if (typeof list === 'number') map.set(key, [list, i]);
  else (list as number[]).push(i);
}

function buildIndex(rules: readonly { readonly rule: Rule }[]): ChainIndex {
  const byDst = new Map<number, Positions>();
  const byDport = new Map<number, Positions>();
  const rest: number[] = [];
  // A rule is filed under its exact destination, else its exact port, else with the rest.
  rules.forEach(({ rule }, i) => {
    const dst = exactDestination(rule);
    const port = dst === null ? exactPort(rule) : null;
    if (dst !== null) file(byDst, dst, i);
    else if (port !== null) file(byDport, port, i);
    else rest.push(i);
  });
  return { byDst: new PositionIndex(byDst), byDport: new PositionIndex(byDport), rest };
}

/** Smallest position >= from, or Infinity. */
function firstAtOrAfter(list: Positions | undefined, from: number): number {
  if (list === undefined) return Number.POSITIVE_INFINITY;
  if (typeof list === 'number') return list >= from ? list : Number.POSITIVE_INFINITY;
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]! < from) lo = mid + 1;
    else hi = mid;
  }
  return lo < list.length ? list[lo]! : Number.POSITIVE_INFINITY;
}

/** The next rule position (in the chain) at or after `from` that could match the packet, or -1. */
export function nextCandidate(chain: CompiledChain, from: number, p: NfPacket): number {
  if (from >= chain.ruleCount) return -1;
  const index = chain.index;
  if (!index) return from;
  const next = Math.min(
    firstAtOrAfter(index.rest, from),
    firstAtOrAfter(index.byDst.get(p.dst), from),
    firstAtOrAfter(index.byDport.get(p.dport), from),
  );
  return next === Number.POSITIVE_INFINITY ? -1 : next;
}

const NO_STEPS: readonly RuleMatchStep[] = [];

/** What a table's compilation shares: steps made once per compiled match (parsing shares those), list ids, action ids. */
export interface TableBuild {
  /** The table compiled (its chains by name) and its chains by id. */
  readonly table: NetfilterTable;
  readonly chainsById: readonly Chain[];
  readonly indexed: boolean;
  readonly threshold: number;
  readonly steps: Map<CompiledMatch, RuleMatchStep>;
  /** The id of the one-step list of each step. */
  readonly single: Map<RuleMatchStep, number>;
  readonly stepLists: (readonly RuleMatchStep[])[];
  readonly actionIds: Map<TargetAction, number>;
  readonly actions: TargetAction[];
  readonly verdicts: (TableVerdict | null)[];
  /**
   * Per action id, two words: a plain DNAT's address (one address, not --persistent) and port (one
   * port, or NO_PORT), or NOT_PLAIN_DNAT in the second word for every other action. A packet to a
   * random Service ends at a random endpoint's DNAT; these words (8 bytes an action, in cache)
   * spare it reading that endpoint's verdict object (a cache miss a packet).
   */
  plainDnat: Int32Array;
  readonly others: ((p: NfPacket) => boolean)[];
}

function stepOf(m: CompiledMatch, build: TableBuild): RuleMatchStep {
  let step = build.steps.get(m);
  if (!step) {
    step = {
      test: m.test ?? null,
      probability: m.probability ?? null,
      effect: m.effect ?? null,
      nth: m.nth ?? null,
      perRule: m.perRule ?? null,
    };
    build.steps.set(m, step);
  }
  return step;
}

/** The id of a rule's match steps; a match with no test, chance or effect (a comment) passes and is dropped. */
function stepsIdOf(rule: Rule, build: TableBuild): number {
  let steps: RuleMatchStep[] | null = null;
  for (const { compiled: m } of rule.matches) {
    if (m.test === undefined && m.probability === undefined && m.effect === undefined && m.perRule === undefined)
      continue;
    steps ??= [];
    steps.push(stepOf(m, build));
  }
  if (steps === null) return 0;
  if (steps.length === 1) {
    const known = build.single.get(steps[0]!);
    if (known !== undefined) return known;
    build.single.set(steps[0]!, build.stepLists.length);
  }
  build.stepLists.push(steps);
  return build.stepLists.length - 1;
}

/** How the walk dispatches on each kind of extension target. */
const ACTION_KINDS: Readonly<Record<TargetAction['kind'], ActionKind>> = {
  ACCEPT: ActionKind.Accept,
  DROP: ActionKind.Drop,
  RETURN: ActionKind.Return,
  REJECT: ActionKind.Reject,
  DNAT: ActionKind.Nat,
  SNAT: ActionKind.Nat,
  MASQUERADE: ActionKind.Nat,
  REDIRECT: ActionKind.Nat,
  NOTRACK: ActionKind.Notrack,
  CONTINUE: ActionKind.Continue,
};

/** The index of an action in the table's list, with the verdict it gives made once (a plain DNAT's, its plainDnat words). */
function actionIdOf(action: TargetAction, build: TableBuild): number {
  let id = build.actionIds.get(action);
  if (id === undefined) {
    id = build.actions.length;
    build.actions.push(action);
    build.actionIds.set(action, id);
    if (build.plainDnat.length < 2 * (id + 1)) {
      const grown = new Int32Array(build.plainDnat.length * 2);
      grown.set(build.plainDnat);
      build.plainDnat = grown;
    }
    const r = action.kind === 'DNAT' && !action.persistent ? action : null;
    const plain = r !== null && r.minAddress !== null && r.minAddress === r.maxAddress && r.minPort === r.maxPort;
    build.plainDnat[2 * id] = plain ? r.minAddress! | 0 : 0;
    build.plainDnat[2 * id + 1] = plain ? (r.minPort ?? NO_PORT) : NOT_PLAIN_DNAT;
    build.verdicts.push(plain ? null : verdictOf(action));
  }
  return id;
}

/** The verdict an action gives, made once per action (null for CONTINUE and the like). */
function verdictOf(action: TargetAction): TableVerdict | null {
  switch (action.kind) {
    case 'ACCEPT':
      return ACCEPTED;
    case 'DROP':
      return DROPPED;
    case 'REJECT':
      return { kind: 'REJECT', rejectWith: action.rejectWith };
    case 'DNAT':
    case 'SNAT':
    case 'MASQUERADE':
    case 'REDIRECT':
      return natVerdict(action);
    default:
      return null;
  }
}

/** In plainDnat: a plain DNAT that keeps the packet's port, and an action that is no plain DNAT. */
export const NO_PORT = -1;
export const NOT_PLAIN_DNAT = -2;

/** The verdict of the plain DNAT with action `id` (its plainDnat words say it is one), made from those words. */
export function plainDnatVerdict(table: CompiledTable, id: number): NatVerdict {
  const words = table.build.plainDnat;
  const address = words[2 * id]! >>> 0;
  const port = words[2 * id + 1]!;
  return {
    kind: 'NAT',
    dnat: true,
    action: table.actions[id] as Extract<TargetAction, { kind: 'DNAT' }>,
    toAddress: address,
    toAddressMax: address,
    toPort: port === NO_PORT ? null : port,
    toPortMax: port === NO_PORT ? null : port,
    persistent: false,
  };
}

/** Writes rule `r`'s row: the header fields, the jump, the action and the match steps. */
function writeRule(
  words: Int32Array,
  r: number,
  rule: Rule,
  /** The chain its -j/-g names (the state's), or undefined. */
  jumpTo: Chain | undefined,
  build: TableBuild,
): void {
  const h = rule.header;
  const at = r * RULE_WORDS;
  const t = rule.target;
  let flags = addressMode(h.dst) | (addressMode(h.src) << SRC_SHIFT);
  if (h.protocol) {
    flags |= protocolCode(h.protocol.name) << PROTOCOL_SHIFT;
    if (h.protocol.negated) flags |= PROTOCOL_NEGATED;
  }
  if (t.kind === 'goto') flags |= GOTO;
  if (t.kind === 'extension') {
    flags |= ACTION_KINDS[t.action.kind] << ACTION_SHIFT;
    words[at + W_ACTION] = actionIdOf(t.action, build);
  }
  const other = otherHeaderTests(h);
  if (other !== null) {
    if (build.others.length > MAX_OTHERS)
      throw new Error('more rules with interface or list conditions than a table can index');
    build.others.push(other);
    flags |= build.others.length << OTHER_SHIFT;
  }
  words[at + W_FLAGS] = flags;
  words[at + W_DST_MASK] = addressMask(h.dst);
  words[at + W_DST_NET] = addressNet(h.dst);
  words[at + W_SRC_MASK] = addressMask(h.src);
  words[at + W_SRC_NET] = addressNet(h.src);
  words[at + W_JUMP] = jumpTo === undefined ? 0 : jumpTo.index + 1;
  words[at + W_STEPS] = stepsIdOf(rule, build);
}

export function compileRuleset(state: NetfilterState, options: CompileOptions = {}): CompiledRuleset {
  const indexed = options.indexed ?? true;
  const threshold = options.indexThreshold ?? 8;
  const tables = new Map<TableName, CompiledTable>();
  const steps = new Map<CompiledMatch, RuleMatchStep>();
  for (const [name, table] of state.tables) {
    // Chains are numbered by their places in the state (Chain.index), so a jump finds its chain's
    // number through the state's own map; a chain's CompiledChain is made when it is prepared.
    // (forEach: a for-of over the map's values made an iterator result per chain, 41,000 of them
    // for a kube-proxy node.)
    const count = table.chains.size;
    const chainsById = new Array<Chain>(count);
    const chainWords = new Int32Array(count * CHAIN_WORDS);
    let total = 0;
    let id = 0;
    table.chains.forEach((chain) => {
      if (chain.index !== id) throw new Error(`unreachable: chain ${chain.name} is numbered ${chain.index}, at ${id}`);
      chainsById[id] = chain;
      chainWords[id * CHAIN_WORDS] = total;
      chainWords[id * CHAIN_WORDS + 1] = chain.rules.length * 2;
      total += chain.rules.length;
      id++;
    });
    const build: TableBuild = {
      table,
      chainsById,
      indexed,
      threshold,
      steps,
      single: new Map(),
      stepLists: [NO_STEPS],
      actionIds: new Map(),
      actions: [],
      verdicts: [],
      plainDnat: new Int32Array(64),
      others: [],
    };
    tables.set(name, {
      name,
      chainList: new Array<CompiledChain | undefined>(count),
      chainWords,
      words: new Int32Array(total * RULE_WORDS),
      sources: new Array<Rule>(total),
      prepared: new Uint8Array(count),
      build,
      actions: build.actions,
      verdicts: build.verdicts,
      stepLists: build.stepLists,
      others: build.others,
    });
  }
  return { tables };
}

/** Chain `id` of a compiled table, made when first asked for. */
function chainAt(table: CompiledTable, id: number): CompiledChain {
  const known = table.chainList[id];
  if (known !== undefined) return known;
  const chain = table.build.chainsById[id]!;
  const made: CompiledChain = {
    name: chain.name,
    builtin: chain.builtin,
    policy: chain.policy,
    id,
    start: table.chainWords[id * CHAIN_WORDS]!,
    ruleCount: chain.rules.length,
    index: null,
  };
  (table.chainList as (CompiledChain | undefined)[])[id] = made;
  return made;
}

/** The compiled chain of that name (a hook's base chain), or undefined when the table has none. */
export function compiledChainNamed(table: CompiledTable, name: string): CompiledChain | undefined {
  const chain = table.build.table.chains.get(name);
  return chain === undefined ? undefined : chainAt(table, chain.index);
}

/**
 * Writes chain `id`'s rows and builds its index, once: the walk calls it for the base chain it
 * starts in and each chain it jumps or goes to. It reads the rules of the state the table was
 * compiled from (kept by the table; applying a script makes a new state, never changes one), and
 * only adds to the table's shared lists (steps, actions, header tests), so ids already written stay valid.
 */
export function prepareChain(table: CompiledTable, id: number): void {
  if (table.prepared[id] === 1) return;
  const build = table.build;
  const chain = chainAt(table, id);
  const rules = build.chainsById[id]!.rules;
  const chains = build.table.chains;
  if (build.indexed && rules.length >= build.threshold) {
    chain.index = buildIndex(rules);
    table.chainWords[id * CHAIN_WORDS + 1] = chain.ruleCount * 2 + 1;
  }
  const sources = table.sources as Rule[];
  let r = chain.start;
  for (const { rule } of rules) {
    const t = rule.target;
    const jumpTo = t.kind === 'jump' || t.kind === 'goto' ? chains.get(t.chain) : undefined;
    writeRule(table.words, r, rule, jumpTo, build);
    sources[r++] = rule;
  }
  table.prepared[id] = 1;
}

/** Prepares every chain of every table now, as walks entering each would: for measuring, or a long run that meets them all. */
export function prepareAllChains(ruleset: CompiledRuleset): void {
  for (const table of ruleset.tables.values())
    for (let id = 0; id < table.chainList.length; id++) prepareChain(table, id);
}

export function builtinChainsOf(table: TableName): readonly Hook[] {
  return BUILTIN_CHAINS[table];
}
