// `nft -f` transaction text (what kube-proxy writes): one command a line, parsed
// into commands, then applied to a ruleset as the kernel commits a batch, all or
// nothing. Errors name the line and the token.
import { type CheckScope, rulesetProblem } from './check-ruleset';
import type { NftElement, NftRuleBody } from './expression';
import { NftSyntaxError, parseElements, parseRuleTokens, parseValueList, TokenCursor } from './parse-rule';
import {
  CHAIN_TYPES,
  elementKey,
  FAMILIES,
  HOOKS,
  type NftBaseChain,
  type NftChain,
  type NftChainType,
  type NftFamily,
  type NftHook,
  type NftRuleset,
  type NftSet,
  type NftTable,
  parseDuration,
  parsePriority,
  tableKey,
} from './ruleset';
import { tokenizeNft, unquote } from './tokenize';

export type NftVerb = 'add' | 'create' | 'insert' | 'flush' | 'delete' | 'destroy';
export type NftObject = 'table' | 'chain' | 'set' | 'map' | 'rule' | 'element' | 'ruleset';

export interface NftCommand {
  readonly verb: NftVerb;
  readonly object: NftObject;
  readonly family: NftFamily;
  readonly table: string;
  /** Chain, set or map name (for rules: the chain; for elements: the set). */
  readonly name?: string;
  readonly line: number;
  /** The line as written (trimmed): printing a transaction gives back its text. */
  readonly text: string;
  readonly comment?: string;
  readonly base?: NftBaseChain;
  readonly set?: Omit<NftSet, 'elements' | 'name' | 'kind'>;
  readonly elements?: readonly NftElement[];
  readonly ruleText?: string;
  /** The rule's statements, parsed once. */
  readonly ruleBody?: NftRuleBody;
}

export interface NftTransaction {
  readonly commands: readonly NftCommand[];
}

export type NftResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly message: string };

const VERBS: readonly NftVerb[] = ['add', 'create', 'insert', 'flush', 'delete', 'destroy'];
const OBJECTS: readonly NftObject[] = ['table', 'chain', 'set', 'map', 'rule', 'element', 'ruleset'];

function fail(line: number, err: NftSyntaxError): { ok: false; message: string } {
  const at = err.token ? ` at "${err.token.text}" (column ${err.token.column})` : '';
  return { ok: false, message: `line ${line}${at}: ${err.message}` };
}

/**
 * An ingress (netdev) chain's `device NAME` or `devices = { A, B }` after its hook: read past (those
 * chains see frames entering a device; a routed IPv4 packet's way does not run them).
 */
export function skipDevice(c: TokenCursor): void {
  if (c.peek() === 'device') {
    c.i += 2;
    return;
  }
  if (c.peek() !== 'devices') return;
  c.i++;
  if (c.peek() === '=') c.i++;
  if (c.peek() !== '{') {
    c.i++;
    return;
  }
  while (!c.atEnd() && c.peek() !== '}') c.i++;
  c.expect('}');
}

/** `{ type filter hook input priority 0 ; policy accept ; comment "x" ; }` of a chain. */
function parseChainSpec(c: TokenCursor): { base?: NftBaseChain; comment?: string } {
  c.expect('{');
  const out: { base?: NftBaseChain; comment?: string } = {};
  let type: NftChainType | undefined;
  let hook: NftHook | undefined;
  let priority: number | undefined;
  let policy: 'accept' | 'drop' | undefined;
  while (c.peek() !== '}') {
    const w = c.next('a chain property');
    if (w === ';') continue;
    if (w === 'type') {
      const t = c.next('a chain type');
      if (!(CHAIN_TYPES as readonly string[]).includes(t)) {
        c.i--;
        c.fail(`unknown chain type "${t}"`);
      }
      type = t as NftChainType;
      c.expect('hook');
      const h = c.next('a hook');
      if (!(HOOKS as readonly string[]).includes(h)) {
        c.i--;
        c.fail(`unknown hook "${h}"`);
      }
      hook = h as NftHook;
      skipDevice(c);
      c.expect('priority');
      const words: string[] = [];
      while (c.peek() !== undefined && c.peek() !== ';' && c.peek() !== '}') words.push(c.next('a priority'));
      const p = parsePriority(words.join(' '), hook);
      if (p === null) {
        c.i--;
        c.fail(`bad priority "${words.join(' ')}"`);
      }
      priority = p;
    } else if (w === 'policy') {
      const p = c.next('a policy');
      if (p !== 'accept' && p !== 'drop') {
        c.i--;
        c.fail(`unknown policy "${p}"`);
      }
      policy = p;
    } else if (w === 'comment') out.comment = unquote(c.next('a comment'));
    else {
      c.i--;
      c.fail(`unknown chain property "${w}"`);
    }
  }
  c.i++;
  if (type !== undefined && hook !== undefined && priority !== undefined)
    out.base = { type, hook, priority, ...(policy ? { policy } : {}) };
  return out;
}

