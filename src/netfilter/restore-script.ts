// The iptables-save / iptables-restore text: tables, chain declarations and
// commands in file order. Parsing then printing gives back the same text.
import { type AppendLayout, AppendLayoutBuilder } from './append-layout';
import { BUILTIN_CHAINS } from './builtin-chains';
import type { TableName } from './extension';
import { newChainNameProblem } from './extensions';
import { parseRuleTokens, RuleSyntaxError } from './parse-rule';
import { AppendedRule, type Rule } from './rule';
import { declareChain, declaredChain, newRuleCache, type RuleCache } from './rule-cache';
import { printTokens, type Token, TokenBuffer } from './tokenize';

export const TABLE_NAMES: readonly TableName[] = ['raw', 'mangle', 'nat', 'filter', 'security'];

export type Statement =
  | { readonly kind: 'comment'; readonly text: string; readonly line: number }
  | {
      readonly kind: 'chain';
      readonly name: string;
      /** "-" for user chains. */
      readonly policy: string;
      readonly counters: string | null;
      readonly line: number;
    }
  | {
      readonly kind: 'rule';
      /** -A appends, -I inserts (at `position`, default 1), -D deletes, -R replaces. */
      readonly command: '-A' | '-I' | '-D' | '-R';
      readonly commandFlag: string;
      readonly chain: string;
      readonly position: number | null;
      readonly rule: Rule;
      /** "[packets:bytes]" before the rule, as iptables-save -c prints. */
      readonly counters: string | null;
      readonly line: number;
    }
  | {
      readonly kind: 'command';
      /** -N, -X, -F, -Z, -P, -E (and -D CHAIN N). */
      readonly command: string;
      readonly args: readonly Token[];
      readonly line: number;
    };

export type ScriptBlock =
  | { readonly kind: 'comment'; readonly text: string }
  | {
      readonly kind: 'table';
      readonly name: TableName;
      readonly statements: readonly Statement[];
      readonly line: number;
      /**
       * Set when the block only declares chains (each once, user chains without a policy) and
       * appends to built-in chains or chains it declared above, with rules that jump only to chains
       * it declared above and have no address lists or hook-limited matches or targets (a dump,
       * kube-proxy's full restore): applying builds the table from it (see AppendLayout). It
       * describes `statements` as parsed: whoever changes them must drop it.
       */
      readonly layout?: AppendLayout;
    };

export interface RestoreScript {
  readonly blocks: readonly ScriptBlock[];
  /** The match modules the script's rules load (-m NAME, and those -p loads); absent when not known. */
  readonly matchModules?: ReadonlySet<string>;
  /** The target extensions the script's rules use (-j DNAT, -j SET...); absent when not known. */
  readonly targetModules?: ReadonlySet<string>;
}

export interface ScriptError {
  readonly line: number;
  readonly message: string;
}

export type ParseResult =
  | { readonly ok: true; readonly script: RestoreScript }
  | { readonly ok: false; readonly error: ScriptError };

const COMMAND_ALIASES: Readonly<Record<string, string>> = {
  '--append': '-A',
  '--insert': '-I',
  '--delete': '-D',
  '--replace': '-R',
  '--new-chain': '-N',
  '--new': '-N',
  '--delete-chain': '-X',
  '--flush': '-F',
  '--zero': '-Z',
  '--policy': '-P',
  '--rename-chain': '-E',
};

/** A command's short form (-N for --new-chain or --new): a statement keeps the flag as written, for printing. */
export function shortCommand(flag: string): string {
  return Object.hasOwn(COMMAND_ALIASES, flag) ? COMMAND_ALIASES[flag]! : flag;
}

class LineError extends Error {}

const CR = 13;

/**
 * Whether a line ending in this character code may have something for String.prototype.trim to
 * remove (control characters, spaces, and any non-ASCII character, which trim then looks at).
 */
function mayBeBlank(c: number): boolean {
  return c <= 32 || c >= 0xa0;
}
const OPEN_BRACKET = 91;
const HASH = 35;
const STAR = 42;
const COLON = 58;
const RULE_COMMANDS: ReadonlySet<string> = new Set(['-A', '-I', '-D', '-R']);
/** The built-in chains' names (of any table): declared to set a policy, not made. */
const BUILTIN_NAMES: ReadonlySet<string> = new Set(Object.values(BUILTIN_CHAINS).flat());

