// A table block that only declares chains and appends rules to chains it has
// declared (or built-in ones): what iptables-save prints and what kube-proxy
// pipes to iptables-restore, so nearly every script knetsim loads. The parser
// notes such a block's shape as numbers while it reads it (which statement
// declares which chain, which chain each rule goes to, where each rule's -j
// lands), so applying it builds each chain's rule list in one go and checks the
// jump graph without reading a hundred thousand rule objects again.
import { BUILTIN_CHAINS } from './builtin-chains';
import type { TableName } from './extension';
import { findTarget } from './extensions';
import { hasAddressLists, type Rule } from './rule';
import type { DeclaredChain } from './rule-cache';

/** A rule whose target is neither a chain nor an extension (no -j), and a declaration's slot. */
export const NO_TARGET = -1;
/** An extension target is noted as EXTENSION_BASE - k, k its place in `targetNames`. */
export const EXTENSION_BASE = -2;

/**
 * The words of a chain in AppendLayout.chains: the statement that declares it (-1: a built-in
 * chain not declared), how many rules the block appends to it, and the first and last statements
 * that do (-1 when none).
 */
export const DECLARED_AT = 0;
export const RULE_COUNT = 1;
export const FIRST_RULE = 2;
export const LAST_RULE = 3;
export const CHAIN_WORDS = 4;

/**
 * The words of a statement in AppendLayout.statements: for an append, the chain it appends to
 * (-1 for a declaration), and its target: the chain its -j/-g lands on (a user chain declared
 * above), NO_TARGET, or EXTENSION_BASE - k for an extension target named targetNames[k] (one
 * whose hooks do not depend on its options).
 */
export const CHAIN_OF = 0;
export const TARGET_OF = 1;
export const STATEMENT_WORDS = 2;

export interface AppendLayout {
  /**
   * The chains the block names, built-in chains first (in kernel order), then user chains as
   * declared: CHAIN_WORDS words each.
   */
  readonly chains: Int32Array;
  readonly chainCount: number;
  /** STATEMENT_WORDS words per statement. */
  readonly statements: Int32Array;
  readonly targetNames: readonly string[];
}

/** Numbers each block apart, so a chain name declared in two tables is told apart by block. */
let lastSerial = 0;

/**
 * Notes a table block's layout statement by statement, and gives up (`plain` false) at the first
 * statement that is not a declaration or an append of the kind described above; the block is then
 * applied statement by statement, which also words any error. The words go to typed arrays that
 * double when full (pushing onto arrays of numbers cost several times as much).
 */
export class AppendLayoutBuilder {
  plain = true;
  private readonly serial = ++lastSerial;
  private readonly builtins: readonly string[];
  private chains: Int32Array;
  private chainCount: number;
  private statements = new Int32Array(1024 * STATEMENT_WORDS);
  private statementCount = 0;
  private readonly targetNames: string[] = [];
  /** The chain the last append went to (its name as declared, and index): the next is likely the same. */
  private lastName: string | null = null;
  private lastChain = -1;

  constructor(table: TableName) {
    this.builtins = BUILTIN_CHAINS[table];
    this.chainCount = this.builtins.length;
    this.chains = new Int32Array(Math.max(64, this.chainCount) * CHAIN_WORDS).fill(-1);
    for (let i = 0; i < this.chainCount; i++) this.chains[i * CHAIN_WORDS + RULE_COUNT] = 0;
  }

