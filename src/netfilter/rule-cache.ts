// Parts of rules shared by the rules of one script. A kube-proxy dump repeats
// the same few matches and targets thousands of times ("-m tcp --dport 80",
// "-j KUBE-MARK-MASQ", "-m comment --comment ..."); compiling each once
// and sharing the result keeps a 100,000-rule load small and its walk in cache.
// Safe because extensions compile options and facts into pure values: what a
// match remembers between packets lives in the flow, not in the compiled match.
import type { L4Protocol } from '../net';
import type { ParsedOption, TableName } from './extension';
import type { RuleMatch, RuleTarget } from './rule';

/** What an extension was compiled from: its name, where (table, -p, loaded by -p) and its exact options. */
export interface CompiledFrom {
  readonly name: string;
  readonly implicit: boolean;
  readonly table: TableName;
  readonly protocol: L4Protocol | null;
  readonly portsAllowed: boolean;
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
}

export interface DeclaredChain {
  readonly name: string;
  jump: RuleTarget | null;
  goto: RuleTarget | null;
  /** The table block that declared it last (its AppendLayout serial; 0: none yet) and its chain index there. */
  layoutBlock: number;
  layoutIndex: number;
}

export interface RuleCache {
  readonly matches: CompiledCache<RuleMatch>;
  /** The match modules compiled so far (each rule's are among them: a repeated match was compiled once). */
  readonly modules: Set<string>;
  /** The target extensions compiled so far (DNAT, MARK, SET...), likewise. */
  readonly targetModules: Set<string>;
  /** -m comment by its text. */
  readonly comments: Map<string, RuleMatch>;
  /** One-match lists by their match. */
  readonly lists: Map<RuleMatch, readonly RuleMatch[]>;
  /** Extension targets (DNAT, MARK, ...). */
  readonly targets: CompiledCache<RuleTarget>;
  /** -j CHAIN and -g CHAIN to chains the script does not declare, by name. */
  readonly jumps: Map<string, RuleTarget>;
  readonly gotos: Map<string, RuleTarget>;
  /**
   * Declared chains by name: the string of the first declaration, and the -j/-g targets
   * to it once a rule has had them (most targets of a kube-proxy dump), so a jump costs one look-up.
   */
  readonly chainNames: Map<string, DeclaredChain>;
  /** The chain name the previous rule line read, its declared string and its record (undefined: not declared then). */
  readonly lastChain: { read: string; declared: string; record: DeclaredChain | undefined };
  /** The record of the declared chain the last -j/-g CHAIN named (undefined: not declared), for the block's layout. */
  lastJump: DeclaredChain | undefined;
}

export function newRuleCache(): RuleCache {
  return {
    matches: new CompiledCache(),
    modules: new Set(),
    targetModules: new Set(),
    comments: new Map(),
    lists: new Map(),
    targets: new CompiledCache(),
    jumps: new Map(),
    gotos: new Map(),
    chainNames: new Map(),
    lastChain: { read: '', declared: '', record: undefined },
    lastJump: undefined,
  };
}

/**
 * A chain name read from a rule line as the string its declaration used, so
 * loading finds the chain by comparing pointers; consecutive rules of one chain
 * (most of a dump) ask the map once.
 */
export function declaredChain(cache: RuleCache, name: string): string {
  const last = cache.lastChain;
  if (name === last.read) return last.declared;
  const record = cache.chainNames.get(name);
  last.read = name;
  last.record = record;
  last.declared = record?.name ?? name;
  return last.declared;
}

/** Notes a chain declaration (":NAME POLICY"); a name declared again keeps its first string and record. */
export function declareChain(cache: RuleCache, name: string): DeclaredChain {
  let declared = cache.chainNames.get(name);
  if (!declared) {
    declared = { name, jump: null, goto: null, layoutBlock: 0, layoutIndex: -1 };
    cache.chainNames.set(name, declared);
    // A rule line may have read this name before it was declared: look it up afresh next time.
    if (cache.lastChain.read === name) cache.lastChain.read = '';
  }
  return declared;
}