type SetSpec = { -readonly [K in keyof NonNullable<NftCommand['set']>]: NonNullable<NftCommand['set']>[K] };

/** The body of a set or map declaration; `elements = { ... }` is returned apart. */
export function parseSetProperty(c: TokenCursor, spec: SetSpec, kind: 'set' | 'map', elements: NftElement[]): void {
  const w = c.next('a set property');
  switch (w) {
    case ';':
      return;
    case 'type':
    case 'typeof': {
      const words: string[] = [];
      while (c.peek() !== undefined && c.peek() !== ';' && c.peek() !== '}' && c.peek() !== ':')
        words.push(c.next('a type'));
      spec.type = words.join(' ');
      if (c.peek() === ':') {
        c.i++;
        const data: string[] = [];
        while (c.peek() !== undefined && c.peek() !== ';' && c.peek() !== '}') data.push(c.next('a data type'));
        spec.dataType = data.join(' ');
      } else if (kind === 'map') c.fail('a map needs "type KEY : DATA"');
      return;
    }
    case 'flags':
      spec.flags = parseValueList(c, 'flags').split(',');
      return;
    case 'timeout': {
      const t = c.next('a timeout');
      const s = parseDuration(t);
      if (s === null) {
        c.i--;
        c.fail(`bad timeout "${t}"`);
      }
      spec.timeout = s;
      return;
    }
    case 'size':
      spec.size = Number(c.next('a size'));
      return;
    case 'comment':
      spec.comment = unquote(c.next('a comment'));
      return;
    case 'policy':
    case 'gc-interval':
      c.next('a value');
      return;
    case 'auto-merge':
      return;
    case 'elements':
      c.expect('=');
      elements.push(...parseElements(c));
      return;
    default:
      c.i--;
      c.fail(`unknown set property "${w}"`);
  }
}

function parseSetSpec(c: TokenCursor, kind: 'set' | 'map'): { spec: SetSpec; elements: NftElement[] } {
  c.expect('{');
  const spec: SetSpec = { type: '', flags: [] };
  const elements: NftElement[] = [];
  while (c.peek() !== '}') {
    if (c.atEnd()) c.fail('unterminated "{"');
    parseSetProperty(c, spec, kind, elements);
  }
  c.i++;
  if (spec.type === '') c.fail(`${kind} without a type`);
  return { spec, elements };
}

function parseCommand(c: TokenCursor, line: number, raw: string): NftCommand {
  const text = raw.trim();
  const verb = c.next('a command') as NftVerb;
  if (!VERBS.includes(verb)) {
    c.i--;
    c.fail(`unknown command "${verb}"`);
  }
  const object = c.next('an object') as NftObject;
  if (!OBJECTS.includes(object)) {
    c.i--;
    c.fail(`unknown object "${object}"`);
  }
  if (object === 'ruleset') {
    if (verb !== 'flush') c.fail(`"${verb} ruleset" is not supported`);
    return { verb, object, family: 'ip', table: '', line, text };
  }
  let family: NftFamily = 'ip';
  if ((FAMILIES as readonly string[]).includes(c.peek() ?? '') && c.peek(1) !== undefined && c.peek(1) !== '{')
    family = c.next('a family') as NftFamily;
  const table = c.next('a table name');
  const base = { verb, object, family, table, line, text };
  if (object === 'table') {
    let comment: string | undefined;
    if (c.peek() === '{') {
      c.i++;
      while (c.peek() !== '}') {
        const w = c.next('a table property');
        if (w === ';') continue;
        if (w === 'comment') comment = unquote(c.next('a comment'));
        else if (w === 'flags') c.next('flags');
        else {
          c.i--;
          c.fail(`unknown table property "${w}"`);
        }
      }
      c.i++;
    }
    if (!c.atEnd()) c.fail(`unexpected "${c.peek()}"`);
    return { ...base, ...(comment === undefined ? {} : { comment }) };
  }
  const name = c.next(`a ${object === 'element' ? 'set' : object === 'rule' ? 'chain' : object} name`);
  switch (object) {
    case 'chain': {
      const spec = c.peek() === '{' ? parseChainSpec(c) : {};
      if (!c.atEnd()) c.fail(`unexpected "${c.peek()}"`);
      return { ...base, name, ...spec };
    }
    case 'set':
    case 'map': {
      if (c.atEnd()) return { ...base, name };
      const { spec, elements } = parseSetSpec(c, object);
      if (!c.atEnd()) c.fail(`unexpected "${c.peek()}"`);
      return { ...base, name, set: spec, elements };
    }
    case 'element': {
      const elements = parseElements(c);
      if (!c.atEnd()) c.fail(`unexpected "${c.peek()}"`);
      return { ...base, name, elements };
    }
    default: {
      // rule: the rest of the line is the rule (a `delete rule` names a handle).
      const rest = c.tokens.slice(c.i);
      const from = rest[0]?.column;
      const ruleText = from === undefined ? '' : raw.slice(from - 1).trim();
      if (verb === 'add' || verb === 'insert') return { ...base, name, ruleText, ruleBody: parseRuleTokens(rest) };
      return { ...base, name, ruleText };
    }
  }
}

