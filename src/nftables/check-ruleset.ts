// What the kernel refuses when an nftables ruleset is committed, whichever way it
// came (an `nft -f` transaction or an `nft list ruleset` dump): a jump, goto or
// @set naming nothing; a base chain reaching a loop of jumps (nf_tables: "Too many
// links"; a loop no base chain reaches loads, as with iptables); values a field
// cannot hold; NAT statements in a base chain not of type nat; a statement after a verdict.
import { ipProtocolNumber, parseIPv4, parseIPv4Prefix, SERVICE_PORTS } from '../net';
import { kindOf } from './evaluate';
import type { Expr, NftElement, Stmt } from './expression';
import { constantValue, DSCP_NAMES, ECN_NAMES, ICMP_CODE_NAMES, ICMP_TYPE_NAMES, type ValueKind } from './match-value';
import { elementKey, type NftChain, type NftRuleset, type NftTable } from './ruleset';

/**
 * What a transaction touched, by table key: the chains and sets whose rules and elements it wrote
 * (their values are checked; a table's references and loops are checked whole). Absent: everything.
 */
export type CheckScope = ReadonlyMap<string, Touched>;

/** The chains and sets of one table a transaction wrote. */
export interface Touched {
  readonly chains: ReadonlySet<string>;
  readonly sets: ReadonlySet<string>;
}

/** The first fault of a ruleset, worded with its table and chain; null when it would commit. */
export function rulesetProblem(r: NftRuleset, scope?: CheckScope): string | null {
  for (const [key, table] of r.tables) {
    const touched = scope?.get(key);
    if (scope && !touched) continue;
    const jumps = jumpGraph(table);
    const problem =
      typeof jumps === 'string'
        ? jumps
        : (loopProblem(table, jumps) ?? valueProblemIn(table, touched) ?? statementProblem(table, touched));
    if (problem !== null) return `table ${table.family} ${table.name}: ${problem}`;
  }
  return null;
}

/** The chains a verdict names: "jump X" / "goto X" as a map element's value. */
function chainOfVerdict(value: string | undefined): string | null {
  if (value === undefined) return null;
  const space = value.indexOf(' ');
  if (space < 0) return null;
  const verb = value.slice(0, space);
  return verb === 'jump' || verb === 'goto' ? value.slice(space + 1) : null;
}

/** The chains a rule's statements may go to, and the named sets they use. */
function referencesOf(table: NftTable, stmts: readonly Stmt[]): { chains: string[]; sets: string[] } {
  const chains: string[] = [];
  const sets: string[] = [];
  for (const s of stmts) {
    if (s.kind === 'verdict' && s.chain) chains.push(s.chain);
    if (s.kind === 'lookup' && s.set.kind === 'named') sets.push(s.set.name);
    if (s.kind === 'set-update') sets.push(s.set);
    if (s.kind === 'vmap') {
      const elements =
        s.map.kind === 'named' ? (table.sets.get(s.map.name)?.elements ?? []) : (s.map.elements as NftElement[]);
      if (s.map.kind === 'named') sets.push(s.map.name);
      for (const e of elements) {
        const chain = chainOfVerdict(e.value);
        if (chain !== null) chains.push(chain);
      }
    }
  }
  return { chains, sets };
}

/**
 * Each chain's jumps and gotos (verdicts and verdict-map elements) as chain objects, made in the pass
 * that checks every jump, goto and @set names something; the first that does not, worded.
 */
function jumpGraph(table: NftTable): Map<NftChain, NftChain[]> | string {
  const edges = new Map<NftChain, NftChain[]>();
  for (const chain of table.chains.values()) {
    const out: NftChain[] = [];
    for (const rule of chain.rules) {
      const { chains, sets } = referencesOf(table, rule.body.stmts);
      for (const to of chains) {
        const target = table.chains.get(to);
        if (!target) return `chain ${chain.name}: jump to a chain that does not exist: ${to}`;
        out.push(target);
      }
      for (const set of sets)
        if (!table.sets.has(set)) return `chain ${chain.name}: set or map that does not exist: @${set}`;
    }
    edges.set(chain, out);
  }
  for (const set of table.sets.values())
    for (const e of set.elements) {
      const to = chainOfVerdict(e.value);
      if (to !== null && !table.chains.has(to))
        return `${set.kind} ${set.name}: element ${elementKey(e)} points to a chain that does not exist: ${e.value}`;
    }
  return edges;
}

