// A packet through one nftables base chain, as the kernel's nft interpreter runs
// it: rules in order, a failed match moves to the next rule, jump/goto/return
// move between chains, a verdict ends the chain. `numgen random` forks the walk,
// one branch per value with its exact probability; every set or map look-up is
// recorded with its key and the element that matched.
import { formatIPv4, PROTOCOL_NUMBERS, parseIPv4 } from '../net';
import type { Expr, NatMap, NftElement, SetRef, Stmt } from './expression';
import { formatElement, formatExpr, formatStmt } from './format-rule';
import { constantValue, matchValue, type ValueKind } from './match-value';
import { natSpanOf } from './nat-span';
import type { NftPacketView } from './packet-view';
import type { NftChain, NftSet, NftTable } from './ruleset';
import { unquote } from './tokenize';

export type NftNat =
  | {
      readonly kind: 'dnat' | 'snat';
      readonly minAddress: number | null;
      readonly maxAddress: number | null;
      readonly minPort: number | null;
      readonly maxPort: number | null;
      readonly flags: readonly string[];
    }
  | {
      readonly kind: 'masquerade' | 'redirect';
      readonly minPort: number | null;
      readonly maxPort: number | null;
      readonly flags: readonly string[];
    };

export interface NftStep {
  readonly chain: string;
  /** 1-based rule number in its chain, null for a policy. */
  readonly ruleNumber: number | null;
  /** The rule as `nft list` prints it. */
  readonly rule: string | null;
  readonly action: string;
  readonly probability?: number;
}

export interface NftBranch {
  readonly probability: number;
  readonly verdict: 'accept' | 'drop' | 'reject';
  readonly rejectWith?: string;
  readonly nat: NftNat | null;
  readonly mark: number;
  readonly steps: NftStep[];
  /** `update @set { key }` statements run, for the caller to remember (kube-proxy's affinity). */
  readonly setUpdates: { readonly set: string; readonly key: string }[];
  readonly rulesEvaluated: number;
  readonly lookups: number;
  /** A `notrack` statement ran: the packet gets no connection (as iptables' NOTRACK). */
  readonly notrack: boolean;
  /** The zone a `ct zone set` put the packet's connection in (null: none set). */
  readonly zone: number | null;
  /** The kernel helper (ftp, sip, ...) a `ct helper set` attached to the packet's new connection (null: none). */
  readonly helper: string | null;
}

/** Members dynamic sets have learnt (`update @set`): by set name, each key with when it expires (seconds). */
export type DynamicSets = ReadonlyMap<string, ReadonlyMap<string, number>>;

interface Frame {
  chain: NftChain;
  next: number;
}

interface Cursor {
  stack: Frame[];
  probability: number;
  mark: number;
  steps: NftStep[];
  setUpdates: { set: string; key: string }[];
  rulesEvaluated: number;
  lookups: number;
  notrack: boolean;
  zone: number | null;
  helper: string | null;
}

type Value = number | string | readonly string[];

/** How a packet's value for the expression is compared with a value written in a rule or set. */
export function kindOf(e: Expr): ValueKind {
  switch (e.kind) {
    case 'payload':
      // ICMP's type and code by nft's names or numbers; IPv6 values as written (no traced packet has them).
      if (e.proto === 'icmp' && (e.field === 'type' || e.field === 'code'))
        return e.field === 'type' ? 'icmptype' : 'icmpcode';
      if (e.proto === 'ip6' || e.proto === 'icmp' || e.proto === 'icmpv6') return 'word';
      if (e.field === 'flags') return 'tcpflags';
      if (e.proto === 'ip' && (e.field === 'protocol' || e.field === 'dscp' || e.field === 'ecn'))
        return e.field === 'protocol' ? 'proto' : e.field;
      return e.field === 'saddr' || e.field === 'daddr' ? 'addr' : e.field.endsWith('port') ? 'port' : 'number';
    case 'meta':
      return e.key === 'l4proto'
        ? 'proto'
        : e.key.endsWith('ifname') || e.key === 'iif' || e.key === 'oif'
          ? 'ifname'
          : e.key === 'nfproto' || e.key === 'protocol' || e.key === 'pkttype'
            ? 'word'
            : 'number';
    case 'fib':
      return e.result === 'type' ? 'word' : 'fiboif';
    case 'ct':
      return e.key === 'mark' || e.key === 'zone'
        ? 'number'
        : e.key === 'direction' || e.key === 'helper'
          ? 'word'
          : 'flags';
    case 'bitwise':
      // Masked, a value compares as what it was (`meta mark & 0xf00`, `tcp flags & (syn|ack)`).
      return kindOf(e.left);
    default:
      return 'number';
  }
}

