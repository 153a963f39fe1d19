// An nft rule's words into statements. Both the input syntax kube-proxy writes
// (`mark set mark or 0x4000`) and the form `nft list ruleset` prints
// (`meta mark set meta mark | 0x00004000`) parse to the same statements.
// A word this parser does not know is an error naming it, never skipped.
import type { CompareOp, Expr, NatMap, NftElement, NftRuleBody, SetRef, Stmt } from './expression';
import { natSpanOf } from './nat-span';
import { type Token, unquote } from './tokenize';

export class NftSyntaxError extends Error {
  constructor(
    message: string,
    readonly token: Token | null,
  ) {
    super(message);
  }
}

const PAYLOAD_FIELDS: Record<string, readonly string[]> = {
  ip: ['saddr', 'daddr', 'protocol', 'length', 'ttl', 'id', 'version', 'dscp', 'ecn', 'hdrlength'],
  th: ['sport', 'dport'],
  tcp: ['sport', 'dport', 'flags'],
  udp: ['sport', 'dport'],
  sctp: ['sport', 'dport'],
  // Headers knetsim's packets (IPv4 TCP, UDP, SCTP) never carry: a rule testing one does not match them.
  ip6: ['saddr', 'daddr', 'nexthdr', 'hoplimit', 'dscp', 'flowlabel', 'length', 'version'],
  icmp: ['type', 'code', 'id', 'sequence'],
  icmpv6: ['type', 'code', 'id', 'sequence'],
};
const META_KEYS = [
  'l4proto',
  'mark',
  'iifname',
  'oifname',
  'iif',
  'oif',
  'nfproto',
  'protocol',
  'pkttype',
  'nftrace',
  'random',
  'skuid',
  'skgid',
  'length',
];
const COMPARE_OPS: readonly CompareOp[] = ['==', '!=', '<', '>', '<=', '>='];
/** Meta keys nft accepts without the `meta` keyword. */
const BARE_META = ['mark', 'iifname', 'oifname', 'iif', 'oif', 'l4proto', 'skuid', 'skgid', 'pkttype', 'nfproto'];
const SIMPLE_VERDICTS = ['accept', 'drop', 'return', 'continue'] as const;
const NAT_FLAGS = ['fully-random', 'random', 'persistent'];
const LOG_OPTIONS: ReadonlySet<string> = new Set(['prefix', 'level', 'group', 'snaplen', 'queue-threshold', 'flags']);

/** A cursor over one rule's (or one command's) tokens. */
export class TokenCursor {
  i = 0;
  constructor(readonly tokens: readonly Token[]) {}
  peek(offset = 0): string | undefined {
    return this.tokens[this.i + offset]?.text;
  }
  token(): Token | null {
    return this.tokens[this.i] ?? this.tokens[this.tokens.length - 1] ?? null;
  }
  atEnd(): boolean {
    return this.i >= this.tokens.length;
  }
  next(what: string): string {
    const t = this.tokens[this.i];
    if (!t) throw new NftSyntaxError(`expected ${what} at the end of the line`, this.token());
    this.i++;
    return t.text;
  }
  expect(text: string): void {
    const t = this.tokens[this.i];
    if (t?.text !== text)
      throw new NftSyntaxError(`expected "${text}", found "${t?.text ?? 'end of line'}"`, this.token());
    this.i++;
  }
  fail(message: string): never {
    throw new NftSyntaxError(message, this.token());
  }
}

