// One iptables rule: the arguments as they were written (so the line prints
// back as it was read) plus the meaning iptables gives them.
import type { IPv4, IPv4Prefix, L4Protocol } from '../net';
import type { CompiledMatch, Hook, ParsedOption, TargetAction } from './extension';

export type HeaderField = 'src' | 'dst' | 'protocol' | 'inIface' | 'outIface' | 'fragment';

/**
 * -s or -d: one prefix, its address and length kept inline (nearly every rule), or a list
 * (-s a,b), which iptables makes a rule of each prefix of.
 */
export interface AddressCondition {
  /** The prefix (the first of a list). */
  readonly address: IPv4;
  readonly length: number;
  /** Every prefix of a list, two or more; null when the rule names one. */
  readonly list: readonly IPv4Prefix[] | null;
  readonly negated: boolean;
}

/** Whether -s or -d names a list, which iptables makes a rule of each prefix of. */
export function hasAddressLists(h: RuleHeader): boolean {
  return (h.src !== null && h.src.list !== null) || (h.dst !== null && h.dst.list !== null);
}

/** The prefixes a condition names: its list, or its one prefix. */
export function prefixesOf(c: AddressCondition): readonly IPv4Prefix[] {
  return c.list ?? [{ address: c.address, length: c.length }];
}

export interface InterfaceCondition {
  readonly name: string;
  readonly negated: boolean;
}

/** The IP header part of a rule (struct ipt_ip). */
export interface RuleHeader {
  readonly src: AddressCondition | null;
  readonly dst: AddressCondition | null;
  /**
   * null: any protocol. The name is as iptables-save prints it: tcp, udp, sctp and icmp are what
   * packets here carry; any other (gre, ipencap, vrrp, 250, ...) never matches one, but loads and prints.
   */
  readonly protocol: { readonly name: L4Protocol | string; readonly negated: boolean } | null;
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
  /** The arguments exactly as read (what follows `-A CHAIN`, its leading space included): printing gives them back. */
  readonly source: string;
  readonly header: RuleHeader;
  readonly matches: readonly RuleMatch[];
  readonly target: RuleTarget;
  /** The comment of -m comment, for reports. */
  readonly comment: string | null;
  /** Set only when matches work at some hooks alone (-m rpfilter, owner, policy): each such match and its hooks. */
  readonly matchHooks?: readonly { readonly module: string; readonly hooks: readonly Hook[] }[];
}

export function targetName(target: RuleTarget): string | null {
  if (target.kind === 'none') return null;
  return target.kind === 'extension' ? target.name : target.chain;
}

/**
 * A rule a script appends with a plain "-A CHAIN" line (the short flag, no counters): the rule and
 * its statement in one object, as a kube-proxy dump has a hundred thousand such lines (two objects
 * a line cost a fifth more memory for the garbage collector to copy). It reads as the rule (`rule`
 * is itself) and as the statement: kind, command, flag, position and counters are its class's, the
 * chain and line its own. Its own fields, what JSON shows, are the rule's with the chain and line.
 */
export class AppendedRule implements Rule {
  declare readonly kind: 'rule';
  declare readonly command: '-A';
  declare readonly commandFlag: '-A';
  declare readonly position: null;
  declare readonly counters: null;

  constructor(
    readonly source: string,
    readonly header: RuleHeader,
    readonly matches: readonly RuleMatch[],
    readonly target: RuleTarget,
    readonly comment: string | null,
    readonly chain: string,
    readonly line: number,
  ) {}

  get rule(): Rule {
    return this;
  }
}
Object.defineProperties(AppendedRule.prototype, {
  kind: { value: 'rule' },
  command: { value: '-A' },
  commandFlag: { value: '-A' },
  position: { value: null },
  counters: { value: null },
});