/** An IPv4 header field of the packet (a traced packet has no IP options: its header is 5 words). */
function ipField(field: string, p: NftPacketView): Value | null {
  switch (field) {
    case 'saddr':
      return p.src;
    case 'daddr':
      return p.dst;
    case 'protocol':
      return p.protocol;
    case 'version':
      return 4;
    case 'hdrlength':
      return 5;
    case 'ttl':
      return p.ttl ?? null;
    case 'length':
      return p.length ?? null;
    case 'dscp':
      return p.tos === undefined ? null : p.tos >>> 2;
    case 'ecn':
      return p.tos === undefined ? null : p.tos & 3;
    default:
      return null;
  }
}

/** The packet's value for an expression; null when the packet has no such field (ports of ICMP). */
function packetValue(e: Expr, p: NftPacketView, mark: number): Value | null {
  switch (e.kind) {
    case 'payload': {
      // An ICMP packet's type and code stand where ports do. Its identifier and sequence number are not
      // modelled, and no traced packet has an IPv6 header: the rule's dependency fails for those.
      if (e.proto === 'icmp' && p.protocol === 'icmp' && (e.field === 'type' || e.field === 'code'))
        return e.field === 'type' ? p.sport : p.dport;
      if (e.proto === 'ip6' || e.proto === 'icmp' || e.proto === 'icmpv6') return null;
      if (e.proto === 'ip') return ipField(e.field, p);
      if (e.field === 'flags') return e.proto === 'tcp' && p.protocol === 'tcp' ? (p.tcpFlags ?? null) : null;
      if (p.protocol === 'icmp' || (e.proto !== 'th' && e.proto !== p.protocol)) return null;
      return e.field === 'sport' ? p.sport : e.field === 'dport' ? p.dport : null;
    }
    case 'meta':
      if (e.key === 'l4proto') return p.protocol;
      if (e.key === 'mark') return mark;
      if (e.key === 'iifname' || e.key === 'iif') return p.iifname ?? '';
      if (e.key === 'oifname' || e.key === 'oif') return p.oifname ?? '';
      if (e.key === 'nfproto') return 'ipv4';
      if (e.key === 'protocol') return 'ip';
      if (e.key === 'pkttype') {
        // As -m pkttype: how the frame was addressed; a packet made here (no device in) is to this host.
        if (p.iifname === null || p.iifname === 'lo') return 'host';
        if (p.dst >>> 28 === 0xe) return 'multicast';
        return p.fibType(p.dst) === 'broadcast' ? 'broadcast' : 'host';
      }
      // A socket's owner exists only for a packet a local process sent.
      if (e.key === 'skuid') return p.socketUid ?? null;
      if (e.key === 'skgid') return p.socketGid ?? null;
      // The skb's length: at an IPv4 hook, the IP packet's whole length.
      if (e.key === 'length') return p.length ?? null;
      return null;
    case 'fib': {
      const address = e.flag === 'saddr' ? p.src : p.dst;
      const device = e.iif ? p.iifname : e.oif ? p.oifname : null;
      if (e.result === 'type') return p.fibType(address, device);
      // nft_fib4: the look-up for saddr is the way back (from daddr), for daddr the way there; with
      // `. iif`/`. oif`, a route leaving by another device than that one counts as none.
      const dev = p.fibDevice?.(address, e.flag === 'saddr' ? p.dst : p.src, e.mark ? mark : 0, device) ?? null;
      return dev === null || (device !== null && dev !== device) ? '' : dev;
    }
    case 'ct':
      if (e.key === 'direction') return p.ctDirection ?? null;
      // Every ct key but state needs a connection (nft_ct_get_eval breaks without one).
      if (e.key === 'zone') return p.ctDirection == null ? null : (p.ctZone ?? 0);
      // nft_ct_get reads the helper of the connection that expected this one (ct->master's, as xt_helper
      // does): knetsim traces no expected connections, so there is none (probed: `ct helper "tftp"` right
      // after `ct helper set` on the same connection does not match).
      if (e.key === 'helper') return null;
      return e.key === 'state' ? [p.ctState] : e.key === 'status' ? p.ctStatus : p.ctMark;
    case 'bitwise': {
      const v = packetValue(e.left, p, mark);
      if (typeof v !== 'number') return null;
      const c = constantValue(e.value) ?? 0;
      return (e.op === 'and' ? v & c : e.op === 'or' ? v | c : v ^ c) >>> 0;
    }
    default:
      return null;
  }
}

