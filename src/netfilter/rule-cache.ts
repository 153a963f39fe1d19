// Parts of rules shared by the rules of one script. A kube-proxy dump repeats
// the same few matches, targets and addresses thousands of times ("-m tcp
// --dport 80", "-j KUBE-MARK-MASQ", "! -s 10.244.0.0/16"); compiling each once
// and sharing the result keeps a 100,000-rule load small and its walk in cache.
// Safe because extensions compile options and facts into pure values: what a
// match remembers between packets lives in the flow, not in the compiled match.
import type { L4Protocol } from '../net';
import type { ParsedOption, TableName } from './extension';
import type { AddressCondition, RuleMatch, RuleTarget } from './rule';

/** What an extension was compiled from: its name, where (table, -p, loaded by -p) and its exact options. */
export interface CompiledFrom {
  readonly name: string;
  readonly implicit: boolean;
  readonly table: TableName;
  readonly protocol: L4Protocol | null;
  readonly options: readonly ParsedOption[];
}

export interface Entry<T> {
  readonly from: CompiledFrom;
  readonly value: T;
}

/**
 * Values by what they were compiled from, found by a hash of the parts and a
 * comparison. The parser hashes and compares the options straight from the
 * line's tokens, so a hit (nearly every lookup) makes no option objects at all.
 */
export class CompiledCache<T> {
  private readonly buckets = new Map<number, Entry<T>[]>();

  /** Entries whose parts hash to `hash` (compare them with what is looked for). */
  bucket(hash: number): readonly Entry<T>[] | undefined {
    return this.buckets.get(hash);
  }

  add(hash: number, from: CompiledFrom, value: T): void {
    const bucket = this.buckets.get(hash);
    if (bucket) bucket.push({ from, value });
    else this.buckets.set(hash, [{ from, value }]);
  }

  get(from: CompiledFrom): T | undefined {
    for (const e of this.bucket(hashOf(from)) ?? []) if (sameSource(e.from, from)) return e.value;
    return undefined;
  }

  set(from: CompiledFrom, value: T): void {
    this.add(hashOf(from), from, value);
  }
}

export interface RuleCache {
  readonly matches: CompiledCache<RuleMatch>;
  /** -m comment by its text. */
  readonly comments: Map<string, RuleMatch>;
  /** One-match lists by their match. */
  readonly lists: Map<RuleMatch, readonly RuleMatch[]>;
  /** Extension targets (DNAT, MARK, ...). */
  readonly targets: CompiledCache<RuleTarget>;
  /** -j CHAIN and -g CHAIN by chain name (most targets of a kube-proxy dump). */
  readonly jumps: Map<string, RuleTarget>;
  readonly gotos: Map<string, RuleTarget>;
  /** Declared chain names, each as the string of its first declaration. */
  readonly chainNames: Map<string, string>;
  /** The chain name the previous rule line read, and its declared string. */
  readonly lastChain: { read: string; declared: string };
  readonly addresses: Map<string, AddressCondition>;
}

export function newRuleCache(): RuleCache {
  return {
    matches: new CompiledCache(),
    comments: new Map(),
    lists: new Map(),
    targets: new CompiledCache(),
    jumps: new Map(),
    gotos: new Map(),
    chainNames: new Map(),
    lastChain: { read: '', declared: '' },
    addresses: new Map(),
  };
}

/** FNV-1a over a string's code units, continuing from `h`. */
export function mix(h: number, text: string): number {
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return Math.imul(h ^ 0xff, 16777619);
}

/** The hash of an extension's name and setting, before its options. */
export function hashStart(name: string, implicit: boolean, table: TableName, protocol: L4Protocol | null): number {
  const h = mix(mix(mix(0x811c9dc5, name), table), protocol ?? '');
  return Math.imul(h ^ (implicit ? 1 : 2), 16777619);
}

/** The hash so far, and one option's name and negation (its arguments are mixed in after). */
export function hashOption(h: number, name: string, negated: boolean): number {
  return Math.imul(mix(h, name) ^ (negated ? 3 : 4), 16777619);
}

function hashOf(f: CompiledFrom): number {
  let h = hashStart(f.name, f.implicit, f.table, f.protocol);
  for (const o of f.options) {
    h = hashOption(h, o.name, o.negated);
    for (const a of o.args) h = mix(h, a);
  }
  return h | 0;
}

function sameSource(a: CompiledFrom, b: CompiledFrom): boolean {
  if (a.name !== b.name || a.implicit !== b.implicit || a.table !== b.table || a.protocol !== b.protocol) return false;
  if (a.options.length !== b.options.length) return false;
  for (let i = 0; i < a.options.length; i++) {
    const x = a.options[i]!;
    const y = b.options[i]!;
    if (x.name !== y.name || x.negated !== y.negated || x.args.length !== y.args.length) return false;
    for (let j = 0; j < x.args.length; j++) if (x.args[j] !== y.args[j]) return false;
  }
  return true;
}

/**
 * A chain name read from a rule line as the string its declaration used, so
 * loading finds the chain by comparing pointers; consecutive rules of one chain
 * (most of a dump) ask the map once.
 */
export function declaredChain(cache: RuleCache, name: string): string {
  const last = cache.lastChain;
  if (name === last.read) return last.declared;
  last.read = name;
  last.declared = cache.chainNames.get(name) ?? name;
  return last.declared;
}
