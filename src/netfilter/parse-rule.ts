// Parses a rule's arguments (what follows `-A CHAIN`) as iptables does: basic
// IP header options, -m modules whose options may come later in the line,
// protocol matches loaded implicitly after -p, and the target with its options.
import { type IPv4Prefix, type L4Protocol, protocolByNumber } from '../net';
import type { MatchExtension, OptionSpec, ParsedOption, RuleFacts, TableName, TargetExtension } from './extension';
import { findMatch, findTarget, implicitMatchFor } from './extensions';
import { commentMatch } from './matches/simple-matches';
import type { HeaderField, Rule, RuleHeader, RuleMatch, RuleTarget } from './rule';
import { newRuleCache, optionsKey, type RuleCache } from './rule-cache';
import type { Token } from './tokenize';
import { parsePrefixList } from './values';

const HEADER_FLAGS: Readonly<Record<string, HeaderField>> = {
  '-s': 'src',
  '--source': 'src',
  '--src': 'src',
  '-d': 'dst',
  '--destination': 'dst',
  '--dst': 'dst',
  '-p': 'protocol',
  '--protocol': 'protocol',
  '-i': 'inIface',
  '--in-interface': 'inIface',
  '-o': 'outIface',
  '--out-interface': 'outIface',
  '-f': 'fragment',
  '--fragment': 'fragment',
};

const PROTOCOL_NAMES: Readonly<Record<string, L4Protocol | 'all'>> = {
  tcp: 'tcp',
  udp: 'udp',
  sctp: 'sctp',
  icmp: 'icmp',
  all: 'all',
  '0': 'all',
};

export class RuleSyntaxError extends Error {
  constructor(
    message: string,
    readonly token: string | null,
  ) {
    super(message);
  }
}

function parseProtocol(text: string): L4Protocol | 'all' | null {
  const lower = text.toLowerCase();
  const named = PROTOCOL_NAMES[lower];
  if (named) return named;
  if (/^\d{1,3}$/.test(lower)) return protocolByNumber(Number(lower));
  return null;
}

/** Each extension's options by name, so the owner of an option is found without scanning lists. */
const OPTION_SPECS = new WeakMap<MatchExtension | TargetExtension, Map<string, OptionSpec>>();

function optionSpec(ext: MatchExtension | TargetExtension, name: string): OptionSpec | undefined {
  let specs = OPTION_SPECS.get(ext);
  if (!specs) {
    specs = new Map();
    // The first spec of a name wins, as Array.find gave it.
    for (const o of ext.options) if (!specs.has(o.name)) specs.set(o.name, o);
    OPTION_SPECS.set(ext, specs);
  }
  return specs.get(name);
}

interface MatchBeingParsed {
  readonly ext: MatchExtension;
  readonly implicit: boolean;
  readonly options: ParsedOption[];
}

/** A header with no conditions, shared by every rule that has none. */
const NO_HEADER: RuleHeader = { src: null, dst: null, protocol: null, inIface: null, outIface: null, fragment: null };

function isEmptyHeader(h: RuleHeader): boolean {
  return !h.src && !h.dst && !h.protocol && !h.inIface && !h.outIface && !h.fragment;
}

