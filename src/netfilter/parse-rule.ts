// Parses a rule's arguments (what follows `-A CHAIN`) as iptables does: basic
// IP header options, -m modules whose options may come later in the line,
// protocol matches loaded implicitly after -p, and the target with its options.
import { type IPv4Prefix, ipProtocolName, ipProtocolNumber, type L4Protocol } from '../net';
import type {
  Hook,
  MatchExtension,
  OptionSpec,
  ParsedOption,
  RuleFacts,
  TableName,
  TargetAction,
  TargetExtension,
} from './extension';
import { findMatch, findTarget, implicitMatchFor, unmodelledMatch, unmodelledTarget } from './extensions';
import { commentMatch } from './matches/simple-matches';
import { OptionSlots, TARGET } from './option-slots';
import { AppendedRule, type HeaderField, type Rule, type RuleHeader, type RuleMatch, type RuleTarget } from './rule';
import { newRuleCache, type RuleCache } from './rule-cache';
import type { TokenBuffer } from './tokenize';
import { parsePrefixList, readRulePrefix } from './values';

const HEADER_FLAGS: ReadonlyMap<string, HeaderField> = new Map([
  ['-s', 'src'],
  ['--source', 'src'],
  ['--src', 'src'],
  ['-d', 'dst'],
  ['--destination', 'dst'],
  ['--dst', 'dst'],
  ['-p', 'protocol'],
  ['--protocol', 'protocol'],
  ['-i', 'inIface'],
  ['--in-interface', 'inIface'],
  ['-o', 'outIface'],
  ['--out-interface', 'outIface'],
  ['-f', 'fragment'],
  ['--fragment', 'fragment'],
]);

const DASH = 45;

export class RuleSyntaxError extends Error {
  constructor(
    message: string,
    readonly token: string | null,
  ) {
    super(message);
  }
}

/** -p arguments already read (a script repeats a handful: "tcp", "udp", ...). */
const PROTOCOLS_READ = new Map<string, string | null>();

/** A -p argument as the name iptables-save prints for it ("all" for 0), or null when iptables knows no such protocol. */
function parseProtocol(text: string): string | null {
  let name = PROTOCOLS_READ.get(text);
  if (name === undefined) {
    const n = ipProtocolNumber(text);
    name = n === null ? null : n === 0 ? 'all' : ipProtocolName(n);
    PROTOCOLS_READ.set(text, name);
  }
  return name;
}

const L4_PROTOCOLS: ReadonlySet<string> = new Set(['tcp', 'udp', 'sctp', 'icmp']);

/** The protocols packets here carry, the ones with implicit matches and ports. */
function isL4(name: string): name is L4Protocol {
  return L4_PROTOCOLS.has(name);
}

/** The position of the argument after token `i`, which is `what`; a rule ending there is an error. */
function argumentOf(tokens: TokenBuffer, i: number, what: string): number {
  if (i + 1 >= tokens.length) throw new RuleSyntaxError(`${what} needs an argument`, tokens.texts[i]!);
  return i + 1;
}

/** iptables' commands and general options: they share its option table, so they count when an abbreviation is resolved. */
const GENERAL_OPTIONS: ReadonlySet<string> = new Set([
  '--append',
  '--check',
  '--delete',
  '--delete-chain',
  '--exact',
  '--flush',
  '--help',
  '--insert',
  '--ipv4',
  '--ipv6',
  '--line-numbers',
  '--list',
  '--list-rules',
  '--modprobe',
  '--new-chain',
  '--numeric',
  '--policy',
  '--rename-chain',
  '--replace',
  '--table',
  '--verbose',
  '--version',
  '--wait',
  '--wait-interval',
  '--zero',
]);

/** General options a rule line may carry that change nothing in the rule (iptables-restore takes them). */
const HARMLESS_OPTIONS: ReadonlySet<string> = new Set(['--verbose', '--ipv4']);

/** The long options iptables itself takes, for resolving abbreviations. */
const BASE_LONG_OPTIONS: readonly string[] = [
  ...[...HEADER_FLAGS.keys()].filter((f) => f.startsWith('--')),
  '--match',
  '--jump',
  '--goto',
  '--set-counters',
  ...GENERAL_OPTIONS,
];

