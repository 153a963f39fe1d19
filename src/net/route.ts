// Routing tables as `ip route` shows them, and the longest-prefix-match lookup
// the kernel makes (local table first, then main).
import { formatIPv4, formatIPv4Prefix, type IPv4, type IPv4Prefix, maskOf, parseIPv4, parseIPv4Prefix } from './ipv4';

/** The route types iproute2 names (`unicast` unnamed); the kernel forwards unicast and delivers local/broadcast here. */
export type RouteType =
  | 'unicast'
  | 'local'
  | 'broadcast'
  | 'anycast'
  | 'multicast'
  | 'blackhole'
  | 'unreachable'
  | 'prohibit'
  | 'throw'
  | 'nat'
  | 'xresolve';

/** One path of a multipath route (`nexthop via X dev D weight W` lines under it). */
export interface RouteNexthop {
  readonly via: IPv4 | null;
  readonly dev: string | null;
  readonly weight: number;
  /** `dead`: the kernel chooses no flow's path among dead ones (a device down). */
  readonly dead?: true;
}

export interface Route {
  readonly type: RouteType;
  readonly dst: IPv4Prefix;
  /** A multipath route's first path's gateway and device. */
  readonly via: IPv4 | null;
  readonly dev: string | null;
  readonly src: IPv4 | null;
  readonly scope: 'global' | 'link' | 'host';
  readonly proto: string | null;
  readonly metric: number | null;
  readonly onlink: boolean;
  /** The routing table: `local`, `main`, `default` (255, 254, 253 by their names), or another's id or name. */
  readonly table: string;
  /** Every path of a multipath route (two or more); absent for a route with one. */
  readonly nexthops?: readonly RouteNexthop[];
}

const TYPES: ReadonlySet<string> = new Set<RouteType>([
  'unicast',
  'local',
  'broadcast',
  'anycast',
  'multicast',
  'blackhole',
  'unreachable',
  'prohibit',
  'throw',
  'nat',
  'xresolve',
]);

/** The tables iproute2 names (rt_tables); any other is kept as its number or name. */
const TABLE_NAMES: ReadonlyMap<string, string> = new Map([
  ['255', 'local'],
  ['254', 'main'],
  ['253', 'default'],
]);

export function routeTableName(text: string): string {
  return TABLE_NAMES.get(text) ?? text;
}

/** What marks a route line as IPv6 when its destination does not: `via inet6`, a gateway or source with ':', `pref`. */
const IPV6_ROUTE = /\b(via inet6|via [^ ]*:|src [^ ]*:|pref (low|medium|high))\b/;

/** Keys `ip route` prints followed by a value that says nothing routing looks at. */
const KEYS_WITH_VALUE = new Set([
  'mtu',
  'advmss',
  'pref',
  'expires',
  'initcwnd',
  'initrwnd',
  'realm',
  'realms',
  'weight',
  'nhid',
  'hoplimit',
  'rtt',
  'rttvar',
  'reordering',
  'window',
  'cwnd',
  'ssthresh',
  'features',
  'quickack',
  'congctl',
  'fastopen_no_cookie',
  'tos',
  'dsfield',
  'error',
  'rto_min',
]);
/** Flags `ip route` prints alone. */
const FLAGS = new Set(['linkdown', 'dead', 'pervasive', 'offload', 'trap', 'rt_offload', 'rt_trap', 'notify', 'cache']);

export type RouteParseResult = { ok: true; routes: Route[] } | { ok: false; line: number; message: string };

/**
 * Parses `ip route` / `ip route show table all` output: IPv4 routes of every table (IPv6 ones are
 * skipped), a multipath route's `nexthop` lines with it.
 */