function parsePrimary(c: TokenCursor): Expr | null {
  const w = c.peek();
  if (w === undefined) return null;
  if (Object.hasOwn(PAYLOAD_FIELDS, w)) {
    const field = c.peek(1);
    if (field === undefined || !PAYLOAD_FIELDS[w]!.includes(field)) {
      c.i++;
      return c.fail(`unknown ${w} field "${field ?? ''}"`);
    }
    if (w === 'ip' && field === 'id')
      return c.fail('"ip id": the identification field differs from packet to packet; not modelled');
    c.i += 2;
    return { kind: 'payload', proto: w as 'ip', field };
  }
  if (w === 'meta') {
    const key = c.peek(1);
    if (key === undefined || !META_KEYS.includes(key)) {
      c.i++;
      return c.fail(`unknown meta key "${key ?? ''}"`);
    }
    c.i += 2;
    return { kind: 'meta', key };
  }
  if (BARE_META.includes(w)) {
    c.i++;
    return { kind: 'meta', key: w };
  }
  if (w === 'fib') {
    c.i++;
    const flag = c.next('saddr or daddr');
    if (flag !== 'saddr' && flag !== 'daddr') {
      c.i--;
      c.fail(`unknown fib flag "${flag}"`);
    }
    // `fib saddr . mark . iif oif`: the look-up's extra keys, joined by ".".
    const keys: { mark?: true; iif?: true; oif?: true } = {};
    while (c.peek() === '.') {
      c.i++;
      const key = c.next('mark, iif or oif');
      if (key !== 'mark' && key !== 'iif' && key !== 'oif') {
        c.i--;
        c.fail(`unknown fib key "${key}"`);
      }
      keys[key] = true;
    }
    const result = c.next('type, oif or oifname');
    if (result !== 'type' && result !== 'oif' && result !== 'oifname') {
      c.i--;
      c.fail(`unknown fib result "${result}"`);
    }
    return { kind: 'fib', flag, result, ...keys };
  }
  if (w === 'ct') {
    const key = c.peek(1);
    if (
      key !== 'state' &&
      key !== 'status' &&
      key !== 'mark' &&
      key !== 'direction' &&
      key !== 'zone' &&
      key !== 'helper'
    ) {
      c.i++;
      return c.fail(`unknown ct key "${key ?? ''}"`);
    }
    c.i += 2;
    return { kind: 'ct', key };
  }
  if (w === 'jhash' || w === 'symhash') {
    c.i++;
    let input: Expr | null = null;
    if (w === 'jhash') {
      input = parseExpr(c);
      if (!input) c.fail(`expected the fields jhash hashes, found "${c.peek() ?? 'end of line'}"`);
    }
    c.expect('mod');
    const mod = Number(c.next('a modulus'));
    if (!Number.isInteger(mod) || mod < 1) {
      c.i--;
      c.fail(`${w} mod must be a positive integer`);
    }
    let seed: string | null = null;
    let offset = 0;
    for (let k = c.peek(); k === 'seed' || k === 'offset'; k = c.peek()) {
      c.i++;
      const v = c.next(`a ${k}`);
      if (k === 'seed') seed = v;
      else offset = Number(v);
    }
    return { kind: 'hash', mode: w, input, mod, seed, offset };
  }
  if (w === 'numgen') {
    c.i++;
    const mode = c.next('random or inc');
    if (mode !== 'random' && mode !== 'inc') {
      c.i--;
      c.fail(`unknown numgen mode "${mode}"`);
    }
    c.expect('mod');
    const mod = Number(c.next('a modulus'));
    if (!Number.isInteger(mod) || mod < 1) {
      c.i--;
      c.fail('numgen mod must be a positive integer');
    }
    let offset = 0;
    if (c.peek() === 'offset') {
      c.i++;
      offset = Number(c.next('an offset'));
    }
    return { kind: 'numgen', mode, mod, offset };
  }
  return null;
}

const BITWISE: Record<string, 'and' | 'or' | 'xor'> = {
  and: 'and',
  '&': 'and',
  or: 'or',
  '|': 'or',
  xor: 'xor',
  '^': 'xor',
};

function parseExpr(c: TokenCursor): Expr | null {
  const first = parsePrimary(c);
  if (!first) return null;
  let expr: Expr = first;
  // `mark and 0xfffff0ff xor 0xc00`: bitwise operations left to right.
  for (let op = BITWISE[c.peek() ?? '']; op; op = BITWISE[c.peek() ?? '']) {
    c.i++;
    expr = { kind: 'bitwise', op, left: expr, value: bitwiseConstant(c) };
  }
  if (c.peek() !== '.') return expr;
  const parts: Expr[] = [expr];
  while (c.peek() === '.') {
    c.i++;
    const part = parsePrimary(c);
    if (!part) c.fail(`expected an expression after ".", found "${c.peek() ?? 'end of line'}"`);
    parts.push(part);
  }
  return { kind: 'concat', parts };
}

/** A bitwise operation's constant: a number, or flag names in parentheses, spaced or not ("(fin | syn)"). */
function bitwiseConstant(c: TokenCursor): string {
  let v = c.next('a value');
  if (!v.startsWith('(')) return v;
  while (!v.endsWith(')')) {
    if (c.atEnd()) c.fail('unterminated "("');
    v += c.next('a value');
  }
  return v;
}

/** NAT flags after the address: `random`, `fully-random`, `persistent`, comma-separated. */
function natFlags(c: TokenCursor): string[] {
  const flags: string[] = [];
  while (NAT_FLAGS.includes(c.peek() ?? '')) {
    flags.push(c.next('a flag'));
    if (c.peek() === ',') c.i++;
  }
  return flags;
}

