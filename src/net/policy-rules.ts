// Policy routing: the rules `ip rule show` lists and the look-up the kernel makes
// through them (fib_rules_lookup), choosing the routing table a packet is routed by.
import { parseCNumber } from './c-number';
import { ipProtocolNumber } from './ip-protocols';
import { type IPv4, type IPv4Prefix, maskOf, parseIPv4Prefix } from './ipv4';
import { lookupRouteIn, type Route, routeTableName } from './route';

export type PolicyAction = 'lookup' | 'goto' | 'nop' | 'blackhole' | 'unreachable' | 'prohibit';

export interface PolicyRule {
  readonly priority: number;
  /** `not`: the selector's answer inverted (FIB_RULE_INVERT). */
  readonly not: boolean;
  readonly from: IPv4Prefix;
  readonly to: IPv4Prefix;
  /** A nonzero TOS/DSCP selects only packets with it (knetsim's packets carry 0). */
  readonly tos: number;
  readonly fwmark: number;
  /** 0: no fwmark selector. */
  readonly fwmask: number;
  /** `iif`/`oif`: null for any; a `[detached]` device's rule matches nothing. */
  readonly iif: string | null;
  readonly iifDetached: boolean;
  readonly oif: string | null;
  readonly oifDetached: boolean;
  readonly uidrange: readonly [number, number] | null;
  /** 0: any protocol. */
  readonly ipproto: number;
  readonly sport: readonly [number, number] | null;
  readonly dport: readonly [number, number] | null;
  readonly action: PolicyAction;
  /** `lookup`'s table (by routeTableName). */
  readonly table: string | null;
  /** `goto`'s target priority. */
  readonly gotoPriority: number | null;
  /** `suppress_prefixlength N`: a route with a prefix this short or shorter is passed over (-1: none). */
  readonly suppressPrefixLength: number;
  /** `suppress_ifgroup`: routes out of devices of this group are passed over (knetsim's devices are all group 0). */
  readonly suppressIfgroup: number | null;
  /** The rule as `ip rule` printed it (blanks made single spaces), for traces. */
  readonly text: string;
  /** One of the kernel's default three (`from all lookup local|main|default`): a route it finds needs no word on how. */
  readonly defaultLookup: boolean;
}

export type PolicyRulesParseResult = { ok: true; rules: PolicyRule[] } | { ok: false; line: number; message: string };

/** Parses `ip rule show` (IPv4; `ip -d rule`'s extras are read too). The rules are kept in priority order. */
export function parseIpRules(text: string): PolicyRulesParseResult {
  const rules: PolicyRule[] = [];
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!.trim();
    if (!line || line.startsWith('#')) continue;
    const r = parsePolicyRuleLine(line);
    if (typeof r === 'string') return { ok: false, line: n + 1, message: r };
    rules.push(r);
  }
  // The kernel keeps rules by priority, a later rule of the same priority after the earlier ones.
  rules.sort((a, b) => a.priority - b.priority);
  return { ok: true, rules };
}

const ALL: IPv4Prefix = { address: 0, length: 0 };

function portRange(text: string): readonly [number, number] | string {
  const m = /^(\d+)(?:-(\d+))?$/.exec(text);
  const lo = m ? Number(m[1]) : Number.NaN;
  const hi = m?.[2] !== undefined ? Number(m[2]) : lo;
  if (!(lo >= 0 && hi <= 65535 && lo <= hi)) return `"${text}" is not a port or port range`;
  return [lo, hi];
}

function prefixOf(text: string, what: string): IPv4Prefix | string {
  if (text === 'all') return ALL;
  const p = parseIPv4Prefix(text);
  return p ?? `"${text}" is not an IPv4 ${what} prefix`;
}

