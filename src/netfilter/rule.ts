// One iptables rule: the arguments in the order they were written (so the
// line prints back as it was read) plus the meaning iptables gives them.
import type { IPv4Prefix, L4Protocol } from '../net';
import type { CompiledMatch, ParsedOption, TargetAction } from './extension';
import type { Token } from './tokenize';

export type HeaderField = 'src' | 'dst' | 'protocol' | 'inIface' | 'outIface' | 'fragment';

/** Every item keeps the exact tokens it was read from (with their spacing and quoting). */
export type RuleItem = (
  | {
      readonly kind: 'header';
      readonly flag: string;
      readonly field: HeaderField;
      readonly negated: boolean;
      /** `-s ! 10.0.0.0/8`, the old intrapositioned negation. */
      readonly negationAfter: boolean;
      readonly value: Token | null;
    }
  | { readonly kind: 'match'; readonly flag: string; readonly module: string; readonly instance: number }
  | {
      readonly kind: 'option';
      /** Index into `Rule.matches`, or -1 for the target's options. */
      readonly instance: number;
      readonly name: string;
      readonly negated: boolean;
      readonly negationAfter: boolean;
      readonly args: readonly Token[];
    }
  | { readonly kind: 'target'; readonly flag: string; readonly name: string }
  | { readonly kind: 'counters'; readonly flag: string; readonly packets: string; readonly bytes: string }
) & { readonly tokens: readonly Token[] };

export interface AddressCondition {
  readonly prefixes: readonly IPv4Prefix[];
  readonly negated: boolean;
}

export interface InterfaceCondition {
  readonly name: string;
  readonly negated: boolean;
}

/** The IP header part of a rule (struct ipt_ip). */
export interface RuleHeader {
  readonly src: AddressCondition | null;
  readonly dst: AddressCondition | null;
  /** null: any protocol. */
  readonly protocol: { readonly name: L4Protocol; readonly negated: boolean } | null;
  readonly inIface: InterfaceCondition | null;
  readonly outIface: InterfaceCondition | null;
  readonly fragment: { readonly negated: boolean } | null;
}

export interface RuleMatch {
  readonly module: string;
  /** Loaded by iptables itself (after -p), not written as -m. */
  readonly implicit: boolean;
  readonly options: readonly ParsedOption[];
  readonly compiled: CompiledMatch;
}

export type RuleTarget =
  | { readonly kind: 'none' }
  | { readonly kind: 'jump'; readonly chain: string }
  | { readonly kind: 'goto'; readonly chain: string }
  | {
      readonly kind: 'extension';
      readonly name: string;
      readonly options: readonly ParsedOption[];
      readonly action: TargetAction;
    };

export interface Rule {
  readonly items: readonly RuleItem[];
  readonly header: RuleHeader;
  readonly matches: readonly RuleMatch[];
  readonly target: RuleTarget;
  /** The comment of -m comment, for reports. */
  readonly comment: string | null;
}

export function targetName(target: RuleTarget): string | null {
  if (target.kind === 'none') return null;
  return target.kind === 'extension' ? target.name : target.chain;
}
