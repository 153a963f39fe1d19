// `nft list ruleset`: printing a ruleset the way nft does, and reading a real
// node's listing back into the same model (elements may wrap over lines; a
// `# handle N` annotation is ignored).

import { hasConntrackHelper } from '../net';
import { rulesetProblem } from './check-ruleset';
import { joinContinuations } from './continued-lines';
import type { NftElement } from './expression';
import { formatElements, formatRuleForList } from './format-rule';
import { LOSSY, NftSyntaxError, parseRuleTokens, TokenCursor } from './parse-rule';
import {
  CHAIN_TYPES,
  FAMILIES,
  formatDuration,
  formatPriority,
  HOOKS,
  type NftChain,
  type NftChainType,
  type NftFamily,
  type NftHelper,
  type NftHook,
  type NftRuleset,
  type NftSet,
  type NftTable,
  parsePriority,
  tableKey,
} from './ruleset';
import { tokenizeNft, unquote } from './tokenize';
import { type NftResult, parseSetProperty, skipDevice } from './transaction';

function listSet(s: NftSet): string[] {
  const out = [`\t${s.kind} ${s.name} {`, `\t\ttype ${s.type}${s.dataType ? ` : ${s.dataType}` : ''}`];
  // The kernel gives a dynamic set without a size its default maximum, and lists it.
  const size = s.size ?? (s.flags.includes('dynamic') ? 65535 : undefined);
  if (size !== undefined) out.push(`\t\tsize ${size}`);
  if (s.flags.length) out.push(`\t\tflags ${s.flags.join(',')}`);
  if (s.timeout !== undefined) out.push(`\t\ttimeout ${formatDuration(s.timeout)}`);
  if (s.comment !== undefined) out.push(`\t\tcomment "${s.comment}"`);
  if (s.elements.length) out.push(`\t\telements = ${formatElements(s.elements, 'list')}`);
  out.push('\t}');
  return out;
}

function listChain(ch: NftChain): string[] {
  const out = [`\tchain ${ch.name} {`];
  if (ch.base)
    out.push(
      `\t\ttype ${ch.base.type} hook ${ch.base.hook} priority ${formatPriority(ch.base.priority, ch.base.hook)}; policy ${ch.base.policy ?? 'accept'};`,
    );
  if (ch.comment !== undefined) out.push(`\t\tcomment "${ch.comment}"`);
  for (const r of ch.rules) out.push(`\t\t${formatRuleForList(r.body)}`);
  out.push('\t}');
  return out;
}

/** A ct helper object as nft lists it (its l3proto, when not given, the table's family). */
function listHelper(h: NftHelper, family: string): string[] {
  return [
    `\tct helper ${h.name} {`,
    `\t\ttype "${h.type}" protocol ${h.protocol}`,
    `\t\tl3proto ${h.l3proto ?? family}`,
    '\t}',
  ];
}

function listTable(t: NftTable): string[] {
  // nft lists a table's objects, then its sets and maps, then its chains.
  const blocks = [
    ...[...(t.helpers?.values() ?? [])].map((h) => listHelper(h, t.family)),
    ...[...t.sets.values()].map(listSet),
    ...[...t.chains.values()].map(listChain),
  ];
  const out = [`table ${t.family} ${t.name} {`];
  if (t.comment !== undefined) out.push(`\tcomment "${t.comment}"`);
  blocks.forEach((b, i) => {
    if (i > 0) out.push('');
    out.push(...b);
  });
  out.push('}');
  return out;
}

/** The ruleset as `nft list ruleset` prints it (elements on one line; nft wraps long ones). */
export function formatNftList(r: NftRuleset): string {
  return [...r.tables.values()]
    .flatMap(listTable)
    .map((l) => `${l}\n`)
    .join('');
}

/** Lines of a listing, with a set's wrapped `elements = { ... }` joined into one. */
function logicalLines(text: string): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  const braces: Brace[] = [];
  const raw = joinContinuations(text.split('\n'));
  for (let i = 0; i < raw.length; i++) {
    let t = raw[i]!.trim();
    const start = i;
    if (/^elements = \{/.test(t))
      while (!t.endsWith('}') && i + 1 < raw.length) {
        i++;
        t += ` ${raw[i]!.trim()}`;
      }
    if (t) out.push(...blockStatements(start + 1, t, braces));
  }
  return out;
}

/** What a `{` opened: a table or chain body (statements inside), a set's or map's body, an inline set. */
type Brace = 'block' | 'set' | 'inline';

/**
 * One line of block syntax as the statements it holds: nft takes `chain c { type filter hook input
 * priority 0; policy drop; }` on one line as well as on several, so a table's or chain's `{`, `}` and
 * a chain's `;` end a statement (a set's body and inline sets `{ a, b }` stay whole). `braces`: the
 * contexts open when the line starts, carried from line to line.
 */