function display(v: Value): string {
  return Array.isArray(v) ? v.join(',') : String(v);
}

/** The key parts of an expression (one per concatenated part), with how each is compared. */
function keyOf(e: Expr, p: NftPacketView, mark: number): { kind: ValueKind; value: Value; text: string }[] | null {
  const parts = e.kind === 'concat' ? e.parts : [e];
  const out: { kind: ValueKind; value: Value; text: string }[] = [];
  for (const part of parts) {
    const value = packetValue(part, p, mark);
    if (value === null) return null;
    const kind = kindOf(part);
    out.push({ kind, value, text: kind === 'addr' ? formatIPv4(value as number) : display(value) });
  }
  return out;
}

/** One key part as an exact value (an address, a number, a protocol number), or null for a prefix, range or word. */
function exactPart(kind: ValueKind, text: string): string | null {
  if (kind === 'addr') {
    const a = text.includes('/') || text.includes('-') ? null : parseIPv4(text);
    return a === null ? null : String(a);
  }
  if (kind === 'proto') {
    const n = (PROTOCOL_NUMBERS as Record<string, number>)[text] ?? Number(text);
    return Number.isInteger(n) ? String(n) : null;
  }
  if (kind === 'port' || kind === 'number') return /^\d+$/.test(text) ? String(Number(text)) : null;
  return null;
}

function exactKey(key: readonly { kind: ValueKind; value: Value }[]): string | null {
  const parts = key.map((k) =>
    k.kind === 'proto' ? exactPart('proto', String(k.value)) : typeof k.value === 'number' ? String(k.value) : null,
  );
  return parts.includes(null) ? null : parts.join(' ');
}

/**
 * Elements by exact key, for sets whose elements are all exact values (kube-proxy's maps): the
 * kernel hashes them, and so do we, instead of trying 30,000 elements in turn. Null: keep scanning.
 */
const INDEXES = new WeakMap<readonly NftElement[], Map<string, Map<string, NftElement> | null>>();

function indexOf(elements: readonly NftElement[], kinds: readonly ValueKind[]): Map<string, NftElement> | null {
  let byKinds = INDEXES.get(elements);
  if (!byKinds) {
    byKinds = new Map();
    INDEXES.set(elements, byKinds);
  }
  const sig = kinds.join(',');
  if (byKinds.has(sig)) return byKinds.get(sig)!;
  let index: Map<string, NftElement> | null = new Map();
  for (const el of elements) {
    if (el.key.length !== kinds.length) {
      index = null;
      break;
    }
    const parts = el.key.map((t, i) => exactPart(kinds[i]!, unquote(t)));
    if (parts.includes(null)) {
      index = null;
      break;
    }
    const k = parts.join(' ');
    if (!index.has(k)) index.set(k, el);
  }
  byKinds.set(sig, index);
  return index;
}

function findElement(
  elements: readonly NftElement[],
  key: { kind: ValueKind; value: Value }[],
): NftElement | undefined {
  if (elements.length > 8) {
    const index = indexOf(
      elements,
      key.map((k) => k.kind),
    );
    const exact = index ? exactKey(key) : null;
    if (index && exact !== null) return index.get(exact);
  }
  return elements.find(
    (el) => el.key.length === key.length && key.every((k, i) => matchValue(k.kind, unquote(el.key[i]!), k.value)),
  );
}

function setElements(table: NftTable, ref: SetRef, dynamic: DynamicSets, now: number): readonly NftElement[] | null {
  if (ref.kind === 'anonymous') return ref.elements;
  const set: NftSet | undefined = table.sets.get(ref.name);
  if (!set) return null;
  const learnt = [...(dynamic.get(ref.name) ?? [])]
    .filter(([, expires]) => expires > now)
    .map(([k]) => ({ key: k.split(' . ') }));
  return learnt.length ? [...set.elements, ...learnt] : set.elements;
}