/** One line of `ip rule show`: `PRIORITY:\t[not] from PREFIX [selectors] ACTION [options]`. */
function parsePolicyRuleLine(line: string): PolicyRule | string {
  const m = /^(\d+):\s+(.*)$/.exec(line);
  if (!m) return `"${line}" is not an ip rule line (PRIORITY: SELECTOR ACTION)`;
  const words = m[2]!.split(/\s+/);
  const rule: {
    -readonly [K in keyof PolicyRule]: PolicyRule[K];
  } = {
    priority: Number(m[1]),
    not: false,
    from: ALL,
    to: ALL,
    tos: 0,
    fwmark: 0,
    fwmask: 0,
    iif: null,
    iifDetached: false,
    oif: null,
    oifDetached: false,
    uidrange: null,
    ipproto: 0,
    sport: null,
    dport: null,
    action: 'lookup',
    table: null,
    gotoPriority: null,
    suppressPrefixLength: -1,
    suppressIfgroup: null,
    text: line.replace(/\s+/g, ' '),
    defaultLookup: false,
  };
  let acted = false;
  for (let i = 0; i < words.length; i++) {
    const key = words[i]!;
    const value = words[i + 1];
    const need = (): string => {
      if (value === undefined) throw new RuleError(`"${key}" needs a value`);
      i++;
      return value;
    };
    try {
      switch (key) {
        case 'not':
          rule.not = true;
          break;
        case 'from': {
          const p = prefixOf(need(), 'source');
          if (typeof p === 'string') return p;
          rule.from = p;
          break;
        }
        case 'to': {
          const p = prefixOf(need(), 'destination');
          if (typeof p === 'string') return p;
          rule.to = p;
          break;
        }
        case 'tos':
        case 'dsfield': {
          // iproute2 reads a TOS in hex whether or not it has 0x (rtnl_dsfield_a2n).
          const v = parseCNumber(
            need()
              .toLowerCase()
              .replace(/^(?!0x)/, '0x'),
            255,
          );
          if (v === null) return `"${value}" is not a TOS value`;
          rule.tos = v;
          break;
        }
        case 'fwmark': {
          const [markText, maskText] = need().split('/');
          const mark = parseCNumber(markText!, 0xffffffff);
          const mask = maskText === undefined ? 0xffffffff : parseCNumber(maskText, 0xffffffff);
          if (mark === null || mask === null) return `"${value}" is not a fwmark (MARK[/MASK])`;
          rule.fwmark = mark >>> 0;
          rule.fwmask = mask >>> 0;
          break;
        }
        case 'iif':
        case 'oif': {
          const dev = need();
          const detached = words[i + 1] === '[detached]';
          if (detached) i++;
          if (key === 'iif') {
            rule.iif = dev;
            rule.iifDetached = detached;
          } else {
            rule.oif = dev;
            rule.oifDetached = detached;
          }
          break;
        }
        case 'uidrange': {
          const r = /^(\d+)-(\d+)$/.exec(need());
          if (!r) return `"${value}" is not a uid range (FIRST-LAST)`;
          rule.uidrange = [Number(r[1]), Number(r[2])];
          break;
        }
        case 'ipproto': {
          const p = ipProtocolNumber(need());
          if (p === null) return `"${value}" is not an IP protocol`;
          rule.ipproto = p;
          break;
        }
        case 'sport':
        case 'dport': {
          const r = portRange(need());
          if (typeof r === 'string') return r;
          rule[key] = r;
          break;
        }
        case 'lookup':
        case 'table':
          rule.action = 'lookup';
          rule.table = routeTableName(need());
          acted = true;
          break;
        case 'goto': {
          const target = Number(need());
          if (!Number.isInteger(target)) return `"${value}" is not a rule priority`;
          rule.action = 'goto';
          rule.gotoPriority = target;
          acted = true;
          break;
        }
        case 'nop':
        case 'blackhole':
        case 'unreachable':
        case 'prohibit':
          rule.action = key;
          acted = true;
          break;
        case 'suppress_prefixlength': {
          const v = Number(need());
          if (!Number.isInteger(v) || v < -1 || v > 32) return `"${value}" is not a prefix length`;
          rule.suppressPrefixLength = v;
          break;
        }
        case 'suppress_ifgroup': {
          // ip prints a group's name from /etc/iproute2/group; "default" is group 0.
          const text = need();
          const v = text === 'default' ? 0 : Number(text);
          if (!Number.isInteger(v)) return `"${text}" is not an interface group`;
          rule.suppressIfgroup = v;
          break;
        }
        // Selectors and details that tell IPv4 look-ups of knetsim's packets nothing more.
        case 'proto':
        case 'realms':
        case 'tun_id':
        case 'flowlabel':
        case 'dscp':
          need();
          break;
        case 'l3mdev':
        // A goto whose target priority has no rule: the kernel's rule does nothing (it carries on).
        case '[unresolved]':
          break;
        default:
          return `"${key}" is not an ip rule selector or action this reader knows`;
      }
    } catch (e) {
      if (e instanceof RuleError) return e.message;
      throw e;
    }
  }
  if (!acted) return 'the rule has no action (lookup, goto, nop, blackhole, unreachable or prohibit)';
  rule.defaultLookup =
    rule.action === 'lookup' &&
    ['local', 'main', 'default'].includes(rule.table!) &&
    !rule.not &&
    rule.from.length === 0 &&
    rule.to.length === 0 &&
    rule.fwmask === 0 &&
    rule.iif === null &&
    rule.oif === null &&
    rule.uidrange === null &&
    rule.ipproto === 0 &&
    rule.sport === null &&
    rule.dport === null &&
    rule.tos === 0 &&
    rule.suppressPrefixLength === -1 &&
    rule.suppressIfgroup === null;
  return rule;
}