function blockStatements(line: number, text: string, braces: Brace[]): { line: number; text: string }[] {
  // Most lines of a listing are one rule with no brace or semicolon: read as they are.
  if (!/[{};]/.test(text)) return [{ line, text }];
  const t = tokenizeNft(text);
  if (!t.ok || !t.tokens.some((x) => x.text === '{' || x.text === '}' || x.text === ';')) return [{ line, text }];
  const out: { line: number; text: string }[] = [];
  let from = 0;
  const emit = (to: number) => {
    const piece = text.slice(from, to).trim();
    if (piece) out.push({ line, text: piece });
  };
  for (let k = 0; k < t.tokens.length; k++) {
    const token = t.tokens[k]!;
    const at = token.column - 1;
    const inside = braces[braces.length - 1];
    if (token.text === '{') {
      const head = t.tokens[k - 2]?.text;
      const opener =
        inside === 'set' || inside === 'inline'
          ? 'inline'
          : head === 'chain' || head === 'table' || t.tokens[k - 3]?.text === 'table'
            ? 'block'
            : head === 'set' || head === 'map' || (head === 'helper' && t.tokens[k - 3]?.text === 'ct')
              ? 'set'
              : 'inline';
      braces.push(opener);
      if (opener === 'block') {
        emit(at + 1);
        from = at + 1;
      }
    } else if (token.text === '}') {
      const closed = braces.pop();
      if (closed === 'block') {
        emit(at);
        out.push({ line, text: '}' });
        from = at + 1;
      }
    } else if (token.text === ';' && inside === 'block') {
      emit(at);
      from = at + 1;
    }
  }
  emit(t.comment ? t.comment.column - 1 + t.comment.text.length : text.length);
  return out;
}

function parseChainHeader(c: TokenCursor, chain: NftChain): void {
  c.expect('type');
  const type = c.next('a chain type');
  if (!(CHAIN_TYPES as readonly string[]).includes(type)) c.fail(`unknown chain type "${type}"`);
  c.expect('hook');
  const hook = c.next('a hook') as NftHook;
  if (!HOOKS.includes(hook)) c.fail(`unknown hook "${hook}"`);
  skipDevice(c);
  c.expect('priority');
  const words: string[] = [];
  while (c.peek() !== undefined && c.peek() !== ';') words.push(c.next('a priority'));
  const priority = parsePriority(words.join(' '), hook);
  if (priority === null) c.fail(`bad priority "${words.join(' ')}"`);
  if (c.peek() === ';') c.i++;
  let policy: 'accept' | 'drop' | undefined;
  if (c.peek() === 'policy') {
    c.i++;
    const p = c.next('a policy');
    if (p !== 'accept' && p !== 'drop') c.fail(`unknown policy "${p}"`);
    policy = p;
    if (c.peek() === ';') c.i++;
  }
  chain.base = { type: type as NftChainType, hook, priority, ...(policy ? { policy } : {}) };
}

/** Comments nft writes for iptables extensions (their print words), and anything carrying a rule's counters. */
const XT_COMMENT =
  /counter packets \d+ bytes \d+|^#\s*(match-set \S+ (src|dst)|socket( --\w[\w-]*)*\s*$|TPROXY redirect |CHECKSUM fill|NFQUEUE num |SET (add|del)-set )/;

function lossyComment(text: string): boolean {
  return XT_COMMENT.test(text);
}

/** Takes a ct helper object's words up to its `}`; true when the object is complete (then in the table). */
function readHelperBody(
  c: TokenCursor,
  table: NftTable,
  helper: { name: string; words: string[] },
  tokens: readonly { readonly text: string }[],
): boolean {
  const closes = tokens.findIndex((x) => x.text === '}');
  helper.words.push(...tokens.slice(0, closes < 0 ? undefined : closes).map((x) => x.text));
  if (closes < 0) return false;
  table.helpers ??= new Map();
  table.helpers.set(helper.name, helperObject(c, helper.name, helper.words));
  return true;
}

/** A ct helper object from its body's words (`type "ftp" protocol tcp ; l3proto inet`). */
function helperObject(c: TokenCursor, name: string, words: readonly string[]): NftHelper {
  let type: string | null = null;
  let protocol: string | null = null;
  let l3proto: string | undefined;
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w === ';') continue;
    if (w === 'type') {
      type = unquote(words[++i] ?? '');
      if (words[i + 1] === 'protocol') {
        i += 2;
        protocol = words[i] ?? null;
      }
    } else if (w === 'l3proto') l3proto = words[++i];
    else c.fail(`ct helper ${name}: unknown word "${w}"`);
  }
  if (type === null || protocol === null) c.fail(`ct helper ${name}: needs type "NAME" protocol tcp|udp`);
  // The kernel looks the helper up by name and protocol when the object is made.
  if (!hasConntrackHelper(type, protocol))
    c.fail(
      `ct helper ${name}: the kernel has no helper "${type}" for ${protocol} (it refuses the object: No such file or directory)`,
    );
  return { name, type, protocol, ...(l3proto !== undefined ? { l3proto } : {}) };
}

