// CoreDNS's hosts plugin: A, AAAA and PTR answers from an /etc/hosts style file and
// lines written inline in the Corefile (k3s serves its nodes' names this way, from
// the NodeHosts key of its coredns ConfigMap). It runs before the kubernetes plugin,
// so its names shadow the cluster's; a name it does not know ends in SERVFAIL unless
// `fallthrough` passes it on, as CoreDNS does (it has no SOA to deny a name with).
import { parseIP } from '../model';
import { fqdn, matchZone } from './domain-name';
import type { QueryType, ResourceRecord } from './record';
import { type DnsResponse, type Question, reply } from './response';
import { addressFromReverse } from './reverse-name';

export interface HostsConfig {
  /** The file read (absolute, as CoreDNS resolved it), for messages. */
  readonly path: string;
  /** Zones it answers for (the plugin's arguments, else the server block's). */
  readonly origins: readonly string[];
  readonly ttl: number;
  /** Zones whose unknown names go to the next plugin; undefined: no fallthrough (SERVFAIL). */
  readonly fallthrough?: readonly string[];
  /** `fallthrough_unsupported`: other query types for known names go on too (within fallthrough's zones). */
  readonly fallthroughUnsupported: boolean;
  /** The file's entries, then the inline ones: each looked up in turn and the results joined. */
  readonly maps: readonly HostsMap[];
}

/** Names by family and addresses by name, as one hosts text gives them. */
export interface HostsMap {
  readonly name4: ReadonlyMap<string, readonly string[]>;
  readonly name6: ReadonlyMap<string, readonly string[]>;
  /** `*.zone.` owners: one label below the zone. */
  readonly wild4: ReadonlyMap<string, readonly string[]>;
  readonly wild6: ReadonlyMap<string, readonly string[]>;
  /** Canonical address -> names (PTR); empty with `no_reverse`. */
  readonly byAddress: ReadonlyMap<string, readonly string[]>;
}

function add(map: Map<string, string[]>, key: string, value: string): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/**
 * Reads hosts text as CoreDNS does: `#` starts a comment; a line needs an address and a name;
 * an address is Go's (no leading zeros; an IPv6 zone is dropped); names are lower-cased,
 * fully qualified and kept only inside `origins`; a `*.` name is a wildcard (and has no PTR).
 */
export function parseHosts(text: string, origins: readonly string[], autoReverse: boolean): HostsMap {
  const name4 = new Map<string, string[]>();
  const name6 = new Map<string, string[]>();
  const wild4 = new Map<string, string[]>();
  const wild6 = new Map<string, string[]>();
  const byAddress = new Map<string, string[]>();
  for (const raw of text.split('\n')) {
    const hash = raw.indexOf('#');
    const fields = (hash >= 0 ? raw.slice(0, hash) : raw).split(/[ \t\r\f\v]+/).filter(Boolean);
    if (fields.length < 2) continue;
    const percent = fields[0]!.indexOf('%');
    const ip = parseIP(percent >= 0 ? fields[0]!.slice(0, percent) : fields[0]!);
    if (ip === undefined || ip.leadingZeros) continue;
    const v4 = ip.family === 'IPv4';
    for (const written of fields.slice(1)) {
      const name = fqdn(written.toLowerCase());
      if (matchZone(origins, name) === undefined) continue;
      if (name.startsWith('*.')) {
        add(v4 ? wild4 : wild6, name, ip.text);
        continue;
      }
      add(v4 ? name4 : name6, name, ip.text);
      if (autoReverse) add(byAddress, ip.text, name);
    }
  }
  return { name4, name6, wild4, wild6, byAddress };
}

/** The addresses of one family a name has: its own entries, else a wildcard one label up. */
function lookup(config: HostsConfig, name: string, v4: boolean): string[] {
  const host = fqdn(name.toLowerCase());
  // The leftmost label replaced by `*` (`a.b.` -> `*.b.`); a single label or the root has none
  // (replaceWithAsteriskLabel: dns.NextLabel reports the end).
  const dot = host.indexOf('.');
  const wildcard = dot < 0 || dot === host.length - 1 ? undefined : `*.${host.slice(dot + 1)}`;
  const out: string[] = [];
  for (const m of config.maps) {
    const own = (v4 ? m.name4 : m.name6).get(host);
    const found = own ?? (wildcard === undefined ? undefined : (v4 ? m.wild4 : m.wild6).get(wildcard));
    if (found) out.push(...found);
  }
  return out;
}

function fallsThrough(zones: readonly string[] | undefined, name: string): boolean {
  return zones !== undefined && matchZone(zones, name) !== undefined;
}

/**
 * One question, as the plugin's ServeDNS answers it: 'next' hands it to the next plugin;
 * 'servfail' is the failure it returns without writing (the server writes SERVFAIL, and
 * autopath tries its next search domain). Answers are authoritative and carry the
 * question's name lower-cased (CoreDNS's state.Name()).
 */
export function serveHosts(config: HostsConfig, q: Question): DnsResponse | 'next' | 'servfail' {
  const qname = fqdn(q.name.toLowerCase());
  const inZone = matchZone(config.origins, qname) !== undefined;
  // PTR questions need no origin: reverse names are answered wherever they are asked.
  if (!inZone && q.type !== 'PTR') return 'next';
  let answer: ResourceRecord[] = [];
  const ttl = config.ttl;
  const records = (type: 'A' | 'AAAA', addresses: readonly string[]): ResourceRecord[] =>
    addresses.map((address) => ({ name: qname, ttl, type, address }));
  switch (q.type as QueryType) {
    case 'PTR': {
      const address = parseIP(addressFromReverse(qname))?.text;
      const names = address === undefined ? [] : config.maps.flatMap((m) => m.byAddress.get(address) ?? []);
      if (names.length === 0) return 'next';
      answer = names.map((target) => ({ name: qname, ttl, type: 'PTR', target }));
      break;
    }
    case 'A':
      answer = records('A', lookup(config, qname, true));
      break;
    case 'AAAA':
      answer = records('AAAA', lookup(config, qname, false));
      break;
    default:
      if (config.fallthroughUnsupported && fallsThrough(config.fallthrough, qname)) return 'next';
  }
  // Only an empty answer asks whether the name has records of another family (NODATA, not a failure).
  const known = () => lookup(config, qname, true).length > 0 || lookup(config, qname, false).length > 0;
  if (answer.length === 0 && !known()) {
    if (fallsThrough(config.fallthrough, qname)) return 'next';
    // No SOA to deny the name with: CoreDNS fails it (SERVFAIL).
    return 'servfail';
  }
  return reply(q, 'NOERROR', { aa: true, answer });
}