export function parseIpRoutes(text: string): RouteParseResult {
  const routes: Route[] = [];
  const lines = text.split('\n');
  /** The route the `nexthop` lines below belong to; null after a skipped (IPv6) route. */
  let multipath: { index: number; nexthops: RouteNexthop[] } | null = null;
  for (let n = 0; n < lines.length; n++) {
    const raw = lines[n]!;
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const words = line.split(/\s+/);
    if (words[0] === 'nexthop' && /^\s/.test(raw)) {
      if (multipath === null) continue;
      const hop = parseNexthop(words);
      if (typeof hop === 'string') return { ok: false, line: n + 1, message: hop };
      multipath.nexthops.push(hop);
      const first = multipath.nexthops[0]!;
      routes[multipath.index] = {
        ...routes[multipath.index]!,
        via: first.via,
        dev: first.dev,
        ...(multipath.nexthops.length > 1 ? { nexthops: [...multipath.nexthops] } : {}),
      };
      continue;
    }
    multipath = null;
    let type: RouteType = 'unicast';
    if (TYPES.has(words[0]!)) type = words.shift() as RouteType;
    const dstText = words.shift();
    if (dstText === undefined) return { ok: false, line: n + 1, message: `a ${type} route with no destination` };
    // IPv6: an address with ':', or (as `default ...`) a gateway or source with one, or `pref`, which
    // iproute2 prints for IPv6 routes alone.
    if (dstText.includes(':') || IPV6_ROUTE.test(line)) continue;
    const dst = dstText === 'default' ? { address: 0, length: 0 } : parseIPv4Prefix(dstText);
    if (!dst) return { ok: false, line: n + 1, message: `"${dstText}" is not a route destination` };
    let via: IPv4 | null = null;
    let dev: string | null = null;
    let src: IPv4 | null = null;
    let scope: Route['scope'] = type === 'local' ? 'host' : 'global';
    let proto: string | null = null;
    let metric: number | null = null;
    let onlink = false;
    let table = type === 'local' || type === 'broadcast' || type === 'anycast' ? 'local' : 'main';
    for (let i = 0; i < words.length; i++) {
      const key = words[i]!;
      const value = words[i + 1];
      const take = () => {
        i++;
        return value ?? '';
      };
      switch (key) {
        case 'via': {
          let v = take();
          if (v === 'inet') v = words[++i] ?? '';
          via = parseIPv4(v);
          if (via === null) return { ok: false, line: n + 1, message: `"${v}" is not a gateway address` };
          break;
        }
        case 'dev':
          dev = take();
          break;
        case 'src':
          src = parseIPv4(take());
          break;
        case 'scope': {
          const s = take();
          scope = s === 'link' ? 'link' : s === 'host' ? 'host' : 'global';
          break;
        }
        case 'proto':
          proto = take();
          break;
        case 'metric':
          metric = Number(take());
          break;
        case 'table':
          table = routeTableName(take());
          break;
        case 'onlink':
          onlink = true;
          break;
        default:
          if (FLAGS.has(key)) break;
          if (KEYS_WITH_VALUE.has(key)) i++;
          // `mtu lock 1450`: the lock flag comes before the value.
          if (words[i] === 'lock') i++;
      }
    }
    routes.push({ type, dst, via, dev, src, scope, proto, metric, onlink, table });
    multipath = { index: routes.length - 1, nexthops: [] };
  }
  return { ok: true, routes };
}

/** A `nexthop via X dev D weight W` line of a multipath route (an IPv6 gateway is an error here: the route is IPv4). */
function parseNexthop(words: readonly string[]): RouteNexthop | string {
  let via: IPv4 | null = null;
  let dev: string | null = null;
  let weight = 1;
  let dead = false;
  for (let i = 1; i < words.length; i++) {
    const key = words[i]!;
    if (key === 'dead') dead = true;
    if (key === 'via') {
      let v = words[++i] ?? '';
      if (v === 'inet') v = words[++i] ?? '';
      via = parseIPv4(v);
      if (via === null) return `"${v}" is not a gateway address`;
    } else if (key === 'dev') dev = words[++i] ?? null;
    else if (key === 'weight') {
      const w = Number(words[++i]);
      if (!Number.isInteger(w) || w < 1 || w > 256) return `"${words[i]}" is not a next-hop weight (1-256)`;
      weight = w;
    }
  }
  return { via, dev, weight, ...(dead ? { dead: true as const } : {}) };
}

