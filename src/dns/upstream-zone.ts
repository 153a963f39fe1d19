// What the forwarder's upstream knows: the scenario's `dns.upstream` zone-file lines,
// answered as a recursive resolver would (CNAMEs followed, NXDOMAIN versus NODATA,
// the enclosing zone's SOA in the authority section).
import { fqdn, isSubdomain, labelsOf, sameName } from './domain-name';
import { RECORD_TYPES, type RecordData, type RecordType, type ResourceRecord } from './record';
import { type DnsResponse, type Question, reply } from './response';

export class ZoneLineError extends Error {}

const DEFAULT_TTL = 3600;

function parseData(type: RecordType, fields: readonly string[], line: string): RecordData {
  const need = (n: number) => {
    if (fields.length !== n) throw new ZoneLineError(`"${line}": ${type} takes ${n} field${n > 1 ? 's' : ''}`);
  };
  const num = (text: string, what: string, max: number) => {
    const v = Number(text);
    if (!/^\d+$/.test(text) || v > max)
      throw new ZoneLineError(`"${line}": ${what} "${text}" is not a number up to ${max}`);
    return v;
  };
  switch (type) {
    case 'A':
      need(1);
      if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(fields[0]!) || fields[0]!.split('.').some((o) => Number(o) > 255))
        throw new ZoneLineError(`"${line}": "${fields[0]}" is not an IPv4 address`);
      return { type, address: fields[0]! };
    case 'AAAA':
      need(1);
      if (!fields[0]!.includes(':')) throw new ZoneLineError(`"${line}": "${fields[0]}" is not an IPv6 address`);
      return { type, address: fields[0]!.toLowerCase() };
    case 'CNAME':
    case 'PTR':
    case 'NS':
      need(1);
      return { type, target: fqdn(fields[0]!) };
    case 'MX':
      need(2);
      return { type, preference: num(fields[0]!, 'preference', 65535), exchange: fqdn(fields[1]!) };
    case 'SRV':
      need(4);
      return {
        type,
        priority: num(fields[0]!, 'priority', 65535),
        weight: num(fields[1]!, 'weight', 65535),
        port: num(fields[2]!, 'port', 65535),
        target: fqdn(fields[3]!),
      };
    case 'TXT':
      if (fields.length === 0) throw new ZoneLineError(`"${line}": TXT needs text`);
      return { type, texts: fields };
    case 'SOA':
      need(7);
      return {
        type,
        mname: fqdn(fields[0]!),
        rname: fqdn(fields[1]!),
        serial: num(fields[2]!, 'serial', 0xffffffff),
        refresh: num(fields[3]!, 'refresh', 0x7fffffff),
        retry: num(fields[4]!, 'retry', 0x7fffffff),
        expire: num(fields[5]!, 'expire', 0x7fffffff),
        minimum: num(fields[6]!, 'minimum', 0x7fffffff),
      };
  }
}

/** Splits a zone-file line into fields, keeping quoted strings whole. */
function fieldsOf(line: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (let m = re.exec(line); m; m = re.exec(line)) out.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]!);
  return out;
}

/** Parses one zone-file line: `name [ttl] [IN] type data...` (absolute names only). */
export function parseZoneLine(line: string): ResourceRecord {
  const fields = fieldsOf(line.replace(/;.*$/, ''));
  if (fields.length < 3) throw new ZoneLineError(`"${line}": want "name [ttl] [IN] type data"`);
  const name = fields.shift()!;
  if (!name.endsWith('.')) throw new ZoneLineError(`"${line}": the name "${name}" must be absolute (end with a dot)`);
  let ttl = DEFAULT_TTL;
  if (/^\d+$/.test(fields[0]!)) ttl = Number(fields.shift());
  if (fields[0]?.toUpperCase() === 'IN') fields.shift();
  const type = fields.shift()?.toUpperCase() ?? '';
  if (!(RECORD_TYPES as readonly string[]).includes(type))
    throw new ZoneLineError(`"${line}": record type "${type}" is not one of ${RECORD_TYPES.join(', ')}`);
  return { name: name.toLowerCase(), ttl, ...parseData(type as RecordType, fields, line) } as ResourceRecord;
}

export interface UpstreamZone {
  readonly records: readonly ResourceRecord[];
}

export function parseUpstream(lines: readonly string[]): UpstreamZone {
  return { records: lines.filter((l) => l.trim() !== '' && !l.trim().startsWith(';')).map(parseZoneLine) };
}

/** The SOA of the closest enclosing zone the upstream data holds, for negative answers. */
function enclosingSoa(zone: UpstreamZone, name: string): ResourceRecord[] {
  const soas = zone.records.filter((r) => r.type === 'SOA' && isSubdomain(r.name, name));
  soas.sort((a, b) => labelsOf(b.name).length - labelsOf(a.name).length);
  return soas.slice(0, 1);
}

/** The name exists (has records, or names below it: an empty non-terminal). */
function nameExists(zone: UpstreamZone, name: string): boolean {
  return zone.records.some((r) => isSubdomain(name, r.name));
}

/** How a recursive resolver with this data answers (flags qr rd ra, never authoritative). */
export function answerFromUpstream(zone: UpstreamZone, question: Question): DnsResponse {
  const answer: ResourceRecord[] = [];
  let name = fqdn(question.name);
  for (let hops = 0; hops < 16; hops++) {
    const here = zone.records.filter((r) => sameName(r.name, name));
    const exact = question.type === 'ANY' ? here : here.filter((r) => r.type === question.type);
    if (exact.length > 0) {
      answer.push(...exact.map((r) => ({ ...r, name: hops === 0 ? question.name : r.name })));
      return reply(question, 'NOERROR', { ra: true, answer });
    }
    const alias = here.find((r) => r.type === 'CNAME');
    if (alias === undefined || alias.type !== 'CNAME') {
      if (here.length > 0 || nameExists(zone, name))
        return reply(question, 'NOERROR', { ra: true, answer, authority: enclosingSoa(zone, name) });
      // RFC 6604: the rcode speaks of the last name in the chain.
      return reply(question, 'NXDOMAIN', {
        ra: true,
        answer,
        authority: enclosingSoa(zone, name),
      });
    }
    answer.push({ ...alias, name: hops === 0 ? question.name : alias.name });
    name = alias.target;
  }
  return reply(question, 'SERVFAIL', { ra: true });
}
