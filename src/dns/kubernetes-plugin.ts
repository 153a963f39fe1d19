// The kubernetes plugin answering a question (CoreDNS's ServeDNS and the backend
// lookups it calls): records per type, NXDOMAIN versus NODATA, fallthrough.
import { fqdn, isSubdomain, joinName, matchZone, sameName } from './domain-name';
import {
  type BackendService,
  isAddress,
  isIPv6,
  type KubernetesBackend,
  type Lookup,
  reverse,
  services,
} from './kubernetes-backend';
import type { QueryType, ResourceRecord } from './record';
import { type DnsResponse, type Question, reply } from './response';

/** Asks the whole server again (CoreDNS's upstream), for names outside the zone. */
export type UpstreamLookup = (name: string, type: QueryType) => DnsResponse | undefined;

interface State {
  readonly qname: string;
  readonly qtype: QueryType;
  readonly zone: string;
}

const MAX_CNAME_CHAIN = 10;

/** The zone's SOA, as CoreDNS builds it: TTL min(ttl, 300), ns.dns and hostmaster names. */
export function soaRecord(b: KubernetesBackend, zone: string): ResourceRecord {
  return {
    name: zone,
    ttl: Math.min(b.config.ttl, 300),
    type: 'SOA',
    mname: joinName('ns.dns', zone),
    rname: joinName('hostmaster', zone),
    serial: b.serial,
    refresh: 7200,
    retry: 1800,
    expire: 86400,
    minimum: b.config.ttl,
  };
}

function checkForApex(b: KubernetesBackend, s: State): Lookup {
  // As CoreDNS: the lower-cased name against the zone as asked.
  if (s.qname.toLowerCase() !== s.zone) return services(b, s.qname, s.qtype, s.zone);
  const apex = services(b, joinName('apex.dns', s.zone), s.qtype, s.zone);
  if (apex.error === undefined) return apex;
  return services(b, s.qname, s.qtype, s.zone);
}

interface Chase {
  readonly records: ResourceRecord[];
  readonly truncated: boolean;
  readonly error?: string;
}

/** A and AAAA (and TXT through CNAMEs): addresses, ExternalName CNAMEs followed. */
function addresses(
  b: KubernetesBackend,
  s: State,
  previous: readonly ResourceRecord[],
  upstream: UpstreamLookup,
): Chase {
  const found = s.qtype === 'TXT' ? services(b, s.qname, s.qtype, s.zone) : checkForApex(b, s);
  if (found.error) return { records: [], truncated: false, error: found.error };
  const out: ResourceRecord[] = [];
  let truncated = false;
  const seen = new Set<string>();
  for (const serv of found.services) {
    if (serv.text !== undefined) {
      if (s.qtype === 'TXT' && !seen.has(serv.text)) {
        seen.add(serv.text);
        out.push({ name: s.qname, ttl: serv.ttl, type: 'TXT', texts: split255(serv.text) });
      }
      continue;
    }
    if (!isAddress(serv.host)) {
      const target = fqdn(serv.host);
      if (isSubdomain(s.qname, target)) continue;
      const cname: ResourceRecord = { name: s.qname, ttl: serv.ttl, type: 'CNAME', target };
      if (previous.length > MAX_CNAME_CHAIN) continue;
      if (previous.some((p) => p.type === 'CNAME' && sameName(p.name, cname.name) && sameName(p.target, target)))
        continue;
      if (isSubdomain(s.zone, target)) {
        const next = addresses(b, { ...s, qname: target }, [...previous, cname], upstream);
        if (next.error === undefined && next.records.length > 0) out.push(cname, ...next.records);
        truncated ||= next.truncated;
        continue;
      }
      const m = upstream(target, s.qtype);
      if (m === undefined) continue;
      truncated ||= m.flags.tc;
      out.push(cname, ...m.answer);
      continue;
    }
    if (s.qtype === 'TXT') continue;
    const v6 = isIPv6(serv.host);
    if ((s.qtype === 'A' && !v6) || (s.qtype === 'AAAA' && v6)) {
      if (seen.has(serv.host)) continue;
      seen.add(serv.host);
      out.push({ name: s.qname, ttl: serv.ttl, type: v6 ? 'AAAA' : 'A', address: serv.host });
    }
  }
  return { records: out, truncated };
}

function split255(text: string): string[] {
  if (text.length < 255) return [text];
  const out: string[] = [];
  for (let i = 0; i < text.length; i += 255) out.push(text.slice(i, i + 255));
  return out;
}

function addressRecord(name: string, serv: BackendService): ResourceRecord {
  return isIPv6(serv.host)
    ? { name, ttl: serv.ttl, type: 'AAAA', address: serv.host }
    : { name, ttl: serv.ttl, type: 'A', address: serv.host };
}