/** Read `nft list ruleset` output into a ruleset. */
export function parseNftList(text: string): NftResult<NftRuleset> {
  const r: NftRuleset = { tables: new Map() };
  let table: NftTable | null = null;
  let chain: NftChain | null = null;
  let set: NftSet | null = null;
  /** A `ct helper NAME {` object being read: its name and the words of its body so far. */
  let helper: { name: string; words: string[] } | null = null;
  for (const { line, text: l } of logicalLines(text)) {
    const t = tokenizeNft(l);
    if (!t.ok) return { ok: false, message: `line ${line} (column ${t.column}): ${t.message}` };
    if (t.comment && chain && lossyComment(t.comment.text))
      return {
        ok: false,
        message: `line ${line} (column ${t.comment.column}): "${t.comment.text.trim()}": ${LOSSY}`,
      };
    if (t.tokens.length === 0) continue;
    const c = new TokenCursor(t.tokens);
    try {
      const w = c.peek()!;
      if (helper) {
        // `type "ftp" protocol tcp;`, `l3proto inet`, one or several a line, up to the `}` that closes it.
        if (readHelperBody(c, table!, helper, t.tokens)) helper = null;
        continue;
      }
      if (w === '}') {
        if (set) set = null;
        else if (chain) chain = null;
        else if (table) table = null;
        else c.fail('unbalanced "}"');
        continue;
      }
      if (!table) {
        c.expect('table');
        // `table nat {`: the family left out is ip.
        const family = (c.peek(1) === '{' ? 'ip' : c.next('a family')) as NftFamily;
        if (!FAMILIES.includes(family)) c.fail(`unknown family "${family}"`);
        const name = c.next('a table name');
        c.expect('{');
        table = { family, name, chains: new Map(), sets: new Map() };
        r.tables.set(tableKey(family, name), table);
        continue;
      }
      if (set) {
        const spec = set as unknown as Parameters<typeof parseSetProperty>[1];
        const elements: NftElement[] = [];
        while (!c.atEnd()) parseSetProperty(c, spec, set.kind, elements);
        set.elements.push(...elements);
        continue;
      }
      if (chain) {
        if (w === 'type' && c.peek(2) === 'hook') parseChainHeader(c, chain);
        else if (w === 'policy' && chain.base) {
          // The header's policy, written as a statement of its own (`type ... priority 0; policy drop;`).
          c.i++;
          const p = c.next('a policy');
          if (p !== 'accept' && p !== 'drop') c.fail(`unknown policy "${p}"`);
          chain.base = { ...chain.base, policy: p as 'accept' | 'drop' };
        } else if (w === 'comment' && t.tokens.length === 2) chain.comment = unquote(t.tokens[1]!.text);
        else chain.rules.push({ text: t.tokens.map((x) => x.text).join(' '), body: parseRuleTokens(t.tokens) });
        continue;
      }
      if (w === 'comment') {
        table.comment = unquote(c.next('comment') && c.next('a comment'));
        continue;
      }
      if (w === 'ct' && c.peek(1) === 'helper') {
        c.i += 2;
        const name = c.next('a helper name');
        c.expect('{');
        helper = { name, words: [] };
        if (readHelperBody(c, table, helper, t.tokens.slice(c.i))) helper = null;
        continue;
      }
      if (w === 'chain' || w === 'set' || w === 'map') {
        c.i++;
        const name = c.next('a name');
        c.expect('{');
        if (w === 'chain') {
          chain = { name, rules: [] };
          table.chains.set(name, chain);
        } else {
          set = { kind: w, name, type: '', flags: [], elements: [] };
          table.sets.set(name, set);
          // `set s { type ipv4_addr; elements = { ... }; }` on one line: its body read here, and closed.
          if (!c.atEnd()) {
            const spec = set as unknown as Parameters<typeof parseSetProperty>[1];
            const elements: NftElement[] = [];
            while (!c.atEnd() && c.peek() !== '}') parseSetProperty(c, spec, set.kind, elements);
            set.elements.push(...elements);
            if (c.peek() === '}') set = null;
          }
        }
        continue;
      }
      c.fail(`unknown word "${w}"`);
    } catch (e) {
      if (e instanceof NftSyntaxError)
        return {
          ok: false,
          message: `line ${line}${e.token ? ` at "${e.token.text}"` : ''}: ${e.message}`,
        };
      throw e;
    }
  }
  if (table) return { ok: false, message: 'unterminated table (missing "}")' };
  // What the kernel would refuse to hold (a dump of a real ruleset never has it; a hand-made one may).
  const problem = rulesetProblem(r);
  if (problem !== null) return { ok: false, message: problem };
  return { ok: true, value: r };
}