/** Parse `nft -f` text; comments and blank lines are skipped. */
export function parseNftTransaction(text: string): NftResult<NftTransaction> {
  const commands: NftCommand[] = [];
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const t = tokenizeNft(lines[n]!);
    if (!t.ok) return { ok: false, message: `line ${n + 1} (column ${t.column}): ${t.message}` };
    if (t.tokens.length === 0) continue;
    try {
      commands.push(parseCommand(new TokenCursor(t.tokens), n + 1, lines[n]!));
    } catch (e) {
      if (e instanceof NftSyntaxError) return fail(n + 1, e);
      throw e;
    }
  }
  return { ok: true, value: { commands } };
}

/** The transaction as text again, one command a line. */
export function formatNftTransaction(tx: NftTransaction): string {
  return tx.commands.map((c) => `${c.text}\n`).join('');
}

function cloneRuleset(r: NftRuleset): NftRuleset {
  const tables = new Map<string, NftTable>();
  for (const [k, t] of r.tables)
    tables.set(k, {
      ...t,
      chains: new Map([...t.chains].map(([n, ch]) => [n, { ...ch, rules: [...ch.rules] }])),
      sets: new Map([...t.sets].map(([n, s]) => [n, { ...s, flags: [...s.flags], elements: [...s.elements] }])),
    });
  return { tables };
}

/** Where each key sits in a set's element list, so a 30,000-element map loads in linear time. */
const POSITIONS = new WeakMap<NftElement[], Map<string, number>>();

function positionsOf(set: NftSet): Map<string, number> {
  let p = POSITIONS.get(set.elements);
  if (!p) {
    p = new Map(set.elements.map((e, i) => [elementKey(e), i]));
    POSITIONS.set(set.elements, p);
  }
  return p;
}

/** What still points at a chain: a rule's jump or goto (in another chain), or a map element. */
function referrerOf(table: NftTable, chainName: string): string | null {
  for (const ch of table.chains.values()) {
    if (ch.name === chainName) continue;
    for (const r of ch.rules)
      for (const s of r.body.stmts) {
        if (s.kind === 'verdict' && s.chain === chainName) return `a rule in chain ${ch.name}`;
        if (
          s.kind === 'vmap' &&
          s.map.kind === 'anonymous' &&
          s.map.elements.some((e) => e.value?.endsWith(` ${chainName}`))
        )
          return `a rule in chain ${ch.name}`;
      }
  }
  for (const set of table.sets.values())
    if (set.elements.some((e) => e.value === `goto ${chainName}` || e.value === `jump ${chainName}`))
      return `an element of ${set.kind} ${set.name}`;
  return null;
}

/** Adds elements; an existing key is an error with other data (or with `create`), as in the kernel. */
function putElements(set: NftSet, elements: readonly NftElement[], create = false): string | null {
  const positions = positionsOf(set);
  for (const e of elements) {
    const key = elementKey(e);
    const i = positions.get(key);
    if (i === undefined) positions.set(key, set.elements.push(e) - 1);
    else if (create || set.elements[i]!.value !== e.value)
      return `File exists: element ${key} in ${set.kind} ${set.name}`;
  }
  return null;
}

function removeElement(set: NftSet, e: NftElement): boolean {
  const i = positionsOf(set).get(elementKey(e));
  if (i === undefined) return false;
  set.elements.splice(i, 1);
  POSITIONS.delete(set.elements);
  return true;
}