/** SRV: one record per distinct target and port, weights shared out per priority, addresses as extra. */
function srv(b: KubernetesBackend, s: State): { records: ResourceRecord[]; extra: ResourceRecord[]; error?: string } {
  const found = services(b, s.qname, s.qtype, s.zone);
  if (found.error) return { records: [], extra: [], error: found.error };
  const total = found.services.length * 100;
  const records: ResourceRecord[] = [];
  const extra: ResourceRecord[] = [];
  const seenTarget = new Set<string>();
  const seenAddress = new Set<string>();
  for (const serv of found.services) {
    if (serv.port === -1) continue;
    const weight = Math.max(1, Math.floor((100 / total) * 100));
    const target = serv.domain;
    const targetKey = `${target.toLowerCase()}|${serv.port}`;
    if (!seenTarget.has(targetKey)) {
      seenTarget.add(targetKey);
      records.push({ name: s.qname, ttl: serv.ttl, type: 'SRV', priority: 0, weight, port: serv.port, target });
    }
    const addressKey = `${target.toLowerCase()}|${serv.host}`;
    if (!seenAddress.has(addressKey)) {
      seenAddress.add(addressKey);
      extra.push(addressRecord(target, serv));
    }
  }
  return { records, extra };
}

/** NS at the apex: the services backed by CoreDNS's own pod, their addresses as extra. */
function ns(b: KubernetesBackend, s: State): { records: ResourceRecord[]; extra: ResourceRecord[] } {
  const found = services(b, joinName('ns.dns', s.zone), 'NS', s.zone);
  const records: ResourceRecord[] = [];
  const extra: ResourceRecord[] = [];
  const seen = new Set<string>();
  for (const serv of found.services) {
    const target = serv.domain;
    extra.push(addressRecord(target, serv));
    if (seen.has(target)) continue;
    seen.add(target);
    records.push({ name: s.qname, ttl: serv.ttl, type: 'NS', target });
  }
  return { records, extra };
}

function ptr(b: KubernetesBackend, s: State): { records: ResourceRecord[]; error?: string } {
  const found = reverse(b, s.qname, s.zone);
  if (found.error) return { records: [], error: found.error };
  const seen = new Set<string>();
  const records: ResourceRecord[] = [];
  for (const serv of found.services) {
    if (isAddress(serv.host) || seen.has(serv.host)) continue;
    seen.add(serv.host);
    records.push({ name: s.qname, ttl: serv.ttl, type: 'PTR', target: fqdn(serv.host) });
  }
  return { records };
}

function cname(b: KubernetesBackend, s: State): { records: ResourceRecord[]; error?: string } {
  const found = services(b, s.qname, s.qtype, s.zone);
  if (found.error) return { records: [], error: found.error };
  const first = found.services[0];
  if (first === undefined || isAddress(first.host)) return { records: [] };
  return { records: [{ name: s.qname, ttl: first.ttl, type: 'CNAME', target: fqdn(first.host) }] };
}

/** 'next' when the question is not the plugin's (outside its zones, or a name error that falls through). */
export function serveKubernetes(
  b: KubernetesBackend,
  question: Question,
  upstream: UpstreamLookup,
): DnsResponse | 'next' {
  const qname = fqdn(question.name);
  const matched = matchZone(b.config.zones, qname);
  if (matched === undefined) return 'next';
  // Keep the case of the question in the zone, as CoreDNS does.
  const zone = qname.slice(qname.length - matched.length);
  const s: State = { qname, qtype: question.type, zone };
  let records: ResourceRecord[] = [];
  let extra: ResourceRecord[] = [];
  let truncated = false;
  let error: string | undefined;
  switch (question.type) {
    case 'A':
    case 'AAAA':
    case 'TXT': {
      const r = addresses(b, s, [], upstream);
      ({ records, truncated, error } = r);
      break;
    }
    case 'CNAME':
      ({ records, error } = cname(b, s));
      break;
    case 'PTR':
      ({ records, error } = ptr(b, s));
      break;
    case 'MX': {
      // The kubernetes plugin has no mail records; a name error still counts.
      error = services(b, qname, 'MX', zone).error;
      break;
    }
    case 'SRV':
      ({ records, extra, error } = srv(b, s));
      break;
    case 'SOA':
      if (qname === zone) records = [soaRecord(b, zone)];
      break;
    case 'AXFR':
    case 'IXFR':
      return reply(question, 'REFUSED');
    case 'NS':
      // CoreDNS compares the lower-cased name with the zone as asked: a mixed-case apex
      // (`Cluster.local.`) is not the apex here and gets the fake A lookup's NODATA.
      if (qname.toLowerCase() === zone) {
        ({ records, extra } = ns(b, s));
        break;
      }
      error = addresses(b, { ...s, qtype: 'A' }, [], upstream).error;
      break;
    default:
      // A fake A lookup tells NODATA from NXDOMAIN.
      error = addresses(b, { ...s, qtype: 'A' }, [], upstream).error;
  }
  if (error !== undefined) {
    if (b.config.fallthrough && matchZone(b.config.fallthrough, qname) !== undefined) return 'next';
    return reply(question, 'NXDOMAIN', { aa: true, authority: [soaRecord(b, zone)] });
  }
  if (records.length === 0) return reply(question, 'NOERROR', { aa: true, authority: [soaRecord(b, zone)] });
  return reply(question, 'NOERROR', { aa: true, tc: truncated, answer: records, additional: extra });
}