/**
 * `ADDR`, `ADDR-ADDR`, `ADDR/LEN` (the prefix's addresses), each with an optional `:PORT[-PORT]`,
 * or `:PORT[-PORT]` alone; undefined when the text is none of these.
 */
/**
 * The NAT's mapped forms, `to KEY map MAP` and `to ADDR : KEY map MAP` (nft's own words for them kept
 * as `to`), or null when the statement names its address and port itself.
 */
function parseNatMap(c: TokenCursor): { to: string; map: NatMap } | null {
  const start = c.i;
  let address: string | null = null;
  // nft lists the port form with the address glued to the key: `10.1.1.1:tcp dport map {...}`.
  const glued = /^(\d+\.\d+\.\d+\.\d+):([a-z][a-z0-9]*)$/.exec(c.peek() ?? '');
  if (glued) {
    const token = c.tokens[c.i]!;
    const rest = new TokenCursor([{ ...token, text: glued[2]! }, ...c.tokens.slice(c.i + 1)]);
    const key = parseExpr(rest);
    if (key && rest.peek() === 'map') {
      rest.i++;
      const ref = parseSetRef(rest);
      c.i += rest.i;
      return {
        to: c.tokens
          .slice(start, c.i)
          .map((t) => t.text)
          .join(' '),
        map: { key, ref, part: 'port', address: glued[1]! },
      };
    }
  }
  if (c.peek(1) === ':') {
    address = c.next('an address');
    c.i++;
  }
  const key = parseExpr(c);
  if (!key || c.peek() !== 'map') {
    c.i = start;
    return null;
  }
  c.i++;
  const ref = parseSetRef(c);
  if (address !== null && natSpanOf(address)?.minAddress == null) {
    c.i = start;
    c.fail(`"${address}" is not an address`);
  }
  const to = c.tokens
    .slice(start, c.i)
    .map((t) => t.text)
    .join(' ');
  return { to, map: { key, ref, part: address === null ? 'address' : 'port', address } };
}

/**
 * What a listing of iptables-nft's tables cannot say: nft shows an iptables extension it cannot
 * translate without its options (`xt match set`), or as the extension's own words in a comment
 * (`# match-set KUBE-CLUSTER-IP dst,dst counter packets 3 ...`), which cuts off the rest of the rule.
 */
export const LOSSY =
  "nft lists this iptables extension without what it tests, so the rule cannot be traced from this text; give the node's iptables-save with --rules (iptables-nft's tables load from it in full)";

/**
 * iptables extensions a listing may show as `xt match NAME` and that are taken as matching: nfacct
 * only counts; a protocol match iptables-nft left untranslated is nearly always an empty one
 * (kube-proxy's `-p sctp -m sctp -j DNAT`; after `meta l4proto` it tests nothing more), its rare
 * untranslatable options (--chunk-types, --tcp-option) then taken as matching too.
 */
const XT_MATCHES_ALWAYS: ReadonlySet<string> = new Set(['nfacct', 'comment', 'tcp', 'udp', 'sctp']);

/** A value that may be a comma list (`ct state established,related`, `flags dynamic,timeout`). */
export function parseValueList(c: TokenCursor, what: string): string {
  let v = c.next(what);
  while (c.peek() === ',' && c.peek(1) !== undefined && !['}', ';'].includes(c.peek(1)!)) {
    c.i++;
    v += `,${c.next(what)}`;
  }
  return v;
}

function parseMapValue(c: TokenCursor): string {
  const v = c.next('a value');
  if (v === 'goto' || v === 'jump') return `${v} ${c.next('a chain name')}`;
  return v;
}

/** `{ a . b comment "x" : verdict , ... }`; the cursor is on the opening brace. */
/** One part of an element; flags joined by "|" (`{ syn | ack, syn }`) are one value. */
function elementPart(c: TokenCursor, what: string): string {
  let v = c.next(what);
  while (c.peek() === '|') {
    c.i++;
    v += `|${c.next(what)}`;
  }
  return v;
}