function applyCommand(r: NftRuleset, c: NftCommand): string | null {
  if (c.object === 'ruleset') {
    r.tables.clear();
    return null;
  }
  const key = tableKey(c.family, c.table);
  let table = r.tables.get(key);
  const missing = (what: string) => (c.verb === 'destroy' ? null : `No such file or directory: ${what}`);
  if (c.object === 'table') {
    if (c.verb === 'add' || c.verb === 'create') {
      if (table && c.verb === 'create') return `File exists: table ${key}`;
      if (!table) {
        table = { family: c.family, name: c.table, chains: new Map(), sets: new Map() };
        r.tables.set(key, table);
      }
      if (c.comment !== undefined) table.comment = c.comment;
      return null;
    }
    if (!table) return missing(`table ${key}`);
    if (c.verb === 'flush') {
      for (const ch of table.chains.values()) ch.rules = [];
      for (const s of table.sets.values()) s.elements = [];
    } else r.tables.delete(key);
    return null;
  }
  if (!table) return missing(`table ${key}`);
  const name = c.name!;
  switch (c.object) {
    case 'chain': {
      const chain = table.chains.get(name);
      if (c.verb === 'add' || c.verb === 'create') {
        if (chain && c.verb === 'create') return `File exists: chain ${name}`;
        if (chain) {
          if (c.base && chain.base && JSON.stringify(c.base) !== JSON.stringify(chain.base))
            return `Device or resource busy: chain ${name} cannot change its hook or priority`;
          if (c.comment !== undefined) chain.comment = c.comment;
          return null;
        }
        const created: NftChain = { name, rules: [] };
        if (c.base) created.base = c.base;
        if (c.comment !== undefined) created.comment = c.comment;
        table.chains.set(name, created);
        return null;
      }
      if (!chain) return missing(`chain ${name}`);
      if (c.verb === 'flush') chain.rules = [];
      else {
        // Its own rules go with it, but a jump, goto or map element pointing at it keeps it.
        const user = referrerOf(table, name);
        if (user) return `Device or resource busy: chain ${name} is still used by ${user}`;
        table.chains.delete(name);
      }
      return null;
    }
    case 'set':
    case 'map': {
      const set = table.sets.get(name);
      if (c.verb === 'add' || c.verb === 'create') {
        if (set && set.kind !== c.object) return `File exists: ${set.kind} ${name}`;
        if (set && c.verb === 'create') return `File exists: ${c.object} ${name}`;
        if (!c.set) return set ? null : `${c.object} ${name} needs a type`;
        if (set) {
          if (set.type !== c.set.type) return `File exists: ${c.object} ${name} has type ${set.type}`;
          return putElements(set, c.elements ?? []);
        }
        const created: NftSet = { kind: c.object, name, ...c.set, flags: [...c.set.flags], elements: [] };
        table.sets.set(name, created);
        return putElements(created, c.elements ?? []);
      }
      if (!set || set.kind !== c.object) return missing(`${c.object} ${name}`);
      if (c.verb === 'flush') set.elements = [];
      else table.sets.delete(name);
      return null;
    }
    case 'element': {
      const set = table.sets.get(name);
      if (!set) return missing(`set ${name}`);
      if (c.verb === 'add' || c.verb === 'create') return putElements(set, c.elements ?? [], c.verb === 'create');
      for (const e of c.elements ?? [])
        if (!removeElement(set, e) && c.verb === 'delete')
          return `No such file or directory: element ${elementKey(e)} in ${name}`;
      return null;
    }
    default: {
      const chain = table.chains.get(name);
      if (!chain) return missing(`chain ${name}`);
      const text = c.ruleText ?? '';
      if (c.verb === 'add' || c.verb === 'insert') {
        let body = c.ruleBody;
        if (!body) {
          const toks = tokenizeNft(text);
          if (!toks.ok) return toks.message;
          body = parseRuleTokens(toks.tokens);
        }
        const rule = { text, body };
        if (c.verb === 'add') chain.rules.push(rule);
        else chain.rules.unshift(rule);
        return null;
      }
      return `"${c.verb} rule" is not supported (rules have no handles here)`;
    }
  }
}

/**
 * What a transaction may have broken: the tables it names, and in them the chains and sets it wrote
 * (a chain's base type counts, so a chain it declares is checked too). A command on the whole
 * ruleset (flush ruleset) leaves the scope open: everything is checked.
 */
function scopeOf(tx: NftTransaction): CheckScope | undefined {
  const scope = new Map<string, { chains: Set<string>; sets: Set<string> }>();
  for (const c of tx.commands) {
    if (c.table === '') return undefined;
    const key = tableKey(c.family, c.table);
    let entry = scope.get(key);
    if (!entry) {
      entry = { chains: new Set(), sets: new Set() };
      scope.set(key, entry);
    }
    if (c.name === undefined) continue;
    if (c.object === 'set' || c.object === 'map' || c.object === 'element') entry.sets.add(c.name);
    else entry.chains.add(c.name);
  }
  return scope;
}

/** Apply a transaction: the new ruleset, or the first error (the old ruleset is untouched, as a failed batch). */
export function applyNftTransaction(base: NftRuleset, tx: NftTransaction): NftResult<NftRuleset> {
  const r = cloneRuleset(base);
  for (const c of tx.commands) {
    let err: string | null;
    try {
      err = applyCommand(r, c);
    } catch (e) {
      if (e instanceof NftSyntaxError) return { ok: false, message: `line ${c.line}: ${e.message}` };
      throw e;
    }
    if (err) return { ok: false, message: `line ${c.line}: ${err}` };
  }
  const problem = rulesetProblem(r, scopeOf(tx));
  if (problem) return { ok: false, message: problem };
  return { ok: true, value: r };
}