/** Parses the tokens of one rule. Throws RuleSyntaxError, which the caller turns into a line error. */
export function parseRuleTokens(
  tokens: readonly Token[],
  table: TableName,
  source: string,
  /** Shares repeated matches, targets and addresses between the rules of one script. */
  cache: RuleCache = newRuleCache(),
): Rule {
  const header: { -readonly [K in keyof RuleHeader]: RuleHeader[K] } = {
    src: null,
    dst: null,
    protocol: null,
    inIface: null,
    outIface: null,
    fragment: null,
  };
  const matches: MatchBeingParsed[] = [];
  let target: { flag: string; name: string; ext: TargetExtension | null; options: ParsedOption[] } | null = null;
  let negatePending = false;
  let i = 0;

  const next = (what: string): Token => {
    const t = tokens[++i];
    if (!t) throw new RuleSyntaxError(`${what} needs an argument`, tokens[i - 1]?.text ?? null);
    return t;
  };

  for (; i < tokens.length; i++) {
    const token = tokens[i]!;
    const text = token.text;
    if (text === '!' && !token.quoted) {
      if (negatePending) throw new RuleSyntaxError('multiple "!" flags not allowed', text);
      negatePending = true;
      continue;
    }
    const negated = negatePending;
    negatePending = false;
    const field = HEADER_FLAGS[text];
    if (field) {
      if (header[field] !== null) throw new RuleSyntaxError(`multiple ${text} flags not allowed`, text);
      let valueToken: Token | null = null;
      let neg = negated;
      if (field !== 'fragment') {
        valueToken = next(text);
        if (valueToken.text === '!' && !valueToken.quoted) {
          neg = true;
          valueToken = next(text);
        }
      }
      const value = valueToken?.text ?? '';
      if (field === 'src' || field === 'dst') {
        const key = neg ? `!${value}` : value;
        let condition = cache.addresses.get(key);
        if (!condition) {
          const prefixes: IPv4Prefix[] | null = parsePrefixList(value);
          if (!prefixes) throw new RuleSyntaxError(`host/network "${value}" not found`, value);
          condition = { prefixes, negated: neg };
          cache.addresses.set(key, condition);
        }
        header[field] = condition;
      } else if (field === 'protocol') {
        const proto = parseProtocol(value);
        if (!proto) throw new RuleSyntaxError(`unknown protocol "${value}" specified`, value);
        header.protocol = proto === 'all' ? null : protocolCondition(proto, neg);
        if (proto === 'all' && neg) throw new RuleSyntaxError('rule would never match protocol', value);
      } else if (field === 'inIface' || field === 'outIface') {
        if (value.length === 0 || value.length > 15)
          throw new RuleSyntaxError(`interface name "${value}" is not valid`, value);
        header[field] = { name: value, negated: neg };
      } else header.fragment = { negated: neg };
      continue;
    }
    if (text === '-m' || text === '--match') {
      if (negated) throw new RuleSyntaxError('unexpected "!" before -m', text);
      const name = next(text).text;
      const ext = findMatch(name);
      if (!ext) throw new RuleSyntaxError(`unknown match "${name}"`, name);
      matches.push({ ext, implicit: false, options: [] });
      continue;
    }
    if (text === '-j' || text === '--jump' || text === '-g' || text === '--goto') {
      if (negated) throw new RuleSyntaxError(`unexpected "!" before ${text}`, text);
      if (target) throw new RuleSyntaxError('multiple targets not allowed', text);
      const name = next(text).text;
      const isGoto = text === '-g' || text === '--goto';
      const ext = isGoto ? null : (findTarget(name) ?? null);
      target = { flag: text, name, ext, options: [] };
      continue;
    }
    if (text === '-c' || text === '--set-counters') {
      const packets = next(text).text;
      const bytes = next(text).text;
      if (!/^\d+$/.test(packets) || !/^\d+$/.test(bytes)) throw new RuleSyntaxError('bad counters', packets);
      continue;
    }
    if (text.startsWith('-')) {
      const option = text.startsWith('--') ? text : null;
      if (!option) throw new RuleSyntaxError(`unknown argument "${text}"`, text);
      // Who owns this option: the target, then the matches loaded so far (latest first),
      // then the protocol match iptables loads by itself after -p.
      let instance: number | null = null;
      let spec = target?.ext ? optionSpec(target.ext, option) : undefined;
      if (spec) instance = -1;
      for (let m = matches.length - 1; instance === null && m >= 0; m--) {
        spec = optionSpec(matches[m]!.ext, option);
        if (spec) instance = m;
      }
      if (instance === null && header.protocol && !header.protocol.negated) {
        const implicit = implicitMatchFor(header.protocol.name);
        spec = implicit ? optionSpec(implicit, option) : undefined;
        if (implicit && spec) {
          instance = matches.length;
          matches.push({ ext: implicit, implicit: true, options: [] });
        }
      }
      if (instance === null || !spec) throw new RuleSyntaxError(`unknown option "${option}"`, option);
      if (negated && !spec.negatable) throw new RuleSyntaxError(`option "${option}" cannot be inverted`, option);
      const args: string[] = [];
      let neg = negated;
      for (let a = 0; a < spec.args; a++) {
        let arg = next(option);
        if (a === 0 && arg.text === '!' && !arg.quoted && spec.negatable) {
          neg = true;
          arg = next(option);
        }
        args.push(arg.text);
      }
      const parsed: ParsedOption = { name: option, negated: neg, args };
      if (instance === -1) target!.options.push(parsed);
      else matches[instance]!.options.push(parsed);
      continue;
    }
    throw new RuleSyntaxError(`bad argument "${text}"`, text);
  }
  if (negatePending) throw new RuleSyntaxError('"!" at the end of the rule', '!');

  const facts = { protocol: header.protocol && !header.protocol.negated ? header.protocol.name : null, table };
  const ruleMatches: RuleMatch[] = matches.map((m) => {
    // Comments are nearly all different: looking them up would only fill the cache.
    const key =
      m.ext === commentMatch
        ? null
        : `${m.ext.name}\u0003${m.implicit}\u0003${table}\u0003${facts.protocol}${optionsKey(m.options)}`;
    const known = key === null ? undefined : cache.matches.get(key);
    if (known) return known;
    const compiled = m.ext.compile(m.options, facts);
    if (typeof compiled === 'string') throw new RuleSyntaxError(`${m.ext.name} match: ${compiled}`, m.ext.name);
    if (m.ext.implicitFor && facts.protocol !== m.ext.implicitFor && !m.implicit)
      // iptables refuses "-m tcp" unless the rule says -p tcp.
      throw new RuleSyntaxError(`"-m ${m.ext.name}" requires "-p ${m.ext.name}"`, m.ext.name);
    const match: RuleMatch = { module: m.ext.name, implicit: m.implicit, options: m.options, compiled };
    if (key !== null) cache.matches.set(key, match);
    return match;
  });
  const ruleTarget = target ? targetOf(target, table, facts, cache) : NO_TARGET;
  const commentOption = ruleMatches.find((m) => m.module === 'comment')?.options[0];
  return {
    source,
    header: isEmptyHeader(header) ? NO_HEADER : header,
    matches: ruleMatches,
    target: ruleTarget,
    comment: commentOption?.args[0] ?? null,
  };
}

