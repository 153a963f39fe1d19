// The loaded rules prepared for fast evaluation: each rule's IP-header test as
// one function, and per chain an index by destination address and port that
// skips rules which cannot match while still counting them as the kernel would.
import { type IPv4Prefix, maskOf } from '../net';
import type { CompiledMatch, Hook, NfPacket, TableName, TargetAction } from './extension';
import { interfaceMatches } from './matches/simple-matches';
import { BUILTIN_CHAINS, type NetfilterState } from './netfilter-state';
import type { Rule, RuleHeader } from './rule';

/** A match in one fixed shape, so the walk's property reads stay monomorphic. */
export interface RuleMatchStep {
  readonly test: CompiledMatch['test'] | null;
  readonly probability: number | null;
  readonly effect: CompiledMatch['effect'] | null;
}

/**
 * A rule as the walk reads it. The header's fields sit on the rule itself and
 * matches that do nothing (comments) are left out: a packet to a random Service
 * meets rules no other packet touched lately, and every object hop is a cache miss.
 */
export interface CompiledRule extends HeaderTest {
  /** The matches that test, draw or change something, in rule order. */
  readonly matches: readonly RuleMatchStep[];
  /** The chain a -j/-g target goes to, resolved once. */
  jumpTo: CompiledChain | null;
  /** The target is -g: the jump replaces the current frame. */
  readonly goto: boolean;
  /** An extension target's action, on the rule itself (null for jumps, gotos and no target). */
  readonly action: TargetAction | null;
  // Read only to report a hop.
  readonly rule: Rule;
  readonly chain: string;
  /** 1-based, as `iptables -L --line-numbers` counts. */
  readonly number: number;
}

/** Rule positions, ascending; a lone position is kept as a number (most keys of a kube-proxy chain have one rule). */
export type Positions = number | readonly number[];

export interface ChainIndex {
  readonly byDst: ReadonlyMap<number, Positions>;
  readonly byDport: ReadonlyMap<number, Positions>;
  /** Positions of rules that may match any destination and port. */
  readonly rest: readonly number[];
}

export interface CompiledChain {
  readonly name: string;
  readonly builtin: boolean;
  readonly policy: 'ACCEPT' | 'DROP' | null;
  rules: readonly CompiledRule[];
  /** Null when the chain is short enough that a plain walk is as fast. */
  index: ChainIndex | null;
}