export function parseElements(c: TokenCursor): NftElement[] {
  c.expect('{');
  const out: NftElement[] = [];
  while (c.peek() !== '}') {
    if (c.atEnd()) c.fail('unterminated "{"');
    const key = [elementPart(c, 'an element')];
    while (c.peek() === '.') {
      c.i++;
      key.push(elementPart(c, 'an element part'));
    }
    const e: { -readonly [K in keyof NftElement]: NftElement[K] } = { key };
    for (;;) {
      const w = c.peek();
      if (w === 'comment') {
        c.i++;
        e.comment = unquote(c.next('a comment'));
      } else if (w === 'timeout') {
        c.i++;
        e.timeout = c.next('a timeout');
      } else if (w === 'expires') {
        c.i += 2;
      } else break;
    }
    if (c.peek() === ':') {
      c.i++;
      e.value = parseMapValue(c);
    }
    out.push(e);
    if (c.peek() === ',') c.i++;
    else if (c.peek() !== '}') c.fail(`expected "," or "}" in a set, found "${c.peek() ?? 'end of line'}"`);
  }
  c.i++;
  return out;
}

/** Whether an expression starts at the cursor (looked at without moving it). */
function parseExprAhead(c: TokenCursor): boolean {
  const at = c.i;
  try {
    return parseExpr(c) !== null;
  } catch {
    return false;
  } finally {
    c.i = at;
  }
}

function parseSetRef(c: TokenCursor): SetRef {
  const w = c.peek();
  if (w?.startsWith('@')) {
    c.i++;
    return { kind: 'named', name: w.slice(1) };
  }
  if (w === '{') return { kind: 'anonymous', elements: parseElements(c) };
  return c.fail(`expected "@set" or "{", found "${w ?? 'end of line'}"`);
}