  /** Statement `at` declares chain `name` (`declared`: its record among the script's chain names). */
  declare(at: number, name: string, policy: string, declared: DeclaredChain): void {
    if (!this.plain) return;
    // The next append looks its chain up afresh (a declaration may have changed what a name means).
    this.lastName = null;
    const builtin = this.builtins.indexOf(name);
    if (builtin >= 0) {
      // A bad policy, or a second declaration, is for the statement-by-statement path to handle.
      if ((policy !== 'ACCEPT' && policy !== 'DROP') || this.chains[builtin * CHAIN_WORDS + DECLARED_AT] !== -1) {
        this.plain = false;
        return;
      }
      this.chains[builtin * CHAIN_WORDS + DECLARED_AT] = at;
    } else {
      // Declaring a user chain twice flushes it in between: left to the statement-by-statement path.
      if (policy !== '-' || declared.layoutBlock === this.serial) {
        this.plain = false;
        return;
      }
      declared.layoutBlock = this.serial;
      declared.layoutIndex = this.chainCount;
      if ((this.chainCount + 1) * CHAIN_WORDS > this.chains.length) {
        const grown = new Int32Array(this.chains.length * 2).fill(-1);
        grown.set(this.chains);
        this.chains = grown;
      }
      const w = this.chainCount++ * CHAIN_WORDS;
      this.chains[w + DECLARED_AT] = at;
      this.chains[w + RULE_COUNT] = 0;
    }
    this.note(-1, NO_TARGET);
  }

  /**
   * Statement `at` appends (-A) `rule` to `chain` (the name as declared; `record`, its record among
   * the script's declared chains). `jumped`: the record of the chain the rule's -j/-g names.
   */
  append(
    at: number,
    chain: string,
    record: DeclaredChain | undefined,
    rule: Rule,
    jumped: DeclaredChain | undefined,
  ): void {
    if (!this.plain) return;
    let index = this.lastChain;
    if (chain !== this.lastName) {
      const builtin = this.builtins.indexOf(chain);
      index = builtin >= 0 ? builtin : this.declaredHere(record);
      // A chain not declared above (nor built in) is for the statement-by-statement path, which may know it or word the error.
      if (index < 0) {
        this.plain = false;
        return;
      }
      this.lastName = chain;
      this.lastChain = index;
    }
    // Address lists become several rules; hook-limited matches need their own check.
    if (rule.matchHooks || hasAddressLists(rule.header)) {
      this.plain = false;
      return;
    }
    const t = rule.target;
    let target = NO_TARGET;
    if (t.kind === 'extension') {
      if (findTarget(t.name)?.hooksFor) {
        this.plain = false;
        return;
      }
      let k = this.targetNames.indexOf(t.name);
      if (k < 0) k = this.targetNames.push(t.name) - 1;
      target = EXTENSION_BASE - k;
    } else if (t.kind !== 'none') {
      // Only a user chain declared above: a jump to a built-in chain, or to a name not declared
      // above, is an error the other path words (a built-in chain never has a record of this block).
      target = this.declaredHere(jumped);
      if (target < 0) {
        this.plain = false;
        return;
      }
    }
    const w = index * CHAIN_WORDS;
    if (this.chains[w + RULE_COUNT]!++ === 0) this.chains[w + FIRST_RULE] = at;
    this.chains[w + LAST_RULE] = at;
    this.note(index, target);
  }

  /** Any other statement (a comment, a command, -I, -D, -R): the block is not plain. */
  other(): void {
    this.plain = false;
  }

  /** The layout of a plain block, or null. */
  layout(): AppendLayout | null {
    if (!this.plain) return null;
    return {
      chains: this.chains.subarray(0, this.chainCount * CHAIN_WORDS),
      chainCount: this.chainCount,
      statements: this.statements.subarray(0, this.statementCount * STATEMENT_WORDS),
      targetNames: this.targetNames,
    };
  }

  /** Notes the next statement's words. */
  private note(chain: number, target: number): void {
    if ((this.statementCount + 1) * STATEMENT_WORDS > this.statements.length) {
      const grown = new Int32Array(this.statements.length * 2);
      grown.set(this.statements);
      this.statements = grown;
    }
    const w = this.statementCount++ * STATEMENT_WORDS;
    this.statements[w + CHAIN_OF] = chain;
    this.statements[w + TARGET_OF] = target;
  }

  /** The index of a user chain declared above in this block, or -1. */
  private declaredHere(record: DeclaredChain | undefined): number {
    return record !== undefined && record.layoutBlock === this.serial ? record.layoutIndex : -1;
  }
}
