// Resource records as plain data, with their zone-file presentation (what dig prints).

export type RecordType = 'A' | 'AAAA' | 'CNAME' | 'PTR' | 'NS' | 'SRV' | 'TXT' | 'SOA' | 'MX';

export const RECORD_TYPES: readonly RecordType[] = ['A', 'AAAA', 'CNAME', 'PTR', 'NS', 'SRV', 'TXT', 'SOA', 'MX'];

/** Question types a client may ask besides record types. */
export type QueryType =
  | RecordType
  | 'AXFR'
  | 'IXFR'
  | 'ANY'
  | 'CAA'
  | 'DS'
  | 'DNSKEY'
  | 'HINFO'
  | 'NAPTR'
  | 'SVCB'
  | 'HTTPS';

export const QUERY_TYPES: readonly QueryType[] = [
  ...RECORD_TYPES,
  'AXFR',
  'IXFR',
  'ANY',
  'CAA',
  'DS',
  'DNSKEY',
  'HINFO',
  'NAPTR',
  'SVCB',
  'HTTPS',
];

export interface SoaData {
  readonly mname: string;
  readonly rname: string;
  readonly serial: number;
  readonly refresh: number;
  readonly retry: number;
  readonly expire: number;
  readonly minimum: number;
}

export interface SrvData {
  readonly priority: number;
  readonly weight: number;
  readonly port: number;
  readonly target: string;
}

export type RecordData =
  | { readonly type: 'A' | 'AAAA'; readonly address: string }
  | { readonly type: 'CNAME' | 'PTR' | 'NS'; readonly target: string }
  | ({ readonly type: 'SRV' } & SrvData)
  | { readonly type: 'TXT'; readonly texts: readonly string[] }
  | ({ readonly type: 'SOA' } & SoaData)
  | { readonly type: 'MX'; readonly preference: number; readonly exchange: string };

export type ResourceRecord = { readonly name: string; readonly ttl: number } & RecordData;

/** The record's data as a zone file (and dig) writes it. */
export function presentData(rr: RecordData): string {
  switch (rr.type) {
    case 'A':
    case 'AAAA':
      return rr.address;
    case 'CNAME':
    case 'PTR':
    case 'NS':
      return rr.target;
    case 'SRV':
      return `${rr.priority} ${rr.weight} ${rr.port} ${rr.target}`;
    case 'TXT':
      return rr.texts.map((t) => `"${t.replace(/(["\\])/g, '\\$1')}"`).join(' ');
    case 'SOA':
      return `${rr.mname} ${rr.rname} ${rr.serial} ${rr.refresh} ${rr.retry} ${rr.expire} ${rr.minimum}`;
    case 'MX':
      return `${rr.preference} ${rr.exchange}`;
  }
}

/** One zone-file line, tab-separated as dig prints answers. */
export function presentRecord(rr: ResourceRecord): string {
  return `${rr.name}\t${rr.ttl}\tIN\t${rr.type}\t${presentData(rr)}`;
}

/** The JSON shape of `dns --json`: name, type, ttl, data in presentation form. */
export function recordJson(rr: ResourceRecord): { name: string; type: string; ttl: number; data: string } {
  return { name: rr.name, type: rr.type, ttl: rr.ttl, data: presentData(rr) };
}