class RuleError extends Error {}

/** What routing knows of a packet when it looks up its route (the fields fib rules select on). */
export interface RoutingKey {
  readonly dst: IPv4;
  readonly src: IPv4;
  readonly mark: number;
  /** The device it came in by; "lo" for a packet the node makes (the kernel's flowi_iif). */
  readonly iif: string;
  /** The device a socket is bound to (SO_BINDTODEVICE); null for none. */
  readonly oif: string | null;
  readonly uid: number;
  readonly protocol: number;
  readonly sport: number;
  readonly dport: number;
}

export type PolicyRouteResult =
  | { readonly kind: 'route'; readonly route: Route; readonly rule: PolicyRule }
  /** A rule's action or the route found refuses the packet (blackhole, unreachable, prohibit). */
  | { readonly kind: 'refused'; readonly how: string; readonly rule: PolicyRule }
  | { readonly kind: 'none' };

function inRange(range: readonly [number, number] | null, n: number): boolean {
  return range === null || (n >= range[0] && n <= range[1]);
}

function inPrefix(p: IPv4Prefix, a: IPv4): boolean {
  return p.length === 0 || (a & maskOf(p.length)) >>> 0 === p.address;
}

/** fib_rule_match with fib4_rule_match: every selector, then `not`. */
export function policyRuleMatches(rule: PolicyRule, key: RoutingKey): boolean {
  const matched =
    (rule.iif === null || (!rule.iifDetached && rule.iif === key.iif)) &&
    (rule.oif === null || (!rule.oifDetached && rule.oif === key.oif)) &&
    ((rule.fwmark ^ key.mark) & rule.fwmask) === 0 &&
    (rule.uidrange === null || (key.uid >= rule.uidrange[0] && key.uid <= rule.uidrange[1])) &&
    inPrefix(rule.from, key.src) &&
    inPrefix(rule.to, key.dst) &&
    rule.tos === 0 &&
    (rule.ipproto === 0 || rule.ipproto === key.protocol) &&
    inRange(rule.sport, key.sport) &&
    inRange(rule.dport, key.dport);
  return matched !== rule.not;
}

/**
 * fib_rules_lookup: the rules in priority order; the first whose table holds a route for the packet
 * (not passed over by a `throw` route or the rule's suppress options) decides; `goto` carries on from
 * its target, `nop` does nothing, blackhole/unreachable/prohibit refuse.
 */
export function routeByPolicy(
  routes: readonly Route[],
  rules: readonly PolicyRule[],
  key: RoutingKey,
): PolicyRouteResult {
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i]!;
    if (!policyRuleMatches(rule, key)) continue;
    if (rule.action === 'goto') {
      // The kernel jumps to the first rule of the target priority (none: the goto does nothing) and
      // carries on from there, that rule's selectors checked as any other's.
      const target = rules.findIndex((r) => r.priority === rule.gotoPriority);
      if (target <= i) continue;
      i = target - 1;
      continue;
    }
    if (rule.action === 'nop') continue;
    if (rule.action !== 'lookup') return { kind: 'refused', how: rule.action, rule };
    const r = lookupRouteIn(routes, rule.table!, key.dst);
    if (r === null || r.type === 'throw') continue;
    if (r.type === 'blackhole' || r.type === 'unreachable' || r.type === 'prohibit')
      return { kind: 'refused', how: `${r.type} route`, rule };
    if (r.dst.length <= rule.suppressPrefixLength) continue;
    if (rule.suppressIfgroup === 0) continue;
    return { kind: 'route', route: r, rule };
  }
  return { kind: 'none' };
}

/** The rules a node starts with (and has unless something adds its own). */
export const DEFAULT_POLICY_RULES: readonly PolicyRule[] = [
  '0:\tfrom all lookup local',
  '32766:\tfrom all lookup main',
  '32767:\tfrom all lookup default',
].map((line) => {
  const r = parsePolicyRuleLine(line);
  if (typeof r === 'string') throw new Error(r);
  return r;
});