const refName = (ref: SetRef) =>
  ref.kind === 'named' ? `@${ref.name}` : `{ ${ref.elements.map(formatElement).join(', ')} }`;

type StmtResult =
  | { kind: 'next' }
  | { kind: 'nomatch' }
  | { kind: 'verdict'; verdict: string; chain?: string; note?: string; nat?: NftNat; rejectWith?: string }
  | {
      kind: 'fork';
      arms: { probability: number; verdict: string; chain?: string; note: string; nat?: NftNat; value: number }[];
      /** `numgen inc`: the values come in turn (mod, offset), not by chance. */
      counted?: { readonly mod: number; readonly offset: number };
    }
  /** A random match: the rule goes on with this probability, else it does not match. */
  | { kind: 'chance'; probability: number };

function runStmt(
  s: Stmt,
  table: NftTable,
  p: NftPacketView,
  cur: Cursor,
  dynamic: DynamicSets,
  now: number,
  notes: string[],
): StmtResult {
  switch (s.kind) {
    case 'match': {
      // `meta random & 2147483647 < N` (iptables-nft's statistic match): true with probability N / 2^31.
      if (s.left.kind === 'bitwise' && s.left.left.kind === 'meta' && s.left.left.key === 'random') {
        const range = (Number(s.left.value) >>> 0) + 1;
        const bound = Number(s.right);
        const p1 =
          s.op === '<'
            ? bound / range
            : s.op === '<='
              ? (bound + 1) / range
              : s.op === '>'
                ? 1 - (bound + 1) / range
                : 1 - bound / range;
        return { kind: 'chance', probability: Math.min(1, Math.max(0, p1)) };
      }
      const key = keyOf(s.left, p, cur.mark);
      if (!key) return { kind: 'nomatch' };
      if (s.op !== '==' && s.op !== '!=') {
        const v = key[0]!.value;
        const r = Number(s.right);
        if (typeof v !== 'number' || !Number.isFinite(r)) return { kind: 'nomatch' };
        const hit = s.op === '<' ? v < r : s.op === '<=' ? v <= r : s.op === '>' ? v > r : v >= r;
        return hit ? { kind: 'next' } : { kind: 'nomatch' };
      }
      // `tcp flags syn,ack` with no operator: any of those bits (nft compares `& bits != 0`).
      if (s.implicit && key[0]!.kind === 'tcpflags')
        return ((key[0]!.value as number) & (constantValue(s.right) ?? 0)) !== 0
          ? { kind: 'next' }
          : { kind: 'nomatch' };
      const hit = matchValue(key[0]!.kind, unquote(s.right), key[0]!.value);
      return hit === (s.op === '==') ? { kind: 'next' } : { kind: 'nomatch' };
    }
    case 'xt':
      notes.push(
        `xt ${s.what} ${s.name}: an iptables extension nft could not translate, not modelled (taken as matching)`,
      );
      return { kind: 'next' };
    case 'lookup': {
      const key = keyOf(s.left, p, cur.mark);
      const elements = setElements(table, s.set, dynamic, now);
      if (!key || !elements) return { kind: 'nomatch' };
      cur.lookups++;
      const el = findElement(elements, key);
      const keyText = key.map((k) => k.text).join(' . ');
      notes.push(
        `${formatExpr(s.left)} ${keyText} ${el ? `in ${refName(s.set)} (element ${formatElement(el)})` : `not in ${refName(s.set)}`}`,
      );
      return (el !== undefined) === (s.op === '==') ? { kind: 'next' } : { kind: 'nomatch' };
    }
    case 'vmap': {
      if (s.key.kind === 'numgen') {
        cur.lookups++;
        return spreadFork(s.key, setElements(table, s.map, dynamic, now) ?? [], (el, value) => {
          if (!el.value) return null;
          const [verdict, chain] = el.value.split(' ');
          return {
            verdict: verdict!,
            ...(chain ? { chain } : {}),
            note: `${formatExpr(s.key)} = ${value} (probability 1/${(s.key as { mod: number }).mod}): element ${formatElement(el)}`,
          };
        });
      }
      const key = keyOf(s.key, p, cur.mark);
      const elements = setElements(table, s.map, dynamic, now);
      if (!key || !elements) return { kind: 'nomatch' };
      cur.lookups++;
      const el = findElement(elements, key);
      const keyText = key.map((k) => k.text).join(' . ');
      if (!el?.value) {
        notes.push(`${formatExpr(s.key)} ${keyText}: no element in ${refName(s.map)}`);
        return { kind: 'nomatch' };
      }
      const [verdict, chain] = el.value.split(' ');
      return {
        kind: 'verdict',
        verdict: verdict!,
        ...(chain ? { chain } : {}),
        note: `${formatExpr(s.key)} ${keyText} matched ${refName(s.map)} element ${formatElement(el)}`,
      };
    }
    case 'verdict':
      return { kind: 'verdict', verdict: s.verdict, ...(s.chain ? { chain: s.chain } : {}) };
    case 'reject':
      return { kind: 'verdict', verdict: 'reject', rejectWith: s.with ?? 'icmp port-unreachable' };
    case 'dnat':
    case 'snat':
      if (s.map) return natFromMap(s.kind, s.map, s.flags, table, p, cur, dynamic, now, notes);
      // An ip6 statement (in an inet table) acts on IPv6 packets: an IPv4 one goes past it.
      if (s.range === null) return { kind: 'nomatch' };
      return {
        kind: 'verdict',
        verdict: 'accept',
        nat: { kind: s.kind, ...s.range, flags: s.flags },
        note: `${s.kind} to ${s.to}${s.flags.length ? ` ${s.flags.join(',')}` : ''}`,
      };
    case 'masquerade':
    case 'redirect':
      return {
        kind: 'verdict',
        verdict: 'accept',
        nat: { kind: s.kind, minPort: s.ports?.min ?? null, maxPort: s.ports?.max ?? null, flags: s.flags },
        note: formatStmt(s),
      };
    case 'mark-set': {
      const v = typeof s.value === 'string' ? Number(s.value) >>> 0 : packetValue(s.value, p, cur.mark);
      if (typeof v !== 'number') return { kind: 'nomatch' };
      if (s.target === 'meta') {
        notes.push(`mark 0x${cur.mark.toString(16)} -> 0x${v.toString(16)}`);
        cur.mark = v;
      }
      return { kind: 'next' };
    }
    case 'set-update': {
      const key = keyOf(s.key, p, cur.mark);
      if (!key) return { kind: 'nomatch' };
      const text = key.map((k) => k.text).join(' . ');
      cur.setUpdates.push({ set: s.set, key: text });
      notes.push(`${s.op} @${s.set} { ${text} }`);
      return { kind: 'next' };
    }
    case 'queue': {
      const queue = s.first === s.last ? `queue ${s.first}` : `one of queues ${s.first}-${s.last}`;
      const alone = s.flags.includes('bypass') ? 'with bypass the kernel accepts it' : 'the kernel drops it';
      return {
        kind: 'verdict',
        verdict: 'accept',
        note: `to userspace, ${queue}: the program reading it decides; taken as accepted (when none listens, ${alone})`,
      };
    }
    case 'helper-set': {
      let name = s.name;
      if (s.map) {
        const key = keyOf(s.map.key, p, cur.mark);
        const elements = setElements(table, s.map.ref, dynamic, now);
        if (!key || !elements) return { kind: 'nomatch' };
        cur.lookups++;
        const el = findElement(elements, key);
        if (el?.value === undefined) return { kind: 'nomatch' };
        name = unquote(el.value);
      }
      const helper = table.helpers?.get(name ?? '');
      if (!helper) return { kind: 'nomatch' };
      // nft_ct_helper_obj_eval attaches a helper only to a connection of its protocol (and IP version).
      if (helper.protocol !== p.protocol || helper.l3proto === 'ip6') {
        notes.push(
          `ct helper ${helper.name} is for ${helper.protocol} (${helper.l3proto ?? 'ip'}): not attached to this ${p.protocol} connection`,
        );
        return { kind: 'next' };
      }
      cur.helper = helper.type;
      notes.push(
        `conntrack helper ${helper.type} (${helper.name}): it watches the new connection for the ones it announces (related connections are not modelled)`,
      );
      return { kind: 'next' };
    }
    case 'zone-set':
      cur.zone = s.zone;
      notes.push(`conntrack zone ${s.zone}: the connection is looked up and kept there`);
      return { kind: 'next' };
    case 'notrack':
      cur.notrack = true;
      notes.push('notrack: the packet gets no connection');
      return { kind: 'next' };
    case 'limit':
      // A trace's packets are the first of their kind: a fresh bucket holds them, so only `over` fails.
      return s.over ? { kind: 'nomatch' } : { kind: 'next' };
    default:
      return { kind: 'next' };
  }
}

