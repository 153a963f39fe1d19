// The reference cases' comparisons (../shared/examples and test/upstream): kube-proxy's
// own test normalisations for its rules, and the verdicts its packet tracer and its IPVS
// tests give, judged the way the examples' README describes.
import type { TraceResult } from '../../src/engine';

/** kube-proxy's nftables test normalisation: objects by kind then name, rules in order within a chain. */
export function normaliseNftText(text: string): string[] {
  const kinds = ['table', 'chain', 'rule', 'set', 'map', 'element'];
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l, i) => {
      const w = l.split(/\s+/);
      const kind = kinds.indexOf(w[1]!);
      return { l, i, kind: kind < 0 ? 99 : kind, name: w[1] === 'table' ? '' : (w[4] ?? ''), rule: w[1] === 'rule' };
    })
    .sort(
      (a, b) =>
        a.kind - b.kind ||
        (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) ||
        (a.rule ? a.i - b.i : a.l < b.l ? -1 : a.l > b.l ? 1 : 0),
    )
    .map((k) => k.l);
}

/** One packet of a `*.flows.json`: kube-proxy's packetFlowTest. */
export interface ReferenceFlow {
  readonly name: string;
  readonly sourceIP: string;
  readonly destIP: string;
  readonly destPort: number;
  readonly protocol?: 'tcp' | 'udp' | 'sctp';
  readonly expectedEndpoints: readonly string[] | null;
  readonly expectedVerdict: 'ACCEPT' | 'DROP' | 'REJECT';
  readonly masq: boolean;
}

/** Why a trace disagrees with the flow's expectation, or null when it agrees. */
export function flowDisagreement(f: ReferenceFlow, t: TraceResult): string | null {
  const endpoints = t.endpoints.map((e) => e.address).sort();
  if (f.expectedVerdict !== 'ACCEPT')
    return t.outcome === f.expectedVerdict ? null : `want ${f.expectedVerdict}, got ${t.outcome} ${endpoints}`;
  if (t.outcome === 'DROP' || t.outcome === 'REJECT') return `want ACCEPT, got ${t.outcome}`;
  const want = [...(f.expectedEndpoints ?? [])].sort();
  if (want.join(',') !== endpoints.join(',')) return `want endpoints [${want}], got [${endpoints}]`;
  if (t.masquerade !== f.masq) return `want masquerade ${f.masq}, got ${t.masquerade}`;
  return null;
}

interface VirtualServerView {
  readonly address: string;
  readonly port: number;
  readonly protocol: string;
  readonly scheduler: string;
  readonly flags?: readonly string[];
  readonly timeout?: number;
  readonly realServers?: readonly { readonly address: string; readonly port: number; readonly weight: number }[];
}

/** A `*.expected.json`: what kube-proxy's IPVS test asserts. */
export interface IpvsExpectation {
  readonly virtualServers?: readonly VirtualServerView[];
  readonly virtualServersExact?: boolean;
  readonly ipsets?: Readonly<Record<string, readonly string[]>>;
  readonly ipsetsExact?: boolean;
  readonly kubeIpvs0Addresses?: readonly string[];
  readonly iptablesRulesContains?: readonly string[];
  readonly iptablesChainsExact?: Readonly<
    Record<string, readonly { jump?: string; matchSet?: string; sourceAddress?: string }[]>
  >;
}

/** What `rules --format json` says about an IPVS node (the parts the expectation looks at). */
export interface IpvsNodeView {
  readonly virtualServers: readonly VirtualServerView[];
  readonly ipsets: Readonly<Record<string, { readonly entries: readonly string[] }>>;
  readonly addresses: Readonly<Record<string, readonly string[]>>;
  readonly iptablesRestore: string;
}