/** A loop of jumps and gotos a base chain reaches, worded "chains a -> b -> a form a loop" (depth first from each base chain). */
function loopProblem(table: NftTable, edges: ReadonlyMap<NftChain, readonly NftChain[]>): string | null {
  // 1 while on the path, 2 when every chain it reaches is known to be free of loops. Iterative: a
  // chain of jumps may be tens of thousands deep.
  const state = new Map<NftChain, 1 | 2>();
  for (const root of table.chains.values()) {
    if (state.has(root) || !root.base) continue;
    const path: NftChain[] = [root];
    const next: number[] = [0];
    state.set(root, 1);
    while (path.length > 0) {
      const top = path.length - 1;
      const out = edges.get(path[top]!)!;
      if (next[top]! >= out.length) {
        state.set(path[top]!, 2);
        path.pop();
        next.pop();
        continue;
      }
      const to = out[next[top]!++]!;
      const seen = state.get(to);
      if (seen === 1) {
        const loop = [...path.slice(path.indexOf(to)), to];
        return `chains ${loop.map((c) => c.name).join(' -> ')} form a loop`;
      }
      if (seen === undefined) {
        state.set(to, 1);
        path.push(to);
        next.push(0);
      }
    }
  }
  return null;
}

const CT_STATES = new Set(['new', 'established', 'related', 'invalid', 'untracked']);
const CT_STATUSES = new Set(['expected', 'seen-reply', 'assured', 'confirmed', 'snat', 'dnat', 'dying']);

/** A number as nft reads one (decimal or 0x hex) of at most `max`, or null. */
function numberUpTo(text: string, max: number): number | null {
  if (!/^(0x[0-9a-f]+|\d+)$/i.test(text)) return null;
  const n = Number(text);
  return n <= max ? n : null;
}

/** Why a value as written cannot be compared with a field of this kind, or null. */
function valueProblem(kind: ValueKind, expr: Expr, text: string): string | null {
  const range = (read: (t: string) => number | null): boolean => {
    const dash = text.indexOf('-', 1);
    if (dash < 0) return read(text) !== null;
    const lo = read(text.slice(0, dash));
    const hi = read(text.slice(dash + 1));
    return lo !== null && hi !== null && lo <= hi;
  };
  switch (kind) {
    case 'addr':
      return (text.includes('/') ? parseIPv4Prefix(text) !== null : range(parseIPv4))
        ? null
        : `"${text}" is not an IPv4 address, prefix or range`;
    case 'port': {
      // A service's name (nft resolves ssh to 22, "Could not resolve service" otherwise), or numbers.
      return SERVICE_PORTS.has(text) || range((t) => numberUpTo(t, 65535))
        ? null
        : `"${text}" is not a port, port range (0-65535) or service name`;
    }
    case 'number':
      if (expr.kind === 'ct' || expr.kind === 'meta' || expr.kind === 'bitwise')
        return range((t) => numberUpTo(t, 0xffffffff)) ? null : `"${text}" is not a 32-bit value`;
      return null;
    case 'proto':
      return ipProtocolNumber(text) !== null || numberUpTo(text, 255) !== null ? null : `"${text}" is not a protocol`;
    case 'tcpflags':
      return constantValue(text) !== null ? null : `"${text}" is not a TCP flag or list of flags`;
    case 'dscp':
      return DSCP_NAMES.has(text) || range((t) => numberUpTo(t, 63))
        ? null
        : `"${text}" is not a DSCP value (0-63 or a class)`;
    case 'ecn':
      return ECN_NAMES.has(text) || range((t) => numberUpTo(t, 3))
        ? null
        : `"${text}" is not an ECN value (0-3 or a name)`;
    case 'icmptype':
      return ICMP_TYPE_NAMES.has(text) || range((t) => numberUpTo(t, 255))
        ? null
        : `"${text}" is not an ICMP type (0-255 or a name)`;
    case 'icmpcode':
      return ICMP_CODE_NAMES.has(text) || range((t) => numberUpTo(t, 255))
        ? null
        : `"${text}" is not an ICMP code (0-255 or a name)`;
    case 'flags': {
      const known = expr.kind === 'ct' && expr.key === 'status' ? CT_STATUSES : CT_STATES;
      const bad = text.split(',').find((w) => !known.has(w));
      return bad === undefined ? null : `"${bad}" is not a connection ${expr.kind === 'ct' ? expr.key : 'state'}`;
    }
    default:
      return null;
  }
}