function parseStatement(c: TokenCursor, body: { comment?: string }): Stmt | null {
  const w = c.peek()!;
  if ((SIMPLE_VERDICTS as readonly string[]).includes(w)) {
    c.i++;
    return { kind: 'verdict', verdict: w as (typeof SIMPLE_VERDICTS)[number] };
  }
  switch (w) {
    case 'jump':
    case 'goto':
      c.i++;
      return { kind: 'verdict', verdict: w, chain: c.next('a chain name') };
    case 'comment':
      c.i++;
      body.comment = unquote(c.next('a comment'));
      return null;
    case 'counter': {
      c.i++;
      if (c.peek() !== 'packets') return { kind: 'counter' };
      c.i++;
      const packets = Number(c.next('a packet count'));
      c.expect('bytes');
      return { kind: 'counter', packets, bytes: Number(c.next('a byte count')) };
    }
    case 'reject': {
      c.i++;
      if (c.peek() !== 'with') return { kind: 'reject' };
      c.i++;
      const words = [c.next('a reject type')];
      if (words[0] === 'tcp') words.push(c.next('reset'));
      else {
        if (c.peek() === 'type') words.push(c.next('type'));
        words.push(c.next('an ICMP type'));
      }
      return { kind: 'reject', with: words.join(' ') };
    }
    case 'dnat':
    case 'snat': {
      c.i++;
      const family = c.peek() === 'ip' || c.peek() === 'ip6' ? (c.next('a family') as 'ip' | 'ip6') : undefined;
      c.expect('to');
      const mapped = parseNatMap(c);
      if (mapped)
        return {
          kind: w,
          to: mapped.to,
          ...(family ? { family } : {}),
          range: null,
          flags: natFlags(c),
          map: mapped.map,
        };
      const to = c.next('an address');
      // An IPv6 address ("[fd00::2]:80", "fd00::1"): the statement acts on IPv6 packets, as `dnat ip6 to`.
      const ipv6 = family === 'ip6' || to.startsWith('[') || to.indexOf(':') !== to.lastIndexOf(':');
      const range = ipv6 ? null : natSpanOf(to);
      if (range === undefined) {
        c.i--;
        c.fail(`"${to}" is not an address, range or prefix with an optional port or port range`);
      }
      return { kind: w, to, ...(family ? { family } : {}), range, flags: natFlags(c) };
    }
    case 'masquerade':
    case 'redirect': {
      c.i++;
      let ports: { min: number; max: number } | null = null;
      if (c.peek() === 'to') {
        c.i++;
        const text = c.next('a port');
        const span = text.startsWith(':') ? natSpanOf(text) : undefined;
        if (!span || span.minPort === null) {
          c.i--;
          c.fail(`"${text}" is not a port or port range (":PORT[-PORT]")`);
        }
        ports = { min: span.minPort, max: span.maxPort! };
      }
      return { kind: w, flags: natFlags(c), ports };
    }
    case 'update':
    case 'add': {
      c.i++;
      const set = c.next('@set');
      if (!set.startsWith('@')) {
        c.i--;
        c.fail(`expected "@set", found "${set}"`);
      }
      c.expect('{');
      const key = parseExpr(c);
      if (!key) c.fail(`expected an expression, found "${c.peek() ?? 'end of line'}"`);
      c.expect('}');
      return { kind: 'set-update', op: w, set: set.slice(1), key };
    }
    case 'notrack':
      c.i++;
      return { kind: 'notrack' };
    case 'queue': {
      c.i++;
      const flags: string[] = [];
      let first = 0;
      let last = 0;
      // nft 1.0.6 takes flags after the number only in the older `num` spelling.
      let style: 'to' | 'num' | null = null;
      for (let w2 = c.peek(); w2 !== undefined; w2 = c.peek()) {
        if (w2 === 'flags') {
          c.i++;
          flags.push(...parseValueList(c, 'queue flags').split(','));
        } else if ((w2 === 'bypass' || w2 === 'fanout') && style !== 'to') {
          // The older spelling's flags, after the number: `bypass`, `bypass,fanout`.
          flags.push(...parseValueList(c, 'queue flags').split(','));
        } else if (w2 === 'to' || w2 === 'num') {
          c.i++;
          const text = c.next('a queue number');
          const m = /^(\d+)(?:-(\d+))?$/.exec(text);
          if (!m) {
            c.i--;
            c.fail(`queue ${w2} "${text}": a number or a range (a queue chosen by an expression is not modelled)`);
          }
          style = w2;
          first = Number(m[1]);
          last = Number(m[2] ?? m[1]);
          if (last > 65535 || first > last) {
            c.i--;
            c.fail(`queue ${w2} "${text}": not a queue number or range (0-65535)`);
          }
        } else break;
      }
      const bad = flags.find((f) => f !== 'bypass' && f !== 'fanout');
      if (bad !== undefined) c.fail(`"${bad}" is not a queue flag (bypass, fanout)`);
      if (flags.includes('fanout') && first === last) c.fail('fanout requires a range to be specified');
      return { kind: 'queue', first, last, flags: [...new Set(flags)] };
    }
    case 'xt': {
      const at = c.i++;
      const what = c.next('match or target');
      if (what !== 'match' && what !== 'target') {
        c.i--;
        c.fail(`expected "match" or "target" after "xt", found "${what}"`);
      }
      const name = unquote(c.next('a name'));
      // Any other extension's test or action is not in the text.
      if (!(what === 'match' && XT_MATCHES_ALWAYS.has(name))) {
        c.i = at;
        c.fail(`"xt ${what} ${name}": ${LOSSY}`);
      }
      return { kind: 'xt', what, name };
    }
    case 'log': {
      c.i++;
      // `log [prefix "x"] [level L] [group N] [snaplen N] [queue-threshold N] [flags F[,F]]`.
      let prefix: string | undefined;
      const options: string[] = [];
      for (let key = c.peek(); key !== undefined && LOG_OPTIONS.has(key); key = c.peek()) {
        c.i++;
        // `flags all`, `flags tcp sequence,options`, `flags ip options`, `flags skuid`, `flags ether`.
        let value = key === 'flags' ? parseValueList(c, 'log flags') : c.next(`a ${key}`);
        if (key === 'flags' && (value === 'tcp' || value === 'ip')) value += ` ${parseValueList(c, 'log flags')}`;
        if (key === 'prefix') prefix = unquote(value);
        else options.push(`${key} ${value}`);
      }
      return { kind: 'log', ...(prefix !== undefined ? { prefix } : {}), ...(options.length ? { options } : {}) };
    }
    case 'limit': {
      // `limit rate [over] N/unit [burst N packets|bytes]`, or `N bytes/unit`.
      c.i++;
      c.expect('rate');
      const over = c.peek() === 'over';
      if (over) c.i++;
      const words = [c.next('a rate')];
      if (c.peek() === 'bytes' || c.peek()?.startsWith('bytes/') || /^[kmg]?bytes\//.test(c.peek() ?? ''))
        words.push(c.next('a unit'));
      if (c.peek() === 'burst') {
        c.i++;
        words.push('burst', c.next('a burst'));
        if (c.peek() === 'packets' || c.peek() === 'bytes' || /^[kmg]bytes$/.test(c.peek() ?? ''))
          words.push(c.next('a unit'));
      }
      if (!/^\d+\/(second|minute|hour|day|week)$|^\d+$/.test(words[0]!)) {
        c.i -= words.length;
        c.fail(`"${words[0]}" is not a rate (N/second, minute, hour, day or week)`);
      }
      return { kind: 'limit', over, rate: words.join(' ') };
    }
  }
  if (w === 'ct' && (c.peek(1) === 'original' || c.peek(1) === 'reply') && c.peek(2) === 'zone')
    return c.fail(`"ct ${c.peek(1)} zone": direction zones are not modelled`);
  // `meta nftrace set 1`, `[meta|ct] mark set ...`
  const setAt = w === 'meta' || w === 'ct' ? 2 : 1;
  if (c.peek(setAt) === 'set') {
    const target = w === 'ct' ? 'ct' : 'meta';
    const key = w === 'meta' || w === 'ct' ? c.peek(1) : w;
    if (key === 'nftrace') {
      c.i += setAt + 1;
      c.expect('1');
      return { kind: 'nftrace' };
    }
    if (w === 'ct' && key === 'helper') {
      c.i += setAt + 1;
      const first = c.peek();
      if (
        first !== undefined &&
        (first.startsWith('"') || /^[\w.-]+$/.test(first)) &&
        c.peek(1) !== 'map' &&
        !parseExprAhead(c)
      )
        return { kind: 'helper-set', name: unquote(c.next('a helper name')), map: null };
      const mapKey = parseExpr(c);
      if (!mapKey || c.peek() !== 'map') return c.fail('expected a ct helper name, or KEY map { ... }');
      c.i++;
      return { kind: 'helper-set', name: null, map: { key: mapKey, ref: parseSetRef(c) } };
    }
    if (w === 'ct' && key === 'zone') {
      c.i += setAt + 1;
      const text = c.next('a zone');
      const zone = /^\d+$/.test(text) ? Number(text) : Number.NaN;
      if (!(zone <= 65535)) {
        c.i--;
        c.fail(`ct zone set ${text}: a zone number (0-65535); a zone from an expression is not modelled`);
      }
      return { kind: 'zone-set', zone };
    }
    if (key !== 'mark') return c.fail(`unknown statement "${w}"`);
    c.i += setAt + 1;
    const value = parseExpr(c) ?? c.next('a mark');
    return { kind: 'mark-set', target, value };
  }
  const exprAt = c.i;
  const left = parseExpr(c);
  if (!left) return c.fail(`unknown word "${w}"`);
  // `ip daddr set ...`, `ether saddr set ...`: a header field rewritten in place (stateless NAT).
  if (c.peek() === 'set') {
    const words = c.tokens
      .slice(exprAt, c.i)
      .map((t) => t.text)
      .join(' ');
    c.i = exprAt;
    return c.fail(`"${words} set ...": rewriting a header field is not modelled`);
  }
  if (c.peek() === 'vmap') {
    c.i++;
    return { kind: 'vmap', key: left, map: parseSetRef(c) };
  }
  let op: CompareOp = '==';
  const written = COMPARE_OPS.includes(c.peek() as CompareOp);
  if (written) op = c.next('an operator') as CompareOp;
  const r = c.peek();
  if (r === undefined) return c.fail('expected a value at the end of the line');
  if (r.startsWith('@') || r === '{') {
    if (op !== '==' && op !== '!=') return c.fail(`"${op}" cannot compare with a set`);
    return { kind: 'lookup', left, op, set: parseSetRef(c) };
  }
  const right = parseValueList(c, 'a value');
  // `tcp flags [!=] syn / fin,syn,rst,ack`: the flags under the mask (do not) equal the value.
  if (c.peek() === '/') {
    c.i++;
    const mask = parseValueList(c, 'a mask');
    return { kind: 'match', left: { kind: 'bitwise', op: 'and', left, value: mask }, op, right };
  }
  const flags = !written && left.kind === 'payload' && left.field === 'flags';
  return { kind: 'match', left, op, right, ...(flags ? { implicit: true as const } : {}) };
}

/** Statements of one rule, from its words (after `add rule FAMILY TABLE CHAIN`, or a listed rule line). */
export function parseRuleTokens(tokens: readonly Token[]): NftRuleBody {
  const c = new TokenCursor(tokens);
  const stmts: Stmt[] = [];
  const body: { comment?: string } = {};
  while (!c.atEnd()) {
    const s = parseStatement(c, body);
    if (s) stmts.push(s);
  }
  if (stmts.length === 0 && body.comment === undefined) c.fail('empty rule');
  return body.comment === undefined ? { stmts } : { stmts, comment: body.comment };
}
