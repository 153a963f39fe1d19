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

interface Entry<T> {
  readonly from: CompiledFrom;
  readonly value: T;
}

/**
 * Values by what they were compiled from, found by a hash of the parts and a
 * comparison, so that a hit (nearly every lookup) builds no key string.
 */
export class CompiledCache<T> {
  private readonly buckets = new Map<number, Entry<T>[]>();

  get(from: CompiledFrom): T | undefined {
    const bucket = this.buckets.get(hashOf(from));
    if (!bucket) return undefined;
    for (const e of bucket) if (sameSource(e.from, from)) return e.value;
    return undefined;
  }

  set(from: CompiledFrom, value: T): void {
    const h = hashOf(from);
    const bucket = this.buckets.get(h);
    if (bucket) bucket.push({ from, value });
    else this.buckets.set(h, [{ from, value }]);
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
function mix(h: number, text: string): number {
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return Math.imul(h ^ 0xff, 16777619);
}

function hashOf(f: CompiledFrom): number {
  let h = mix(0x811c9dc5, f.name);
  h = mix(h, f.table);
  h = mix(h, f.protocol ?? '');
  h = Math.imul(h ^ (f.implicit ? 1 : 2), 16777619);
  for (const o of f.options) {
    h = mix(h, o.name);
    h = Math.imul(h ^ (o.negated ? 3 : 4), 16777619);
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