/**
 * The kinds of a set's key parts by its type (`ipv4_addr . inet_proto . inet_service`): 'unchecked'
 * for a `typeof` key or a type whose values knetsim does not read (ipv6_addr, ether_addr, ...), 'unknown'
 * for a word nft has no type of.
 */
function kindsOfSetType(type: string): { kinds: ValueKind[]; exprs: Expr[] } | 'unchecked' | 'unknown' {
  // A typeof key names expressions ("ip daddr . th dport"), not types.
  if (type.includes(' ') && !/^[\w]+( \. [\w]+)*$/.test(type)) return 'unchecked';
  const kinds: ValueKind[] = [];
  const exprs: Expr[] = [];
  let unchecked = false;
  for (const part of type.split('.').map((t) => t.trim())) {
    const known = SET_TYPES.get(part);
    if (known) {
      kinds.push(known[0]);
      exprs.push(known[1]);
    } else if (OTHER_NFT_TYPES.has(part)) unchecked = true;
    else return 'unknown';
  }
  return unchecked ? 'unchecked' : { kinds, exprs };
}

const SET_TYPES: ReadonlyMap<string, readonly [ValueKind, Expr]> = new Map([
  ['ipv4_addr', ['addr', { kind: 'payload', proto: 'ip', field: 'daddr' }]],
  ['inet_service', ['port', { kind: 'payload', proto: 'th', field: 'dport' }]],
  ['inet_proto', ['proto', { kind: 'meta', key: 'l4proto' }]],
  ['mark', ['number', { kind: 'meta', key: 'mark' }]],
  ['ifname', ['ifname', { kind: 'meta', key: 'iifname' }]],
]);

/** nft's other set key types (nft describe): taken as they are, their values not read here. */
const OTHER_NFT_TYPES: ReadonlySet<string> = new Set([
  'ipv6_addr',
  'ether_addr',
  'integer',
  'string',
  'verdict',
  'iface_index',
  'iface_type',
  'nf_proto',
  'realm',
  'classid',
  'uid',
  'gid',
  'ct_state',
  'ct_dir',
  'ct_status',
  'ct_label',
  'icmp_type',
  'icmp_code',
  'icmpv6_type',
  'icmpv6_code',
  'dccp_pkttype',
  'tcp_flag',
  'ether_type',
  'arp_op',
  'pkt_type',
  'boolean',
  'time',
  'day',
  'hour',
  'cgroupsv2',
  'devgroup',
  'dscp',
  'ecn',
  'fib_addrtype',
  'ipsec_proto',
]);

function elementsProblem(
  elements: readonly NftElement[],
  kinds: readonly ValueKind[],
  exprs: readonly Expr[],
  where: string,
): string | null {
  for (const e of elements) {
    if (e.key.length !== kinds.length)
      return `${where}: element ${elementKey(e)} has ${e.key.length} parts, the key ${kinds.length}`;
    for (let i = 0; i < kinds.length; i++) {
      const problem = valueProblem(kinds[i]!, exprs[i]!, e.key[i]!);
      if (problem !== null) return `${where}: element ${elementKey(e)}: ${problem}`;
    }
  }
  return null;
}

function valueProblemIn(table: NftTable, touched?: Touched): string | null {
  for (const set of table.sets.values()) {
    if (set.type === '' || (touched && !touched.sets.has(set.name))) continue;
    const typed = kindsOfSetType(set.type);
    if (typed === 'unknown') return `${set.kind} ${set.name}: unknown type "${set.type}"`;
    if (typed === 'unchecked') continue;
    const problem = elementsProblem(set.elements, typed.kinds, typed.exprs, `${set.kind} ${set.name}`);
    if (problem !== null) return problem;
  }
  for (const chain of table.chains.values()) {
    if (touched && !touched.chains.has(chain.name)) continue;
    for (const rule of chain.rules)
      for (const s of rule.body.stmts) {
        const where = `chain ${chain.name}: rule "${rule.text}"`;
        if (s.kind === 'match') {
          const problem = valueProblem(kindOf(s.left), s.left, s.right);
          if (problem !== null) return `${where}: ${problem}`;
        }
        const anonymous =
          s.kind === 'lookup' && s.set.kind === 'anonymous'
            ? { key: s.left, elements: s.set.elements }
            : s.kind === 'vmap' && s.map.kind === 'anonymous'
              ? { key: s.key, elements: s.map.elements }
              : null;
        if (anonymous) {
          const exprs = anonymous.key.kind === 'concat' ? anonymous.key.parts : [anonymous.key];
          const problem = elementsProblem(anonymous.elements, exprs.map(kindOf), exprs, where);
          if (problem !== null) return problem;
        }
        if (s.kind === 'counter' && (!Number.isInteger(s.packets ?? 0) || !Number.isInteger(s.bytes ?? 0)))
          return `${where}: counter values must be whole numbers`;
      }
  }
  return null;
}