export function formatRoute(r: Route): string {
  const parts: string[] = [];
  if (r.type !== 'unicast') parts.push(r.type);
  parts.push(
    r.dst.length === 0 ? 'default' : r.dst.length === 32 ? formatIPv4(r.dst.address) : formatIPv4Prefix(r.dst),
  );
  if (!r.nexthops && r.via !== null) parts.push('via', formatIPv4(r.via));
  if (!r.nexthops && r.dev) parts.push('dev', r.dev);
  // `ip route` names the table of a route outside main, but not of a local or broadcast route in local.
  if (r.table !== 'main' && !(r.table === 'local' && (r.type === 'local' || r.type === 'broadcast')))
    parts.push('table', r.table);
  if (r.proto) parts.push('proto', r.proto);
  if (r.scope !== 'global' && !(r.type === 'local' && r.scope === 'host')) parts.push('scope', r.scope);
  if (r.src !== null) parts.push('src', formatIPv4(r.src));
  if (r.metric !== null) parts.push('metric', String(r.metric));
  if (r.onlink) parts.push('onlink');
  const line = parts.join(' ');
  if (!r.nexthops) return line;
  return [
    line,
    ...r.nexthops.map(
      (h) =>
        `\tnexthop${h.via !== null ? ` via ${formatIPv4(h.via)}` : ''}${h.dev ? ` dev ${h.dev}` : ''} weight ${h.weight}`,
    ),
  ].join('\n');
}

/** The tables a look-up consults under the default policy rules (0: local, 32766: main, 32767: default). */
export const DEFAULT_LOOKUP_TABLES: readonly string[] = ['local', 'main', 'default'];

/**
 * One table's routes for longest-prefix match: prefix lengths longest first, and per length
 * the best route (lowest metric, the first listed on a tie) for each network.
 */
interface PrefixTable {
  readonly lengths: readonly number[];
  readonly byLength: ReadonlyMap<number, ReadonlyMap<IPv4, Route>>;
}

/** Route lists are read-only once parsed: each gets its tables once (a trace routes every packet, some twice). */
const PREFIX_TABLES = new WeakMap<readonly Route[], ReadonlyMap<string, PrefixTable>>();
/** The default rules' tables of a route list, in their order (absent ones left out): every packet's look-up. */
const DEFAULT_TABLES = new WeakMap<readonly Route[], readonly PrefixTable[]>();

function defaultTablesOf(routes: readonly Route[]): readonly PrefixTable[] {
  let tables = DEFAULT_TABLES.get(routes);
  if (tables) return tables;
  const all = prefixTablesOf(routes);
  tables = DEFAULT_LOOKUP_TABLES.flatMap((name) => {
    const t = all.get(name);
    return t ? [t] : [];
  });
  DEFAULT_TABLES.set(routes, tables);
  return tables;
}

function prefixTablesOf(routes: readonly Route[]): ReadonlyMap<string, PrefixTable> {
  let tables = PREFIX_TABLES.get(routes);
  if (tables) return tables;
  const building = new Map<string, Map<number, Map<IPv4, Route>>>();
  for (const r of routes) {
    let byLength = building.get(r.table);
    if (!byLength) {
      byLength = new Map();
      building.set(r.table, byLength);
    }
    let networks = byLength.get(r.dst.length);
    if (!networks) {
      networks = new Map();
      byLength.set(r.dst.length, networks);
    }
    const known = networks.get(r.dst.address);
    if (!known || (r.metric ?? 0) < (known.metric ?? 0)) networks.set(r.dst.address, r);
  }
  tables = new Map(
    [...building].map(([table, byLength]) => [
      table,
      { lengths: [...byLength.keys()].sort((x, y) => y - x), byLength },
    ]),
  );
  PREFIX_TABLES.set(routes, tables);
  return tables;
}

/**
 * One table's answer for an address (fib_table_lookup): the longest matching prefix, the lowest
 * metric among equals; null when the table has none.
 */
export function lookupRouteIn(routes: readonly Route[], table: string, dst: IPv4): Route | null {
  const t = prefixTablesOf(routes).get(table);
  return t === undefined ? null : longestMatch(t, dst);
}

function longestMatch(t: PrefixTable, dst: IPv4): Route | null {
  for (const length of t.lengths) {
    const r = t.byLength.get(length)!.get((dst & maskOf(length)) >>> 0);
    if (r) return r;
  }
  return null;
}

/**
 * The kernel's look-up under the default policy rules: the local table, then main, then default; a
 * `throw` route sends the look-up on to the next table.
 */
export function lookupRoute(routes: readonly Route[], dst: IPv4): Route | null {
  // Every packet routes once or twice: the tables it consults are found once per route list.
  const tables = defaultTablesOf(routes);
  for (let i = 0; i < tables.length; i++) {
    const r = longestMatch(tables[i]!, dst);
    if (r !== null && r.type !== 'throw') return r;
  }
  return null;
}