const CHAIN_COMMANDS: ReadonlySet<string> = new Set(['-N', '-X', '-F', '-Z', '-P', '-E']);

function parseRuleStatement(
  /** The text the line is in, and where the line ends there (the tokens are read from it). */
  source: string,
  end: number,
  /** -A, -I, -D or -R: the line's first token with its long form resolved. */
  command: string,
  tokens: TokenBuffer,
  table: TableName,
  line: number,
  counters: string | null,
  cache: RuleCache,
): Statement {
  const texts = tokens.texts;
  const flag = texts[0]!;
  const read = tokens.length > 1 ? texts[1]! : undefined;
  if (!read) throw new LineError(`${flag} needs a chain name`);
  const chain = declaredChain(cache, read);
  let from = 2;
  let position: number | null = null;
  const maybeNumber = tokens.length > 2 ? texts[2]! : undefined;
  if (
    (command === '-I' || command === '-R' || command === '-D') &&
    maybeNumber !== undefined &&
    /^\d+$/.test(maybeNumber)
  ) {
    position = Number(maybeNumber);
    if (position < 1) throw new LineError(`invalid rule number "${maybeNumber}"`);
    from = 3;
    if (command === '-D') {
      if (from === tokens.length) return { kind: 'command', command: '-D', args: tokens.tokens(1), line };
      throw new LineError(`-D takes a rule number or a rule, not both ("${texts[from]}" follows the number)`);
    }
  }
  if (command === '-R' && position === null) throw new LineError('-R needs a rule number');
  const argsFrom = tokens.ends[from - 1]!;
  // A plain "-A CHAIN" line's rule is made as its statement too (AppendedRule).
  const plain = flag === '-A' && counters === null;
  const rule = parseRuleTokens(tokens, from, table, source.slice(argsFrom, end), cache, plain ? chain : null, line);
  // iptables refuses an interface a built-in chain can never see (a user chain may have either).
  if (rule.header.outIface && (chain === 'INPUT' || chain === 'PREROUTING'))
    throw new LineError(`Can't use -o with ${chain}`);
  if (rule.header.inIface && (chain === 'OUTPUT' || chain === 'POSTROUTING'))
    throw new LineError(`Can't use -i with ${chain}`);
  if (rule instanceof AppendedRule) return rule;
  return {
    kind: 'rule',
    command: command as '-A' | '-I' | '-D' | '-R',
    commandFlag: flag,
    chain,
    position,
    rule,
    counters,
    line,
  };
}

const USER_CHAIN_TAIL = ' - [0:0]';
const ZERO_COUNTERS = '[0:0]';
const CHAIN_DECLARATION = /^:(\S+)\s+(\S+)(?:\s+(\[\d+:\d+\]))?$/;
const COUNTERS = /^\[\d+:\d+\]$/;