type ForkArm = Extract<StmtResult, { kind: 'fork' }>['arms'][number];

/**
 * A map keyed by a number generator or a hash: a branch per value (offset to offset + mod - 1), each
 * 1/mod, from the value's element (`arm` null: the value's element does not serve, and that share
 * of packets goes on to the next rule); `numgen inc` values come in turn for sampled packets.
 */
function spreadFork(
  key: Extract<Expr, { kind: 'numgen' | 'hash' }>,
  elements: readonly NftElement[],
  arm: (el: NftElement, value: number) => Omit<ForkArm, 'probability' | 'value'> | null,
): StmtResult {
  const arms: ForkArm[] = [];
  for (let v = key.offset; v < key.offset + key.mod; v++) {
    const el = findElement(elements, [{ kind: 'number', value: v }]);
    const made = el === undefined ? null : arm(el, v);
    if (made) arms.push({ ...made, probability: 1 / key.mod, value: v });
  }
  const counted = key.kind === 'numgen' && key.mode === 'inc';
  return { kind: 'fork', arms, ...(counted ? { counted: { mod: key.mod, offset: key.offset } } : {}) };
}

/** The NAT a map value gives: an address (range, prefix, maybe with ports), or a port to the fixed address. */
function natOfValue(kind: 'dnat' | 'snat', map: NatMap, value: string, flags: readonly string[]): NftNat | null {
  const span = map.part === 'port' ? natSpanOf(`${map.address}:${value}`) : natSpanOf(value);
  return span ? { kind, ...span, flags } : null;
}