/** Every way the node differs from the expectation (empty when it agrees). */
export function ipvsDisagreements(want: IpvsExpectation, got: IpvsNodeView): string[] {
  const out: string[] = [];
  const vsKey = (v: VirtualServerView) =>
    `${v.protocol.toUpperCase()} ${v.address}:${v.port} ${v.scheduler} [${[...(v.flags ?? [])].sort()}] ${v.timeout ?? 0}`;
  const servers = (v: VirtualServerView) =>
    (v.realServers ?? [])
      .map((s) => `${s.address}:${s.port} w${s.weight}`)
      .sort()
      .join(' ');
  const mine = new Map(got.virtualServers.map((v) => [vsKey(v), servers(v)]));
  const theirs = new Map((want.virtualServers ?? []).map((v) => [vsKey(v), servers(v)]));
  for (const [k, rs] of theirs) {
    if (!mine.has(k)) out.push(`missing virtual server ${k}`);
    else if (mine.get(k) !== rs) out.push(`${k}: real servers want [${rs}], got [${mine.get(k)}]`);
  }
  if (want.virtualServersExact) for (const k of mine.keys()) if (!theirs.has(k)) out.push(`unexpected ${k}`);
  const entries = (name: string) => [...(got.ipsets[name]?.entries ?? [])].sort().join(' ');
  for (const [name, list] of Object.entries(want.ipsets ?? {}))
    if (entries(name) !== [...list].sort().join(' ')) out.push(`ipset ${name}: want [${list}], got [${entries(name)}]`);
  if (want.ipsetsExact)
    for (const name of Object.keys(got.ipsets))
      if (!(name in (want.ipsets ?? {})) && entries(name)) out.push(`ipset ${name} should be empty`);
  if (want.kubeIpvs0Addresses) {
    const have = [...(got.addresses['kube-ipvs0'] ?? [])].sort().join(' ');
    if (have !== [...want.kubeIpvs0Addresses].sort().join(' '))
      out.push(`kube-ipvs0: want [${want.kubeIpvs0Addresses}], got [${have}]`);
  }
  const spaced = (l: string) => l.trim().replace(/\s+/g, ' ');
  const lines = new Set(got.iptablesRestore.split('\n').map(spaced));
  for (const rule of want.iptablesRulesContains ?? [])
    if (!lines.has(spaced(rule))) out.push(`iptables rule missing: ${rule}`);
  for (const [chain, rules] of Object.entries(want.iptablesChainsExact ?? {})) {
    const shape = (r: { jump?: string; matchSet?: string; sourceAddress?: string }) =>
      `${r.jump ?? ''}/${r.matchSet ?? ''}/${r.sourceAddress ?? ''}`;
    const have = got.iptablesRestore
      .split('\n')
      .filter((l) => l.startsWith(`-A ${chain} `))
      .map((l) =>
        shape({
          jump: / -j (\S+)/.exec(l)?.[1],
          matchSet: /--match-set (\S+)/.exec(l)?.[1],
          sourceAddress: / -s (\S+)/.exec(l)?.[1],
        }),
      );
    if (rules.map(shape).join(' ') !== have.join(' '))
      out.push(`chain ${chain}: want [${rules.map(shape).join(' ')}], got [${have.join(' ')}]`);
  }
  return out;
}

interface DnsRecord {
  readonly name: string;
  readonly type: string;
  readonly ttl: number | null;
  readonly data: string;
}

/** One question of a `*.dns.json` and CoreDNS's answer to it. */
export interface DnsCase {
  readonly name: string;
  readonly qname: string;
  readonly qtype: string;
  readonly from?: string;
  readonly expectedRcode: string;
  readonly answer?: readonly DnsRecord[];
  readonly authority?: readonly DnsRecord[];
  readonly extra?: readonly DnsRecord[];
}

/** A record as CoreDNS's tests compare it: SOA by its MNAME, names in RDATA case-insensitively, TXT unquoted. */
function recordKey(rr: DnsRecord): string {
  let data = String(rr.data ?? '').trim();
  if (rr.type === 'SOA') data = data.split(/\s+/)[0]!;
  if (['CNAME', 'PTR', 'NS', 'SRV', 'SOA'].includes(rr.type)) data = data.toLowerCase();
  if (rr.type === 'TXT') data = data.replace(/^"|"$/g, '');
  return `${rr.name} ${rr.type} ${data}`;
}

/** Why the answer (`dns --json`) disagrees with the case, or null: rcode, then each section's records sorted, TTLs where given. */
export function dnsDisagreement(c: DnsCase, got: Record<string, unknown>): string | null {
  if (got.rcode !== c.expectedRcode) return `want ${c.expectedRcode}, got ${String(got.rcode)}`;
  const sections = [
    ['answer', c.answer, got.answer],
    ['authority', c.authority, got.authority],
    ['additional', c.extra, got.additional],
  ] as const;
  for (const [section, want, have] of sections) {
    const keyed = (rs: readonly DnsRecord[]) =>
      rs.map((r) => ({ k: recordKey(r), ttl: r.ttl })).sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0));
    const w = keyed(want ?? []);
    const h = keyed((have as DnsRecord[] | undefined) ?? []);
    const wk = w.map((x) => x.k).join('; ');
    const hk = h.map((x) => x.k).join('; ');
    if (wk !== hk) return `${section}: want [${wk}], got [${hk}]`;
    for (let i = 0; i < w.length; i++)
      if (w[i]!.ttl != null && w[i]!.ttl !== h[i]!.ttl)
        return `${section}: ${w[i]!.k}: want TTL ${w[i]!.ttl}, got ${h[i]!.ttl}`;
  }
  return null;
}
