// Routing tables as `ip route` shows them, and the longest-prefix-match lookup
// the kernel makes (local table first, then main).
import { formatIPv4, formatIPv4Prefix, type IPv4, type IPv4Prefix, maskOf, parseIPv4, parseIPv4Prefix } from './ipv4';

export type RouteType = 'unicast' | 'local' | 'broadcast' | 'blackhole' | 'unreachable' | 'prohibit' | 'throw';

export interface Route {
  readonly type: RouteType;
  readonly dst: IPv4Prefix;
  readonly via: IPv4 | null;
  readonly dev: string | null;
  readonly src: IPv4 | null;
  readonly scope: 'global' | 'link' | 'host';
  readonly proto: string | null;
  readonly metric: number | null;
  readonly onlink: boolean;
  readonly table: 'main' | 'local';
}

const TYPES: readonly RouteType[] = ['unicast', 'local', 'broadcast', 'blackhole', 'unreachable', 'prohibit', 'throw'];

export type RouteParseResult = { ok: true; routes: Route[] } | { ok: false; line: number; message: string };

/** Parses `ip route` / `ip route show table all` output (IPv4 lines; others are skipped). */
export function parseIpRoutes(text: string): RouteParseResult {
  const routes: Route[] = [];
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!.trim();
    if (!line || line.startsWith('#')) continue;
    const words = line.split(/\s+/);
    let type: RouteType = 'unicast';
    if ((TYPES as readonly string[]).includes(words[0]!)) type = words.shift() as RouteType;
    const dstText = words.shift()!;
    if (dstText.includes(':')) continue; // IPv6
    const dst = dstText === 'default' ? { address: 0, length: 0 } : parseIPv4Prefix(dstText);
    if (!dst) return { ok: false, line: n + 1, message: `"${dstText}" is not a route destination` };
    let via: IPv4 | null = null;
    let dev: string | null = null;
    let src: IPv4 | null = null;
    let scope: Route['scope'] = type === 'local' ? 'host' : 'global';
    let proto: string | null = null;
    let metric: number | null = null;
    let onlink = false;
    let table: Route['table'] = type === 'local' || type === 'broadcast' ? 'local' : 'main';
    for (let i = 0; i < words.length; i++) {
      const key = words[i]!;
      const value = words[i + 1];
      const take = () => {
        i++;
        return value ?? '';
      };
      switch (key) {
        case 'via': {
          const v = take();
          via = parseIPv4(v.replace(/^inet /, ''));
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
          table = take() === 'local' ? 'local' : 'main';
          break;
        case 'onlink':
          onlink = true;
          break;
        default:
          if (['linkdown', 'dead', 'pervasive', 'offload'].includes(key)) break;
          if (['mtu', 'advmss', 'pref', 'expires', 'initcwnd', 'realm', 'weight'].includes(key)) i++;
      }
    }
    routes.push({ type, dst, via, dev, src, scope, proto, metric, onlink, table });
  }
  return { ok: true, routes };
}

export function formatRoute(r: Route): string {
  const parts: string[] = [];
  if (r.type !== 'unicast') parts.push(r.type);
  parts.push(
    r.dst.length === 0 && r.type === 'unicast'
      ? 'default'
      : r.dst.length === 32
        ? formatIPv4(r.dst.address)
        : formatIPv4Prefix(r.dst),
  );
  if (r.via !== null) parts.push('via', formatIPv4(r.via));
  if (r.dev) parts.push('dev', r.dev);
  if (r.table === 'local' && r.type !== 'local' && r.type !== 'broadcast') parts.push('table', 'local');
  if (r.proto) parts.push('proto', r.proto);
  if (r.scope !== 'global' && !(r.type === 'local' && r.scope === 'host')) parts.push('scope', r.scope);
  if (r.src !== null) parts.push('src', formatIPv4(r.src));
  if (r.metric !== null) parts.push('metric', String(r.metric));
  if (r.onlink) parts.push('onlink');
  return parts.join(' ');
}

/** The kernel's lookup: the local table wins, then the longest prefix (lowest metric) of main. */
/** The routing tables a look-up consults, in the order of the default policy rules. */
const LOOKUP_TABLES = ['local', 'main'] as const;

/**
 * One table's routes for longest-prefix match: prefix lengths longest first, and per length
 * the best route (lowest metric, the first listed on a tie) for each network.
 */
interface PrefixTable {
  readonly lengths: readonly number[];
  readonly byLength: ReadonlyMap<number, ReadonlyMap<IPv4, Route>>;
}

/** Route lists are read-only once parsed: each gets its tables once (a trace routes every packet, some twice). */
const PREFIX_TABLES = new WeakMap<readonly Route[], readonly PrefixTable[]>();

function prefixTablesOf(routes: readonly Route[]): readonly PrefixTable[] {
  let tables = PREFIX_TABLES.get(routes);
  if (tables) return tables;
  tables = LOOKUP_TABLES.map((table) => {
    const byLength = new Map<number, Map<IPv4, Route>>();
    for (const r of routes) {
      if (r.table !== table) continue;
      let networks = byLength.get(r.dst.length);
      if (!networks) {
        networks = new Map();
        byLength.set(r.dst.length, networks);
      }
      const known = networks.get(r.dst.address);
      if (!known || (r.metric ?? 0) < (known.metric ?? 0)) networks.set(r.dst.address, r);
    }
    return { lengths: [...byLength.keys()].sort((x, y) => y - x), byLength };
  });
  PREFIX_TABLES.set(routes, tables);
  return tables;
}

/** The kernel's look-up: the longest matching prefix in the local table, then in main; the lowest metric among equals. */
export function lookupRoute(routes: readonly Route[], dst: IPv4): Route | null {
  for (const { lengths, byLength } of prefixTablesOf(routes))
    for (const length of lengths) {
      const r = byLength.get(length)!.get((dst & maskOf(length)) >>> 0);
      if (r) return r;
    }
  return null;
}