const NAT_STATEMENTS: ReadonlySet<Stmt['kind']> = new Set(['dnat', 'snat', 'masquerade', 'redirect']);

/** The hooks each NAT statement works at (nft_nat_validate, nft_masq_validate, nft_redir_validate). */
const NAT_HOOKS: Readonly<Record<string, readonly string[]>> = {
  dnat: ['prerouting', 'output'],
  redirect: ['prerouting', 'output'],
  snat: ['postrouting', 'input'],
  masquerade: ['postrouting'],
};

/** Whether a statement before the NAT one fixes the transport protocol (a port mapping needs one). */
function transportKnown(stmts: readonly Stmt[], upTo: number): boolean {
  for (let i = 0; i < upTo; i++) {
    const s = stmts[i]!;
    if (s.kind !== 'match' && s.kind !== 'lookup') continue;
    const left = s.left;
    const parts = left.kind === 'concat' ? left.parts : [left];
    for (const e of parts) {
      if (e.kind === 'payload' && (e.proto === 'tcp' || e.proto === 'udp' || e.proto === 'sctp')) return true;
      if (e.kind === 'meta' && e.key === 'l4proto' && s.op === '==') return true;
      if (e.kind === 'payload' && e.proto === 'ip' && e.field === 'protocol' && s.kind === 'match' && s.op === '==')
        return true;
    }
  }
  return false;
}

/** What nft refuses in a NAT statement: a port mapping with no transport protocol, a hook it does not work at. */
function natProblem(
  stmts: readonly Stmt[],
  chain: NftTable['chains'] extends Map<string, infer C> ? C : never,
): string | null {
  for (let i = 0; i < stmts.length; i++) {
    const s = stmts[i]!;
    if (!NAT_STATEMENTS.has(s.kind)) continue;
    const ports =
      s.kind === 'dnat' || s.kind === 'snat'
        ? s.range?.minPort != null || s.map?.part === 'port'
        : s.kind === 'masquerade' || s.kind === 'redirect'
          ? s.ports !== null
          : false;
    // (A map keyed by `tcp dport` is no transport match: nft 1.0.6 refuses `dnat to A : tcp dport map {...}` alone.)
    if (ports && !transportKnown(stmts, i))
      return 'transport protocol mapping is only valid after transport protocol match';
    const hook = chain.base?.hook;
    if (hook !== undefined && !NAT_HOOKS[s.kind]!.includes(hook))
      return `${s.kind} works only in ${NAT_HOOKS[s.kind]!.join('/')} chains (the kernel: "Operation not supported")`;
  }
  return null;
}

/** A verdict ends a rule; NAT statements work only in chains of type nat (the kernel: "Operation not supported"). */
function statementProblem(table: NftTable, touched?: Touched): string | null {
  for (const chain of table.chains.values()) {
    if (touched && !touched.chains.has(chain.name)) continue;
    for (const rule of chain.rules) {
      const stmts = rule.body.stmts;
      const verdictAt = stmts.findIndex((s) => s.kind === 'verdict' || s.kind === 'vmap' || s.kind === 'queue');
      if (verdictAt >= 0 && verdictAt < stmts.length - 1)
        return `chain ${chain.name}: rule "${rule.text}": nothing may follow its verdict`;
      if (chain.base && chain.base.type !== 'nat' && stmts.some((s) => NAT_STATEMENTS.has(s.kind)))
        return `chain ${chain.name}: rule "${rule.text}": NAT in a chain of type ${chain.base.type}`;
      const nat = natProblem(stmts, chain);
      if (nat !== null) return `chain ${chain.name}: rule "${rule.text}": ${nat}`;
      // The kernel looks a ct helper object up by name when the rule is added.
      for (const s of stmts)
        if (s.kind === 'helper-set' && s.name !== null && !table.helpers?.has(s.name))
          return `chain ${chain.name}: rule "${rule.text}": no ct helper "${s.name}" in the table (the kernel: "No such file or directory")`;
    }
  }
  return null;
}