/**
 * `dnat|snat to KEY map MAP`: the packet's key looked up. A number generator or a hash forks the walk,
 * one branch per value with its share (a hash's value depends on a seed the kernel draws, or on fields
 * taken as spread evenly); a value without an element fails the look-up, and the rule does not match.
 */
function natFromMap(
  kind: 'dnat' | 'snat',
  map: NatMap,
  flags: readonly string[],
  table: NftTable,
  p: NftPacketView,
  cur: Cursor,
  dynamic: DynamicSets,
  now: number,
  notes: string[],
): StmtResult {
  const elements = setElements(table, map.ref, dynamic, now);
  if (!elements) return { kind: 'nomatch' };
  cur.lookups++;
  const spread = map.key.kind === 'numgen' || map.key.kind === 'hash' ? map.key : null;
  if (spread)
    return spreadFork(spread, elements, (el, value) => {
      const nat = el.value === undefined ? null : natOfValue(kind, map, el.value, flags);
      if (!nat) return null;
      return {
        verdict: 'accept',
        nat,
        note: `${formatExpr(map.key)} = ${value} (probability 1/${spread.mod}): ${kind} to ${map.part === 'port' ? `${map.address}:` : ''}${el.value}`,
      };
    });
  const key = keyOf(map.key, p, cur.mark);
  if (!key) return { kind: 'nomatch' };
  const el = findElement(elements, key);
  const keyText = key.map((k) => k.text).join(' . ');
  const nat = el?.value === undefined ? null : natOfValue(kind, map, el.value, flags);
  if (!nat) {
    notes.push(`${formatExpr(map.key)} ${keyText}: no element in ${refName(map.ref)}`);
    return { kind: 'nomatch' };
  }
  return {
    kind: 'verdict',
    verdict: 'accept',
    nat,
    note: `${formatExpr(map.key)} ${keyText} matched ${refName(map.ref)} element ${formatElement(el!)}: ${kind} to ${map.part === 'port' ? `${map.address}:` : ''}${el!.value}`,
  };
}

