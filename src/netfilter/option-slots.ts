// One rule's matches and options as the parser reads them: extensions and
// token positions in arrays reused from rule to rule, hashed and compared
// straight from the tokens, so a match or target the script has had before
// costs no objects; options become objects only for what is new.
import type { L4Protocol } from '../net';
import type { MatchExtension, ParsedOption, RuleFacts, TableName } from './extension';
import type { CompiledFrom } from './rule-cache';

const NO_ARGS: readonly string[] = [];

/** The owner of a target's options in the slots. */
export const TARGET = -1;

/**
 * One rule's matches and options, noted as extensions and token positions in
 * arrays reused from rule to rule. Option objects are made only when the
 * script has not had the same options for the same extension before.
 */
export class OptionSlots {
  readonly ext: MatchExtension[] = [];
  readonly implicit: boolean[] = [];
  matches = 0;
  /** Per option, in the order read: its owner (a match, or TARGET), name, negation and arguments. */
  readonly owner: number[] = [];
  readonly name: string[] = [];
  readonly negated: boolean[] = [];
  readonly argAt: number[] = [];
  readonly argCount: number[] = [];
  options = 0;

  addMatch(ext: MatchExtension, implicit: boolean): void {
    this.ext[this.matches] = ext;
    this.implicit[this.matches] = implicit;
    this.matches++;
  }

  addOption(owner: number, name: string, negated: boolean, argAt: number, argCount: number): void {
    const k = this.options++;
    this.owner[k] = owner;
    this.name[k] = name;
    this.negated[k] = negated;
    this.argAt[k] = argAt;
    this.argCount[k] = argCount;
  }

  /** The owner's one option, or -1 when it has none or several. */
  onlyOption(owner: number): number {
    let only = -1;
    for (let k = 0; k < this.options; k++)
      if (this.owner[k] === owner) {
        if (only >= 0) return -1;
        only = k;
      }
    return only;
  }

  /** A hash of the extension, where it is used and the owner's options (stored and looked up alike). */
  hash(owner: number, name: string, implicit: boolean, facts: RuleFacts, texts: readonly string[]): number {
    let h = hashStart(name, implicit, facts.table, facts.protocol);
    for (let k = 0; k < this.options; k++) {
      if (this.owner[k] !== owner) continue;
      h = hashOption(h, this.name[k]!, this.negated[k]!);
      for (let a = 0; a < this.argCount[k]!; a++) h = mix(h, texts[this.argAt[k]! + a]!);
    }
    return h | 0;
  }

  /** Whether an entry was compiled from exactly the owner's options, in this table and for this -p. */
  sameAs(
    from: CompiledFrom,
    owner: number,
    name: string,
    implicit: boolean,
    facts: RuleFacts,
    texts: readonly string[],
  ): boolean {
    if (from.name !== name || from.implicit !== implicit || from.table !== facts.table) return false;
    if (from.protocol !== facts.protocol || from.portsAllowed !== facts.portsAllowed) return false;
    let i = 0;
    for (let k = 0; k < this.options; k++) {
      if (this.owner[k] !== owner) continue;
      const o = from.options[i++];
      if (!o || o.name !== this.name[k] || o.negated !== this.negated[k] || o.args.length !== this.argCount[k])
        return false;
      for (let a = 0; a < o.args.length; a++) if (o.args[a] !== texts[this.argAt[k]! + a]) return false;
    }
    return i === from.options.length;
  }

  /** The owner's options as the objects a rule keeps, each list sized exactly. */
  parsedOptions(owner: number, texts: readonly string[]): ParsedOption[] {
    const only = this.onlyOption(owner);
    // One option with one argument is the usual case (a DNAT's --to-destination): made as it is kept.
    if (only >= 0) return [this.parsedOption(only, texts)];
    const out: ParsedOption[] = [];
    for (let k = 0; k < this.options; k++) if (this.owner[k] === owner) out.push(this.parsedOption(k, texts));
    // A list grown by push keeps room for seventeen; what a rule keeps is sized exactly.
    return out.slice();
  }

  private parsedOption(k: number, texts: readonly string[]): ParsedOption {
    const at = this.argAt[k]!;
    const count = this.argCount[k]!;
    const args = count === 0 ? NO_ARGS : count === 1 ? [texts[at]!] : texts.slice(at, at + count);
    return { name: this.name[k]!, negated: this.negated[k]!, args };
  }
}

/** FNV-1a over a string's code units, continuing from `h`. */
function mix(h: number, text: string): number {
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return Math.imul(h ^ 0xff, 16777619);
}

/** The hash of an extension's name and setting, before its options. */
function hashStart(name: string, implicit: boolean, table: TableName, protocol: L4Protocol | null): number {
  const h = mix(mix(mix(0x811c9dc5, name), table), protocol ?? '');
  return Math.imul(h ^ (implicit ? 1 : 2), 16777619);
}

/** The hash so far, and one option's name and negation (its arguments are mixed in after). */
function hashOption(h: number, name: string, negated: boolean): number {
  return Math.imul(mix(h, name) ^ (negated ? 3 : 4), 16777619);
}
