// The nftables state of a node: tables of one family each, holding base and
// regular chains, rules, and named sets and maps with their elements. Plain
// data with insertion order kept (nft lists objects in the order they were added).
import type { NftElement, NftRuleBody } from './expression';

export const FAMILIES = ['ip', 'ip6', 'inet', 'arp', 'bridge', 'netdev'] as const;
export type NftFamily = (typeof FAMILIES)[number];
export const HOOKS = ['prerouting', 'input', 'forward', 'output', 'postrouting', 'ingress'] as const;
export type NftHook = (typeof HOOKS)[number];
export const CHAIN_TYPES = ['filter', 'nat', 'route'] as const;
export type NftChainType = (typeof CHAIN_TYPES)[number];

export interface NftBaseChain {
  readonly type: NftChainType;
  readonly hook: NftHook;
  readonly priority: number;
  readonly policy?: 'accept' | 'drop';
}

export interface NftRule {
  /** The rule's words as written in a transaction (after `add rule FAMILY TABLE CHAIN`). */
  readonly text: string;
  readonly body: NftRuleBody;
}

export interface NftChain {
  readonly name: string;
  base?: NftBaseChain;
  comment?: string;
  rules: NftRule[];
}

export interface NftSet {
  readonly kind: 'set' | 'map';
  readonly name: string;
  /** Key type, concatenations as written: `ipv4_addr . inet_proto . inet_service`. */
  type: string;
  /** A map's data type (`verdict`). */
  dataType?: string;
  flags: string[];
  /** Default element timeout in seconds. */
  timeout?: number;
  size?: number;
  comment?: string;
  elements: NftElement[];
}

export interface NftTable {
  readonly family: NftFamily;
  readonly name: string;
  comment?: string;
  readonly chains: Map<string, NftChain>;
  readonly sets: Map<string, NftSet>;
  /** `ct helper NAME { type "ftp" protocol tcp; }` objects, by name. */
  helpers?: Map<string, NftHelper>;
}

/** A ct helper object: the kernel helper it stands for and the protocol it is for. */
export interface NftHelper {
  readonly name: string;
  readonly type: string;
  readonly protocol: string;
  readonly l3proto?: string;
}

export interface NftRuleset {
  /** Keyed `family name`. */
  readonly tables: Map<string, NftTable>;
}

export function emptyRuleset(): NftRuleset {
  return { tables: new Map() };
}

export function tableKey(family: string, name: string): string {
  return `${family} ${name}`;
}

/** The key of a set element as one string, for replacing and deleting elements. */
export function elementKey(e: NftElement): string {
  return e.key.join(' . ');
}

/** Standard priority names nft accepts (and prints) for a hook in the ip family. */
const PRIORITY_NAMES: readonly { name: string; value: number; hooks: readonly NftHook[] | null }[] = [
  { name: 'raw', value: -300, hooks: null },
  { name: 'mangle', value: -150, hooks: null },
  { name: 'dstnat', value: -100, hooks: ['prerouting'] },
  { name: 'filter', value: 0, hooks: null },
  { name: 'security', value: 50, hooks: null },
  { name: 'srcnat', value: 100, hooks: ['postrouting'] },
];

/** `-110`, `dstnat`, `dstnat-10`, `dstnat - 10` (already joined by the caller) → a number, or null. */
export function parsePriority(text: string, hook: NftHook): number | null {
  const t = text.replace(/\s+/g, '');
  if (/^-?\d+$/.test(t)) return Number(t);
  const m = t.match(/^([a-z]+)([+-]\d+)?$/);
  if (!m) return null;
  // nft 1.0 takes a name at its own hooks only; 1.1 prints and takes dstnat/srcnat at any hook
  // (a Debian 13 node lists `type nat hook output priority dstnat`): the name's value either way.
  const std =
    PRIORITY_NAMES.find((p) => p.name === m[1] && (p.hooks === null || p.hooks.includes(hook))) ??
    PRIORITY_NAMES.find((p) => p.name === m[1]);
  return std ? std.value + Number(m[2] ?? 0) : null;
}

/** As `nft list` prints a priority: a standard name (± an offset up to 10) valid for the hook, else the number. */
export function formatPriority(value: number, hook: NftHook): string {
  for (const p of PRIORITY_NAMES) {
    if (p.hooks !== null && !p.hooks.includes(hook)) continue;
    const off = value - p.value;
    if (off === 0) return p.name;
    if (Math.abs(off) <= 10) return `${p.name} ${off < 0 ? '-' : '+'} ${Math.abs(off)}`;
  }
  return String(value);
}

/** Seconds from `10800s`, `3h`, `1h30m`, `2d`, `500ms` (rounded down), or a bare number of seconds. */
export function parseDuration(text: string): number | null {
  if (/^\d+$/.test(text)) return Number(text);
  const re = /(\d+)(ms|d|h|m|s)/gy;
  let total = 0;
  let m: RegExpExecArray | null;
  let consumed = 0;
  // biome-ignore lint/suspicious/noAssignInExpressions: a sticky regex walk
  while ((m = re.exec(text)) !== null) {
    const n = Number(m[1]);
    total += m[2] === 'd' ? n * 86400 : m[2] === 'h' ? n * 3600 : m[2] === 'm' ? n * 60 : m[2] === 's' ? n : 0;
    consumed = re.lastIndex;
  }
  return consumed === text.length && consumed > 0 ? total : null;
}

/** As nft prints durations: `3h`, `1h30m`, `10s`. */
export function formatDuration(seconds: number): string {
  let rest = seconds;
  let out = '';
  for (const [unit, size] of [
    ['d', 86400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * size;
  }
  return out || '0s';
}