const NO_TARGET: RuleTarget = { kind: 'none' };

const PROTOCOL_CONDITIONS = new Map<string, RuleHeader['protocol']>();

/** The few -p conditions there are, shared. */
function protocolCondition(name: L4Protocol, negated: boolean): RuleHeader['protocol'] {
  const key = negated ? `!${name}` : name;
  let condition = PROTOCOL_CONDITIONS.get(key);
  if (!condition) {
    condition = { name, negated };
    PROTOCOL_CONDITIONS.set(key, condition);
  }
  return condition;
}

/** The rule's -j/-g, checked and compiled once per distinct target of the script. */
function targetOf(
  target: { flag: string; name: string; ext: TargetExtension | null; options: ParsedOption[] },
  table: TableName,
  facts: RuleFacts,
  cache: RuleCache,
): RuleTarget {
  if (!target.ext) return chainTarget(target, cache);
  // Extensions depend on the table (where they are valid) and the protocol (ports need -p).
  const key = `${target.name}\u0003${table}\u0003${facts.protocol}${optionsKey(target.options)}`;
  const known = cache.targets.get(key);
  if (known) return known;
  if (target.ext.tables && !target.ext.tables.includes(table))
    throw new RuleSyntaxError(`target ${target.name} is not valid in the ${table} table`, target.name);
  const action = target.ext.compile(target.options, facts);
  if (typeof action === 'string') throw new RuleSyntaxError(`${target.name} target: ${action}`, target.name);
  const ruleTarget: RuleTarget = { kind: 'extension', name: target.name, options: target.options, action };
  cache.targets.set(key, ruleTarget);
  return ruleTarget;
}

/** -j CHAIN or -g CHAIN: the chain name checked once per name. */
function chainTarget(target: { flag: string; name: string }, cache: RuleCache): RuleTarget {
  const isGoto = target.flag === '-g' || target.flag === '--goto';
  const byName = isGoto ? cache.gotos : cache.jumps;
  const known = byName.get(target.name);
  if (known) return known;
  if (!/^[^\s!-][^\s]{0,28}$/.test(target.name))
    throw new RuleSyntaxError(`invalid chain name "${target.name}"`, target.name);
  const ruleTarget: RuleTarget = isGoto ? { kind: 'goto', chain: target.name } : { kind: 'jump', chain: target.name };
  byName.set(target.name, ruleTarget);
  return ruleTarget;
}