/** Whether every character is printable ASCII other than a space (what \S surely matches). */
function isPlainWord(text: string, from: number, to: number): boolean {
  if (from >= to) return false;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

/** The declaration chainDeclaration read last (parsing never nests): the name, policy and counters (null: none). */
const DECLARATION: { name: string; policy: string; counters: string | null } = { name: '', policy: '', counters: null };

/**
 * ":NAME POLICY [packets:bytes]" (the counters optional), the line text[start, end), read into
 * DECLARATION; false when the line is no declaration. The usual line, words of printable ASCII one
 * space apart, is cut at its spaces; anything else goes through the regular expression, which says
 * the same for the usual line.
 */
function chainDeclaration(text: string, start: number, end: number): boolean {
  const d = DECLARATION;
  // Most declarations are user chains with zero counters (":KUBE-SEP-... - [0:0]", 27% of a kube-proxy dump's lines).
  const nameEnd = end - USER_CHAIN_TAIL.length;
  if (nameEnd > start + 1 && text.startsWith(USER_CHAIN_TAIL, nameEnd) && isPlainWord(text, start + 1, nameEnd)) {
    d.name = text.slice(start + 1, nameEnd);
    d.policy = '-';
    d.counters = ZERO_COUNTERS;
    return true;
  }
  const first = text.indexOf(' ', start);
  const second = first < 0 || first >= end ? -1 : text.indexOf(' ', first + 1);
  if (first < 0 || first >= end) return declarationByPattern(text.slice(start, end));
  const policyEnd = second < 0 || second >= end ? end : second;
  const third = policyEnd === end ? -1 : text.indexOf(' ', second + 1);
  if (
    first > start + 1 &&
    (policyEnd === end || third < 0 || third >= end) &&
    isPlainWord(text, start + 1, first) &&
    isPlainWord(text, first + 1, policyEnd) &&
    (policyEnd === end || (isPlainWord(text, second + 1, end) && COUNTERS.test(text.slice(second + 1, end))))
  ) {
    d.name = text.slice(start + 1, first);
    d.policy = text.slice(first + 1, policyEnd);
    d.counters = policyEnd === end ? null : text.slice(second + 1, end);
    return true;
  }
  return declarationByPattern(text.slice(start, end));
}

function declarationByPattern(line: string): boolean {
  const m = CHAIN_DECLARATION.exec(line);
  if (!m) return false;
  const d = DECLARATION;
  d.name = m[1]!;
  d.policy = m[2]!;
  d.counters = m[3] ?? null;
  return true;
}

/** Parses iptables-save output or iptables-restore input. */
export function parseRestoreScript(text: string): ParseResult {
  const blocks: ScriptBlock[] = [];
  let table: { name: TableName; statements: Statement[]; line: number; layout: AppendLayoutBuilder } | null = null;
  const cache = newRuleCache();
  const tokens = new TokenBuffer(true);
  // Lines are read where they are in the text rather than split up front or cut out one by one:
  // what a rule keeps is a slice of the text itself, and no line makes a string only to drop it.
  let lineNo = 0;
  // The next quote and tab in the text, looked for again only once passed: a line before both is
  // plain, cut at its spaces without a look at each character (one scan of the text, not two a line).
  let nextQuote = text.indexOf('"');
  let nextTab = text.indexOf('\t');
  for (let at = 0; at < text.length; ) {
    const newline = text.indexOf('\n', at);
    const lineEnd = newline < 0 ? text.length : newline;
    if (nextQuote >= 0 && nextQuote < at) nextQuote = text.indexOf('"', at);
    if (nextTab >= 0 && nextTab < at) nextTab = text.indexOf('\t', at);
    // The line is source[start, end): read in place, without a string of its own (nearly every
    // line is a rule or a declaration, whose parts are cut out of the text itself). A line with
    // blanks at either end (seldom) is trimmed into a string of its own and read from that.
    const rawStart = at;
    const rawEnd = lineEnd > at && text.charCodeAt(lineEnd - 1) === CR ? lineEnd - 1 : lineEnd;
    let source = text;
    let start = rawStart;
    let end = rawEnd;
    // Whether source is the text (the next quote and tab known) or a string of the line's own.
    let inText = true;
    at = newline < 0 ? text.length : newline + 1;
    lineNo++;
    if (end > start && (mayBeBlank(text.charCodeAt(start)) || mayBeBlank(text.charCodeAt(end - 1)))) {
      source = text.slice(start, end).trim();
      start = 0;
      end = source.length;
      inText = false;
    }
    try {
      if (end === start) continue;
      const first = source.charCodeAt(start);
      if (first === HASH) {
        const raw = text.slice(rawStart, rawEnd);
        if (table) {
          table.layout.other();
          table.statements.push({ kind: 'comment', text: raw, line: lineNo });
        } else blocks.push({ kind: 'comment', text: raw });
        continue;
      }
      if (first === STAR) {
        const line = source.slice(start, end);
        if (table) throw new LineError(`table "${table.name}" was not COMMITted before "${line}"`);
        // iptables-restore takes the first word after the '*' (strtok: "* nat" is nat, "*nat x" too).
        const name = line
          .slice(1)
          .trim()
          .split(/[ \t]+/)[0]!;
        if (!(TABLE_NAMES as readonly string[]).includes(name))
          throw new LineError(`unknown table "${name}" (${TABLE_NAMES.join(', ')})`);
        table = {
          name: name as TableName,
          statements: [],
          line: lineNo,
          layout: new AppendLayoutBuilder(name as TableName),
        };
        continue;
      }
      if (!table)
        throw new LineError(
          `"${source.slice(start, end).split(/\s+/)[0]}" outside a table (a "*table" line must come first)`,
        );
      if (end - start === 6 && source.startsWith('COMMIT', start)) {
        const layout = table.layout.layout();
        const { name, statements, line } = table;
        blocks.push(
          layout ? { kind: 'table', name, statements, line, layout } : { kind: 'table', name, statements, line },
        );
        table = null;
        continue;
      }
      if (first === COLON) {
        if (!chainDeclaration(source, start, end))
          throw new LineError(`bad chain declaration "${source.slice(start, end)}"`);
        const m = DECLARATION;
        const name = m.name;
        const problem = BUILTIN_NAMES.has(name) ? null : newChainNameProblem(name, true);
        if (problem !== null) throw new LineError(problem);
        table.layout.declare(table.statements.length, name, m.policy, declareChain(cache, name));
        table.statements.push({ kind: 'chain', name, policy: m.policy, counters: m.counters, line: lineNo });
        continue;
      }
      let counters: string | null = null;
      if (first === OPEN_BRACKET) {
        // "[packets:bytes] -A ...": the rest is read from a string of its own (iptables-save -c; seldom).
        const c = /^(\[\d+:\d+\])\s+(.*)$/.exec(source.slice(start, end));
        if (c) {
          counters = c[1]!;
          source = c[2]!;
          start = 0;
          end = source.length;
          inText = false;
        }
      }
      const error = inText
        ? tokens.fillRange(source, start, end, nextQuote, nextTab)
        : tokens.fillRange(source, start, end, source.indexOf('"', start), source.indexOf('\t', start));
      if (error !== null) throw new LineError(error);
      const flag = tokens.texts[0]!;
      const command = flag === '-A' ? flag : (COMMAND_ALIASES[flag] ?? flag);
      if (RULE_COMMANDS.has(command)) {
        const s = parseRuleStatement(source, end, command, tokens, table.name, lineNo, counters, cache);
        if (s.kind === 'rule' && s.command === '-A')
          table.layout.append(table.statements.length, s.chain, cache.lastChain.record, s.rule, cache.lastJump);
        else table.layout.other();
        table.statements.push(s);
      } else if (CHAIN_COMMANDS.has(command)) {
        table.layout.other();
        table.statements.push({ kind: 'command', command: flag, args: tokens.tokens(1), line: lineNo });
      } else throw new LineError(`unknown command "${flag}"`);
    } catch (e) {
      if (e instanceof RuleSyntaxError || e instanceof LineError)
        return { ok: false, error: { line: lineNo, message: e.message } };
      throw e;
    }
  }
  if (table) return { ok: false, error: { line: lineNo, message: `table "${table.name}" has no COMMIT` } };
  return { ok: true, script: { blocks, matchModules: cache.modules, targetModules: cache.targetModules } };
}

/** The rule's arguments as read (starting with the space after the chain name). */
export function printRuleItems(rule: Rule): string {
  return rule.source;
}

export function printStatement(s: Statement): string {
  switch (s.kind) {
    case 'comment':
      return s.text;
    case 'chain':
      return `:${s.name} ${s.policy}${s.counters ? ` ${s.counters}` : ''}`;
    case 'command':
      return `${s.command}${printTokens(s.args)}`;
    case 'rule': {
      const head = [s.commandFlag, s.chain, ...(s.position !== null ? [String(s.position)] : [])].join(' ');
      return `${s.counters ? `${s.counters} ` : ''}${head}${printRuleItems(s.rule)}`;
    }
  }
}

export function printRestoreScript(script: RestoreScript): string {
  const out: string[] = [];
  for (const block of script.blocks) {
    if (block.kind === 'comment') out.push(block.text);
    else {
      out.push(`*${block.name}`);
      for (const s of block.statements) out.push(printStatement(s));
      out.push('COMMIT');
    }
  }
  return out.length ? `${out.join('\n')}\n` : '';
}