export interface CompiledTable {
  readonly name: TableName;
  readonly chains: ReadonlyMap<string, CompiledChain>;
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

/**
 * The ipt_ip part of a rule (checked before any match, as ip_packet_match does)
 * as plain fields: one monomorphic test reads them, where a closure per rule
 * would make every header check an indirect call the optimiser cannot inline.
 * Address masks and networks are kept as int32 so the comparisons stay small integers.
 */
export interface HeaderTest {
  /** 0: no condition, 1: must match, 2: must not match. */
  readonly srcMode: number;
  readonly srcMask: number;
  readonly srcNet: number;
  readonly dstMode: number;
  readonly dstMask: number;
  readonly dstNet: number;
  /** The -p protocol, or null for any. */
  readonly protocol: string | null;
  readonly protocolNegated: boolean;
  /** Everything rarer (interfaces, fragments, address lists): one closure, or null. */
  readonly other: ((p: NfPacket) => boolean) | null;
}

const ANY = 0;
const MATCH = 1;
const NOT_MATCH = 2;

function anyPrefixHit(prefixes: readonly IPv4Prefix[], a: number): boolean {
  return prefixes.some((x) => (a & maskOf(x.length)) >>> 0 === x.address);
}

/** Tests the header fields that have no flat form: interfaces, fragments, lists of addresses. */
function otherHeaderTests(h: RuleHeader): ((p: NfPacket) => boolean) | null {
  const lists = (h.src?.prefixes.length ?? 0) > 1 || (h.dst?.prefixes.length ?? 0) > 1;
  if (!lists && !h.inIface && !h.outIface && !h.fragment) return null;
  const tests: ((p: NfPacket) => boolean)[] = [];
  const src = h.src;
  if (src && src.prefixes.length > 1) tests.push((p) => anyPrefixHit(src.prefixes, p.src) !== src.negated);
  const dst = h.dst;
  if (dst && dst.prefixes.length > 1) tests.push((p) => anyPrefixHit(dst.prefixes, p.dst) !== dst.negated);
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
  return c && c.prefixes.length === 1 ? (c.negated ? NOT_MATCH : MATCH) : ANY;
}
function addressMask(c: RuleHeader['src']): number {
  return c && c.prefixes.length === 1 ? maskOf(c.prefixes[0]!.length) | 0 : 0;
}
function addressNet(c: RuleHeader['src']): number {
  return c && c.prefixes.length === 1 ? c.prefixes[0]!.address | 0 : 0;
}

/** Whether the packet passes a rule's header (the order of the checks does not matter: none has effects). */
export function headerMatches(h: HeaderTest, p: NfPacket): boolean {
  if (h.dstMode !== ANY && ((p.dst & h.dstMask) === h.dstNet) !== (h.dstMode === MATCH)) return false;
  if (h.srcMode !== ANY && ((p.src & h.srcMask) === h.srcNet) !== (h.srcMode === MATCH)) return false;
  if (h.protocol !== null && (p.protocol === h.protocol) === h.protocolNegated) return false;
  return h.other === null || h.other(p);
}

/** The exact destination a rule requires (-d A/32, not negated), or null. */
function exactDestination(rule: CompiledRule): number | null {
  const dst = rule.rule.header.dst;
  return dst && !dst.negated && dst.prefixes.length === 1 && dst.prefixes[0]!.length === 32
    ? dst.prefixes[0]!.address
    : null;
}

/** The exact port a rule requires, reached without side effects, or null. */
function exactPort(rule: CompiledRule): number | null {
  for (const { compiled: m } of rule.rule.matches) {
    if (m.exactDport !== undefined) return m.exactDport;
    // A match before the port test that draws a random number or changes state must still run.
    if (m.probability !== undefined || m.effect !== undefined || m.stateful) return null;
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

function buildIndex(rules: readonly CompiledRule[]): ChainIndex {
  const byDst = new Map<number, Positions>();
  const byDport = new Map<number, Positions>();
  const rest: number[] = [];
  // A rule is filed under its exact destination, else its exact port, else with the rest.
  rules.forEach((r, i) => {
    const dst = exactDestination(r);
    const port = dst === null ? exactPort(r) : null;
    if (dst !== null) file(byDst, dst, i);
    else if (port !== null) file(byDport, port, i);
    else rest.push(i);
  });
  return { byDst, byDport, rest };
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

/** The next rule position at or after `from` that could match the packet, or -1. */
export function nextCandidate(chain: CompiledChain, from: number, p: NfPacket): number {
  if (from >= chain.rules.length) return -1;
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

/** Steps made once per compiled match (parsing shares those), and the one-step lists rules share. */
interface StepCache {
  readonly steps: Map<CompiledMatch, RuleMatchStep>;
  readonly single: Map<RuleMatchStep, readonly RuleMatchStep[]>;
}

function stepOf(m: CompiledMatch, cache: StepCache): RuleMatchStep {
  let step = cache.steps.get(m);
  if (!step) {
    step = { test: m.test ?? null, probability: m.probability ?? null, effect: m.effect ?? null };
    cache.steps.set(m, step);
  }
  return step;
}

/** The steps of a rule's matches; a match with no test, chance or effect (a comment) passes and is dropped. */
function stepsOf(rule: Rule, cache: StepCache): readonly RuleMatchStep[] {
  let steps: RuleMatchStep[] | null = null;
  for (const { compiled: m } of rule.matches) {
    if (m.test === undefined && m.probability === undefined && m.effect === undefined) continue;
    steps ??= [];
    steps.push(stepOf(m, cache));
  }
  if (steps === null) return NO_STEPS;
  if (steps.length > 1) return steps;
  const only = steps[0]!;
  let shared = cache.single.get(only);
  if (!shared) {
    shared = steps;
    cache.single.set(only, shared);
  }
  return shared;
}

function compileRule(rule: Rule, chain: string, number: number, cache: StepCache): CompiledRule {
  // The header's fields are written straight into the rule, the fields the walk reads first:
  // a compiled table is a hundred thousand of these, met in no order a cache can predict.
  const h = rule.header;
  return {
    dstMode: addressMode(h.dst),
    dstMask: addressMask(h.dst),
    dstNet: addressNet(h.dst),
    srcMode: addressMode(h.src),
    srcMask: addressMask(h.src),
    srcNet: addressNet(h.src),
    protocol: h.protocol?.name ?? null,
    protocolNegated: h.protocol?.negated ?? false,
    other: otherHeaderTests(h),
    matches: stepsOf(rule, cache),
    jumpTo: null,
    goto: rule.target.kind === 'goto',
    action: rule.target.kind === 'extension' ? rule.target.action : null,
    rule,
    chain,
    number,
  };
}

export function compileRuleset(state: NetfilterState, options: CompileOptions = {}): CompiledRuleset {
  const indexed = options.indexed ?? true;
  const threshold = options.indexThreshold ?? 8;
  const tables = new Map<TableName, CompiledTable>();
  const cache: StepCache = { steps: new Map(), single: new Map() };
  for (const [name, table] of state.tables) {
    const chains = new Map<string, CompiledChain>();
    // Chains first, so every jump can point straight at its chain.
    for (const chain of table.chains.values())
      chains.set(chain.name, {
        name: chain.name,
        builtin: chain.builtin,
        policy: chain.policy,
        rules: [],
        index: null,
      });
    for (const chain of table.chains.values()) {
      const compiled = chains.get(chain.name)!;
      compiled.rules = chain.rules.map((s, i): CompiledRule => {
        const rule = compileRule(s.rule, chain.name, i + 1, cache);
        const t = s.rule.target;
        if (t.kind === 'jump' || t.kind === 'goto') rule.jumpTo = chains.get(t.chain) ?? null;
        return rule;
      });
      compiled.index = indexed && compiled.rules.length >= threshold ? buildIndex(compiled.rules) : null;
    }
    tables.set(name, { name, chains });
  }
  return { tables };
}

export function builtinChainsOf(table: TableName): readonly Hook[] {
  return BUILTIN_CHAINS[table];
}