/** Whether `name` is one of iptables' own long options or a prefix of one ("--sour" of --source). */
function abbreviatesBaseOption(name: string): boolean {
  return BASE_LONG_OPTIONS.some((o) => o.startsWith(name));
}

/**
 * The option `text` abbreviates, as getopt_long resolves it: the one long option (of iptables
 * itself, the target, the loaded matches and, unless `loadedOnly`, the protocol's own match) that
 * starts with it; null when none does or several do. Counted without making a list: it runs for
 * every option a rule's loaded matches do not know exactly.
 */
function abbreviated(
  text: string,
  protocol: RuleHeader['protocol'],
  target: TargetExtension | null,
  slots: OptionSlots,
  loadedOnly = false,
): string | null {
  let found: string | null = null;
  let ambiguous = false;
  const consider = (name: string) => {
    if (!name.startsWith(text) || name === found) return;
    if (found === null) found = name;
    else ambiguous = true;
  };
  for (const name of BASE_LONG_OPTIONS) consider(name);
  for (const o of target?.options ?? []) consider(o.name);
  for (let m = 0; m < slots.matches; m++) for (const o of slots.ext[m]!.options) consider(o.name);
  if (!loadedOnly && protocol && !protocol.negated && isL4(protocol.name))
    for (const o of implicitMatchFor(protocol.name)?.options ?? []) consider(o.name);
  return ambiguous ? null : found;
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

/** Parsing is synchronous and never nested, so one set of slots serves every rule. */
const SLOTS = new OptionSlots();

/** A header with no conditions, shared by every rule that has none. */
const NO_HEADER: RuleHeader = { src: null, dst: null, protocol: null, inIface: null, outIface: null, fragment: null };

/** The -j/-g being read (parsing never nests): its flag ('' for none yet), the name, and the extension (null: a chain). */
const TARGET_READ: { flag: string; name: string; ext: TargetExtension | null } = { flag: '', name: '', ext: null };

/** The header being read (parsing never nests); a rule keeps a copy or a shared header (keptHeader). */
const HEADER: { -readonly [K in keyof RuleHeader]: RuleHeader[K] } = { ...NO_HEADER };

/** The -s/-d prefix being read (parsing never nests). */
const READ_PREFIX = { address: 0, length: 0 };

/** A bit per header flag, for refusing one given twice. */
const FIELD_BITS: Readonly<Record<HeaderField, number>> = {
  src: 1,
  dst: 2,
  protocol: 4,
  inIface: 8,
  outIface: 16,
  fragment: 32,
};

/** Parses the tokens of one rule. Throws RuleSyntaxError, which the caller turns into a line error. */
export function parseRuleTokens(
  /** The line's tokens; the rule's arguments start at `from`. */
  tokens: TokenBuffer,
  from: number,
  table: TableName,
  source: string,
  /** Shares repeated matches, targets and addresses between the rules of one script. */
  cache: RuleCache = newRuleCache(),
  /**
   * The chain and line of a plain "-A CHAIN" line the rule is read from: the rule is then made as
   * its statement too (an AppendedRule), unless it has hook-limited matches (seldom).
   */
  appendedTo: string | null = null,
  line = 0,
): Rule {
  // Read into the scratch header; the rule keeps a copy only when it has more than -p.
  const header = HEADER;
  header.src = null;
  header.dst = null;
  header.protocol = null;
  header.inIface = null;
  header.outIface = null;
  header.fragment = null;
  let seen = 0;
  // Matches and options are noted in the reusable slots; objects are made only for what the script has not had yet.
  const slots = SLOTS;
  slots.matches = 0;
  slots.options = 0;
  // The -j/-g read into the scratch descriptor ('' flag: none yet).
  const target = TARGET_READ;
  target.flag = '';
  target.name = '';
  target.ext = null;
  let negatePending = false;
  const texts = tokens.texts;
  const quoted = tokens.quoted;
  let count = tokens.length;
  let i = from;
  /** The word an "--option=value" was cut from (-1: none), for getopt's refusal of a value no option takes. */
  let splitAt = -1;

  for (; i < count; i++) {
    const text = texts[i]!;
    if (text === '!' && !quoted[i]) {
      if (negatePending) throw new RuleSyntaxError('multiple "!" flags not allowed', text);
      negatePending = true;
      continue;
    }
    const negated: boolean = negatePending;
    negatePending = false;
    // Every flag starts with "-"; anything else is a stray argument, found below.
    const field = text.charCodeAt(0) === DASH ? HEADER_FLAGS.get(text) : undefined;
    if (field) {
      // A flag given twice is refused whatever its value (-p all leaves no condition, but counts).
      const bit = FIELD_BITS[field];
      if ((seen & bit) !== 0) throw new RuleSyntaxError(`multiple ${text} flags not allowed`, text);
      seen |= bit;
      let value = '';
      const neg = negated;
      if (field !== 'fragment') {
        i = argumentOf(tokens, i, text);
        if (texts[i] === '!' && !quoted[i]) throw intrapositioned(text);
        value = texts[i]!;
      }
      if (field === 'src' || field === 'dst') {
        // Read afresh each time: a scan costs less than looking the text up among a script's tens
        // of thousands of addresses (most name one endpoint or one ClusterIP, and repeat seldom).
        // One prefix is read into the condition itself; a list keeps its prefixes.
        let list: IPv4Prefix[] | null = null;
        const read = READ_PREFIX;
        if (value.indexOf(',') >= 0) {
          if (neg) throw new RuleSyntaxError('! not allowed with multiple source or destination IP addresses', '!');
          list = parsePrefixList(value);
          if (!list) throw new RuleSyntaxError(`host/network "${value}" not found`, value);
          read.address = list[0]!.address;
          read.length = list[0]!.length;
        } else if (!readRulePrefix(value, read)) throw new RuleSyntaxError(`host/network "${value}" not found`, value);
        header[field] = { address: read.address, length: read.length, list, negated: neg };
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
      i = argumentOf(tokens, i, text);
      const name = texts[i]!;
      const ext = findMatch(name);
      if (!ext) throw new RuleSyntaxError(unmodelledMatch(name) ?? `unknown match "${name}"`, name);
      slots.addMatch(ext, false);
      continue;
    }
    if (text === '-j' || text === '--jump' || text === '-g' || text === '--goto') {
      if (negated) throw new RuleSyntaxError(`unexpected "!" before ${text}`, text);
      if (target.flag !== '') throw new RuleSyntaxError('multiple targets not allowed', text);
      i = argumentOf(tokens, i, text);
      const name = texts[i]!;
      const isGoto = text === '-g' || text === '--goto';
      const ext = isGoto ? null : (findTarget(name) ?? null);
      target.flag = text;
      target.name = name;
      target.ext = ext;
      continue;
    }
    if (text === '-c' || text === '--set-counters') {
      i = argumentOf(tokens, i, text);
      const packets = texts[i]!;
      i = argumentOf(tokens, i, text);
      const bytes = texts[i]!;
      if (!/^\d+$/.test(packets) || !/^\d+$/.test(bytes)) throw new RuleSyntaxError('bad counters', packets);
      continue;
    }
    if (text.startsWith('-')) {
      const option = text.startsWith('--') ? text : null;
      if (!option) throw new RuleSyntaxError(`unknown argument "${text}"`, text);
      // Who owns this option: the target, then the matches loaded so far (latest first),
      // then the protocol match iptables loads by itself after -p.
      let instance: number | null = null;
      let spec = target.ext ? optionSpec(target.ext, option) : undefined;
      if (spec) instance = -1;
      for (let m = slots.matches - 1; instance === null && m >= 0; m--) {
        spec = optionSpec(slots.ext[m]!, option);
        if (spec) instance = m;
      }
      // -p names a protocol whose own match iptables would load for an option no loaded one knows.
      const protocol = header.protocol;
      const l4 = instance === null && protocol && !protocol.negated && isL4(protocol.name) ? protocol.name : null;
      if (l4 !== null) {
        // An abbreviation of a loaded extension's option wins before that match is loaded
        // ("-p tcp -m multiport --dport 80" is multiport's --dports).
        if (slots.matches > 0 || target.ext !== null) {
          const loaded = abbreviated(option, header.protocol, target.ext, slots, true);
          if (loaded !== null && loaded !== option) {
            texts[i] = loaded;
            negatePending = negated;
            i--;
            continue;
          }
        }
        const implicit = implicitMatchFor(l4);
        spec = implicit ? optionSpec(implicit, option) : undefined;
        if (implicit && spec) {
          instance = slots.matches;
          slots.addMatch(implicit, true);
        }
      }
      if (instance === null || !spec) {
        // getopt_long reads "--option=value" as the option and its argument (extensions' options:
        // iptables' own -s/-j/... are read before getopt sees them, and "--source=..." is refused).
        // (--match takes its argument from getopt, so "--match=comment" loads the match.)
        const eq = option.indexOf('=');
        const name = option.slice(0, eq);
        if (eq > 2 && option.charCodeAt(1) === 45 && (name === '--match' || !abbreviatesBaseOption(name))) {
          tokens.splitWord(i, eq);
          count = tokens.length;
          negatePending = negated;
          splitAt = i;
          i--;
          continue;
        }
        // getopt_long takes an unambiguous prefix of any option known at this point ("--dpo" is --dport).
        const full = abbreviated(option, header.protocol, target.ext, slots);
        if (full === null) {
          // An option of a -j target iptables has and knetsim does not model: name the target.
          const unmodelled = target.flag !== '' && target.ext === null ? unmodelledTarget(target.name) : null;
          throw new RuleSyntaxError(unmodelled ?? `unknown option "${option}"`, unmodelled ? target.name : option);
        }
        // iptables' own options: a few change nothing in a rule; the others do not go with -A.
        if (HARMLESS_OPTIONS.has(full)) {
          negatePending = negated;
          continue;
        }
        if (GENERAL_OPTIONS.has(full)) throw new RuleSyntaxError(`option "${full}" cannot be used in a rule`, option);
        if (full === option) throw new RuleSyntaxError(`unknown option "${option}"`, option);
        texts[i] = full;
        negatePending = negated;
        i--;
        continue;
      }
      const first = instance >= 0 ? slots.ext[instance]!.protocolFirst : undefined;
      if (first) {
        // As iptables reads it: the protocol must be known when this option is read.
        if (!header.protocol) throw new RuleSyntaxError(first.missing, option);
        if (header.protocol.negated || first.wrong(header.protocol.name))
          throw new RuleSyntaxError(first.wrongMessage, option);
      }
      // "--syn=x": getopt_long refuses an argument given to an option that takes none.
      if (splitAt === i && spec.args === 0)
        throw new RuleSyntaxError(`unknown option "${option}=${texts[i + 1]}"`, option);
      if (negated && !spec.negatable) throw new RuleSyntaxError(`option "${option}" cannot be inverted`, option);
      const neg = negated;
      let argAt = i + 1;
      for (let a = 0; a < spec.args; a++) {
        i = argumentOf(tokens, i, option);
        // A "!" is the argument (iptables 1.8 reads it so: "--comment !" is the text "!"); the hint
        // is for the old spelling "--dport ! 80", where the word after it was meant.
        if (a === 0 && texts[i] === '!' && !quoted[i] && i + 1 < count && texts[i + 1]!.charCodeAt(0) !== 45)
          throw intrapositioned(option);
        if (a === 0) argAt = i;
      }
      if (!spec.repeatable)
        for (let k = 0; k < slots.options; k++)
          if (slots.owner[k] === instance && slots.name[k] === option) {
            const owner = instance === TARGET ? target.name : slots.ext[instance]!.name;
            throw new RuleSyntaxError(`${owner}: option "${option}" can only be used once`, option);
          }
      // The arguments are the tokens argAt .. argAt + spec.args - 1 (a "!" can only come before the first).
      slots.addOption(instance, option, neg, argAt, spec.args);
      continue;
    }
    throw new RuleSyntaxError(`bad argument "${text}"`, text);
  }
  if (negatePending) throw new RuleSyntaxError('"!" at the end of the rule', '!');

  const named = header.protocol && !header.protocol.negated ? header.protocol.name : null;
  const facts = factsOf(table, named !== null && isL4(named) ? named : null, header);
  // No list, a shared one, or one sized exactly (the list is kept with the rule).
  let ruleMatches: readonly RuleMatch[] = NO_MATCHES;
  if (slots.matches === 1) ruleMatches = sharedList(matchOf(slots, 0, texts, facts, cache), cache);
  else if (slots.matches > 1) {
    const found = new Array<RuleMatch>(slots.matches);
    for (let m = 0; m < slots.matches; m++) found[m] = matchOf(slots, m, texts, facts, cache);
    ruleMatches = found;
  }
  const ruleTarget = target.flag !== '' ? targetOf(target, slots, texts, facts, cache) : NO_TARGET;
  let comment: string | null = null;
  for (let m = 0; m < ruleMatches.length; m++)
    if (ruleMatches[m]!.module === 'comment') {
      comment = ruleMatches[m]!.options[0]?.args[0] ?? null;
      break;
    }
  // Rare (-m rpfilter, owner, policy): the commit check needs every such match's hooks; other rules keep one shape.
  let matchHooks: { module: string; hooks: readonly Hook[] }[] | null = null;
  for (let m = 0; m < slots.matches; m++) {
    const ext = slots.ext[m]!;
    const hooks = ext.hooksFor?.(ruleMatches[m]!.options) ?? ext.hooks;
    if (!hooks) continue;
    matchHooks ??= [];
    matchHooks.push({ module: ext.name, hooks });
  }
  const kept = keptHeader(header);
  if (matchHooks === null && appendedTo !== null)
    return new AppendedRule(source, kept, ruleMatches, ruleTarget, comment, appendedTo, line);
  const rule: Rule = { source, header: kept, matches: ruleMatches, target: ruleTarget, comment };
  return matchHooks === null ? rule : { ...rule, matchHooks };
}

/**
 * "--option ! value": iptables 1.8 no longer reads a "!" after the option (old releases took it,
 * with a warning); it takes the "!" as the argument and refuses what follows.
 */
function intrapositioned(option: string): RuleSyntaxError {
  return new RuleSyntaxError(`"!" after ${option}: write "! ${option} ..." (iptables refuses "${option} ! ...")`, '!');
}

/** A match's options compiled, or the same match met earlier in the script. */
function matchOf(
  slots: OptionSlots,
  m: number,
  texts: readonly string[],
  facts: RuleFacts,
  cache: RuleCache,
): RuleMatch {
  const ext = slots.ext[m]!;
  const implicit = slots.implicit[m]!;
  // A comment compiles alike in any table and rule: its text is the key.
  const only = ext === commentMatch ? slots.onlyOption(m) : -1;
  const byText = only >= 0 && slots.argCount[only] === 1 ? texts[slots.argAt[only]!]! : null;
  let hash = 0;
  if (byText !== null) {
    const known = cache.comments.get(byText);
    if (known) return known;
  } else {
    hash = slots.hash(m, ext.name, implicit, facts, texts);
    const bucket = cache.matches.bucket(hash);
    if (bucket) for (const e of bucket) if (slots.sameAs(e.from, m, ext.name, implicit, facts, texts)) return e.value;
  }
  const options = slots.parsedOptions(m, texts);
  const compiled = ext.compile(options, facts);
  if (typeof compiled === 'string') throw new RuleSyntaxError(`${ext.name} match: ${compiled}`, ext.name);
  cache.modules.add(ext.name);
  if (ext.implicitFor && facts.protocol !== ext.implicitFor && !implicit)
    // iptables refuses "-m tcp" unless the rule says -p tcp.
    throw new RuleSyntaxError(`"-m ${ext.name}" requires "-p ${ext.name}"`, ext.name);
  const match: RuleMatch = { module: ext.name, implicit, options, compiled };
  if (byText !== null) cache.comments.set(byText, match);
  else
    cache.matches.add(
      hash,
      {
        name: ext.name,
        implicit,
        table: facts.table,
        protocol: facts.protocol,
        portsAllowed: facts.portsAllowed,
        options,
      },
      match,
    );
  return match;
}

const NO_MATCHES: readonly RuleMatch[] = [];

/** Rules with one match share one list per match (the match itself shared: a repeated one was compiled once). */
function sharedList(only: RuleMatch, cache: RuleCache): readonly RuleMatch[] {
  let list = cache.lists.get(only);
  if (!list) {
    list = [only];
    cache.lists.set(only, list);
  }
  return list;
}

const PROTOCOL_HEADERS = new Map<RuleHeader['protocol'], RuleHeader>();

/** The header a rule keeps: a copy of the scratch one, or the shared one with nothing but -p (kube-proxy's DNAT rules), or none. */
function keptHeader(h: RuleHeader): RuleHeader {
  if (h.src || h.dst || h.inIface || h.outIface || h.fragment)
    return {
      src: h.src,
      dst: h.dst,
      protocol: h.protocol,
      inIface: h.inIface,
      outIface: h.outIface,
      fragment: h.fragment,
    };
  if (!h.protocol) return NO_HEADER;
  let shared = PROTOCOL_HEADERS.get(h.protocol);
  if (!shared) {
    shared = { ...NO_HEADER, protocol: h.protocol };
    PROTOCOL_HEADERS.set(h.protocol, shared);
  }
  return shared;
}

/** Rule facts by table, then -p (without and with portsAllowed): a few objects serve every rule. */
const FACTS = new Map<TableName, Map<L4Protocol | null, [RuleFacts | undefined, RuleFacts | undefined]>>();

/** Protocols whose ports NAT may map (RuleFacts.portsAllowed). */
const NAT_PORT_PROTOCOLS = new Set(['tcp', 'udp', 'sctp', 'dccp', 'icmp']);

/** The facts of a table and -p, one shared object for each. */
function factsOf(table: TableName, protocol: L4Protocol | null, header: RuleHeader): RuleFacts {
  const portsAllowed = header.protocol !== null && NAT_PORT_PROTOCOLS.has(header.protocol.name);
  let byProtocol = FACTS.get(table);
  if (!byProtocol) {
    byProtocol = new Map();
    FACTS.set(table, byProtocol);
  }
  let pair = byProtocol.get(protocol);
  if (!pair) {
    pair = [undefined, undefined];
    byProtocol.set(protocol, pair);
  }
  const slot = portsAllowed ? 1 : 0;
  let facts = pair[slot];
  if (!facts) {
    facts = { protocol, table, portsAllowed };
    pair[slot] = facts;
  }
  return facts;
}

const NO_TARGET: RuleTarget = { kind: 'none' };

const PROTOCOL_CONDITIONS = new Map<string, RuleHeader['protocol']>();

/** The few -p conditions there are, shared. */
function protocolCondition(name: string, negated: boolean): RuleHeader['protocol'] {
  const key = negated ? `!${name}` : name;
  let condition = PROTOCOL_CONDITIONS.get(key);
  if (!condition) {
    condition = { name, negated };
    PROTOCOL_CONDITIONS.set(key, condition);
  }
  return condition;
}

/** The one option of a seldom-repeated target being compiled (parsing never nests). */
const SCRATCH_OPTION: { name: string; negated: boolean; args: string[] } = { name: '', negated: false, args: [''] };
const SCRATCH_OPTIONS: readonly ParsedOption[] = [SCRATCH_OPTION];

/**
 * An extension target given as one option with one argument (DNAT --to-destination ADDR:PORT):
 * the argument is kept and the option list made when asked (for printing; seldom), rather than
 * three objects kept per rule (a kube-proxy dump has a DNAT per endpoint).
 */
class OneOptionTarget {
  readonly kind = 'extension';
  constructor(
    readonly name: string,
    private readonly optionName: string,
    private readonly negated: boolean,
    private readonly arg: string,
    readonly action: TargetAction,
  ) {}

  get options(): readonly ParsedOption[] {
    return [{ name: this.optionName, negated: this.negated, args: [this.arg] }];
  }
}

/** The rule's -j/-g, checked and compiled once per distinct target of the script. */
function targetOf(
  target: { flag: string; name: string; ext: TargetExtension | null },
  slots: OptionSlots,
  texts: readonly string[],
  facts: RuleFacts,
  cache: RuleCache,
): RuleTarget {
  if (!target.ext) return chainTarget(target, cache);
  const keep = !target.ext.seldomRepeated;
  // Extensions depend on the table (where they are valid) and the protocol (ports need -p).
  const hash = keep ? slots.hash(TARGET, target.name, false, facts, texts) : 0;
  const bucket = keep ? cache.targets.bucket(hash) : undefined;
  if (bucket)
    for (const e of bucket) if (slots.sameAs(e.from, TARGET, target.name, false, facts, texts)) return e.value;
  const table = facts.table;
  if (target.ext.tables && !target.ext.tables.includes(table))
    throw new RuleSyntaxError(`target ${target.name} is not valid in the ${table} table`, target.name);
  // The usual DNAT (-j DNAT --to-destination ADDR:PORT, one per endpoint) is compiled from a reused
  // option and kept as its one argument (OneOptionTarget makes the option list when asked).
  const only = keep ? -1 : slots.onlyOption(TARGET);
  const one = only >= 0 && slots.argCount[only] === 1 ? SCRATCH_OPTION : null;
  if (one !== null) {
    one.name = slots.name[only]!;
    one.negated = slots.negated[only]!;
    one.args[0] = texts[slots.argAt[only]!]!;
  }
  const options = one !== null ? SCRATCH_OPTIONS : slots.parsedOptions(TARGET, texts);
  const action = target.ext.compile(options, facts);
  if (typeof action === 'string') throw new RuleSyntaxError(`${target.name} target: ${action}`, target.name);
  cache.targetModules.add(target.name);
  if (one !== null) return new OneOptionTarget(target.name, one.name, one.negated, one.args[0]!, action);
  const ruleTarget: RuleTarget = { kind: 'extension', name: target.name, options, action };
  if (keep)
    cache.targets.add(
      hash,
      {
        name: target.name,
        implicit: false,
        table,
        protocol: facts.protocol,
        portsAllowed: facts.portsAllowed,
        options,
      },
      ruleTarget,
    );
  return ruleTarget;
}

/** -j CHAIN or -g CHAIN: the chain name checked once per name. */
function chainTarget(target: { flag: string; name: string }, cache: RuleCache): RuleTarget {
  const isGoto = target.flag === '-g' || target.flag === '--goto';
  const declared = cache.chainNames.get(target.name);
  cache.lastJump = declared;
  if (declared) {
    // A declared name passed the checks a declaration makes; the target is made once per chain.
    const known = isGoto ? declared.goto : declared.jump;
    if (known) return known;
    checkChainName(target.name);
    const made: RuleTarget = isGoto ? { kind: 'goto', chain: declared.name } : { kind: 'jump', chain: declared.name };
    if (isGoto) declared.goto = made;
    else declared.jump = made;
    return made;
  }
  const byName = isGoto ? cache.gotos : cache.jumps;
  const known = byName.get(target.name);
  if (known) return known;
  checkChainName(target.name);
  const ruleTarget: RuleTarget = isGoto ? { kind: 'goto', chain: target.name } : { kind: 'jump', chain: target.name };
  byName.set(target.name, ruleTarget);
  return ruleTarget;
}

const CHAIN_NAME = /^[^\s!-][^\s]{0,28}$/;
const BANG = 33;

/**
 * A -j/-g chain name iptables takes: 1 to 29 characters, no blanks, not starting with "!" or "-".
 * The usual name (printable ASCII) is checked by its character codes; any other goes through the
 * regular expression (a test of it per new name made garbage for every chain of a dump).
 */
function checkChainName(name: string): void {
  const n = name.length;
  let plain = n >= 1 && n <= 29 && name.charCodeAt(0) !== BANG && name.charCodeAt(0) !== DASH;
  for (let i = 0; plain && i < n; i++) {
    const c = name.charCodeAt(i);
    plain = c > 0x20 && c < 0x7f;
  }
  if (!plain && !CHAIN_NAME.test(name)) throw new RuleSyntaxError(`invalid chain name "${name}"`, name);
}