function fork(cur: Cursor): Cursor {
  return {
    ...cur,
    stack: cur.stack.map((f) => ({ ...f })),
    steps: [...cur.steps],
    setUpdates: [...cur.setUpdates],
  };
}

export interface NftEvalOptions {
  readonly dynamic?: DynamicSets;
  /** Seconds, against which learnt members' timeouts run out. */
  readonly now?: number;
  /** Draw one arm of each numgen instead of following all (a sampled packet). */
  readonly sample?: () => number;
  /**
   * A sampled packet's `numgen inc` counters, by table, chain and rule (what the kernel keeps in the
   * rule): the packet takes the next value instead of a drawn one.
   */
  readonly counters?: Map<string, number>;
  readonly formatRule?: (chain: NftChain, index: number) => string;
}

/** One packet through one base chain of a table: every way it can end, with its probability. */
export function evaluateBaseChain(
  table: NftTable,
  chain: NftChain,
  packet: NftPacketView,
  options: NftEvalOptions = {},
): NftBranch[] {
  const dynamic = options.dynamic ?? new Map();
  const done: NftBranch[] = [];
  const work: Cursor[] = [
    {
      stack: [{ chain, next: 0 }],
      probability: 1,
      mark: packet.mark,
      steps: [],
      setUpdates: [],
      rulesEvaluated: 0,
      lookups: 0,
      notrack: false,
      zone: null,
      helper: null,
    },
  ];
  const finish = (cur: Cursor, verdict: NftBranch['verdict'], nat: NftNat | null, rejectWith?: string) =>
    done.push({
      probability: cur.probability,
      verdict,
      ...(rejectWith ? { rejectWith } : {}),
      nat,
      mark: cur.mark,
      steps: cur.steps,
      setUpdates: cur.setUpdates,
      rulesEvaluated: cur.rulesEvaluated,
      lookups: cur.lookups,
      notrack: cur.notrack,
      zone: cur.zone,
      helper: cur.helper,
    });

  /** Applies a verdict to a cursor; true when the cursor goes on walking. */
  const apply = (cur: Cursor, r: { verdict: string; chain?: string; nat?: NftNat; rejectWith?: string }): boolean => {
    switch (r.verdict) {
      case 'accept':
        finish(cur, 'accept', r.nat ?? null);
        return false;
      case 'drop':
        finish(cur, 'drop', null);
        return false;
      case 'reject':
        finish(cur, 'reject', null, r.rejectWith);
        return false;
      case 'return':
        cur.stack.pop();
        return true;
      case 'continue':
        return true;
      case 'jump':
      case 'goto': {
        const target = table.chains.get(r.chain ?? '');
        if (!target) {
          finish(cur, 'drop', null);
          return false;
        }
        if (r.verdict === 'goto') cur.stack.pop();
        cur.stack.push({ chain: target, next: 0 });
        return true;
      }
      default:
        return true;
    }
  };

  while (work.length > 0) {
    const cur = work.pop()!;
    walk: for (;;) {
      const frame = cur.stack[cur.stack.length - 1];
      if (!frame) {
        // Returned from the base chain itself: its policy decides.
        const policy = chain.base?.policy ?? 'accept';
        cur.steps.push({ chain: chain.name, ruleNumber: null, rule: null, action: `policy ${policy}` });
        finish(cur, policy, null);
        break;
      }
      if (frame.next >= frame.chain.rules.length) {
        cur.stack.pop();
        continue;
      }
      const index = frame.next++;
      const rule = frame.chain.rules[index]!;
      cur.rulesEvaluated++;
      const notes: string[] = [];
      const ruleText = options.formatRule ? options.formatRule(frame.chain, index) : rule.text;
      for (const s of rule.body.stmts) {
        const r = runStmt(s, table, packet, cur, dynamic, options.now ?? 0, notes);
        if (r.kind === 'next') continue;
        if (r.kind === 'chance') {
          const p1 = r.probability;
          const hit = options.sample ? options.sample() < p1 : p1 > 0;
          if (!options.sample && p1 > 0 && p1 < 1) {
            // The other way: the random match fails, and the walk goes on with the next rule.
            const miss = fork(cur);
            miss.probability *= 1 - p1;
            miss.steps.push({
              chain: frame.chain.name,
              ruleNumber: index + 1,
              rule: ruleText,
              action: [...notes, `random: no match (probability ${+(1 - p1).toFixed(10)})`].join('; '),
              probability: 1 - p1,
            });
            work.push(miss);
            cur.probability *= p1;
          }
          if (!hit) continue walk;
          notes.push(`random: match (probability ${+p1.toFixed(10)})`);
          continue;
        }
        if (r.kind === 'nomatch') {
          if (notes.length)
            cur.steps.push({
              chain: frame.chain.name,
              ruleNumber: index + 1,
              rule: ruleText,
              action: notes.join('; '),
            });
          continue walk;
        }
        if (r.kind === 'fork') {
          let arms = r.arms;
          // A value with no element fails the look-up: that share of packets goes on with the next rule.
          const missing = 1 - arms.reduce((sum, a) => sum + a.probability, 0);
          if (options.sample) {
            let pick: (typeof arms)[number] | undefined;
            if (r.counted && options.counters) {
              // The rule's counter gives this packet its value (nft_ng_inc_gen: the next one, wrapping at mod).
              const key = `${table.family} ${table.name}/${frame.chain.name}/${index}`;
              const count = options.counters.get(key) ?? 0;
              options.counters.set(key, (count + 1) % r.counted.mod);
              pick = arms.find((a) => a.value === count + r.counted!.offset);
            } else {
              const x = options.sample();
              let below = 0;
              pick = arms.find((a) => {
                below += a.probability;
                return x < below;
              });
            }
            if (!pick) continue walk;
            arms = [pick];
          } else if (missing > 1e-12) {
            const miss = fork(cur);
            miss.probability *= missing;
            miss.steps.push({
              chain: frame.chain.name,
              ruleNumber: index + 1,
              rule: ruleText,
              action: [...notes, `numgen value with no element (probability ${+missing.toFixed(10)})`].join('; '),
              probability: missing,
            });
            if (arms.length === 0) {
              cur.probability = miss.probability;
              cur.steps = miss.steps;
              continue walk;
            }
            work.push(miss);
          }
          if (arms.length === 0) continue walk;
          arms.forEach((arm, i) => {
            const branch = i === arms.length - 1 ? cur : fork(cur);
            branch.probability *= options.sample ? 1 : arm.probability;
            branch.steps.push({
              chain: frame.chain.name,
              ruleNumber: index + 1,
              rule: ruleText,
              action: [...notes, arm.note].join('; '),
              probability: arm.probability,
            });
            if (apply(branch, arm)) work.push(branch);
          });
          break walk;
        }
        const verdictText = r.nat || r.note ? '' : `${r.verdict}${r.chain ? ` ${r.chain}` : ''}`;
        const action = [...notes, r.note ?? '', verdictText].filter(Boolean);
        cur.steps.push({ chain: frame.chain.name, ruleNumber: index + 1, rule: ruleText, action: action.join('; ') });
        if (!apply(cur, r)) break walk;
        continue walk;
      }
      // Every statement passed: the rule matched without a verdict (a mark, a counter, an update).
      cur.steps.push({
        chain: frame.chain.name,
        ruleNumber: index + 1,
        rule: ruleText,
        action: notes.join('; ') || 'matched',
      });
    }
  }
  return done;
}

/** The families whose hooks a routed IPv4 packet passes. */
const IPV4_FAMILIES: ReadonlySet<string> = new Set(['ip', 'inet']);

/** The base chains of every table at one hook, in the order the kernel runs them (priority, then creation). */

export function baseChainsAt(
  tables: Iterable<NftTable>,
  hook: string,
): { table: NftTable; chain: NftChain; priority: number }[] {
  const out: { table: NftTable; chain: NftChain; priority: number; order: number }[] = [];
  let order = 0;
  // A routed IPv4 packet meets the ip and inet families' hooks only (ip6, arp, bridge and
  // netdev tables hook IPv6 packets, ARP, bridged frames and ingress).
  for (const table of tables)
    if (IPV4_FAMILIES.has(table.family))
      for (const chain of table.chains.values())
        if (chain.base?.hook === hook) out.push({ table, chain, priority: chain.base.priority, order: order++ });
  return out.sort((a, b) => a.priority - b.priority || a.order - b.order);
}
