// DNS on the wire (RFC 1035, EDNS0 of RFC 6891) through dns-packet: queries decoded,
// responses encoded, and UDP truncation as CoreDNS does it (records dropped from the
// end until the message fits, TC set when answers had to go).
import * as dnsPacket from 'dns-packet';
import { QUERY_TYPES, type QueryType, type ResourceRecord } from './record';
import type { DnsResponse, Rcode } from './response';

const RCODES: Record<Rcode, number> = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 };

/** Without EDNS0 a UDP answer is at most 512 bytes; with it, what the client offers (at least 512). */
export const CLASSIC_UDP_LIMIT = 512;

export interface DecodedQuery {
  readonly id: number;
  readonly name: string;
  readonly type: QueryType;
  readonly rd: boolean;
  /** The client's EDNS0 UDP payload size, when it sent an OPT record. */
  readonly ednsUdpSize?: number;
}

export type QueryDecoding =
  | { readonly ok: true; readonly query: DecodedQuery }
  | { readonly ok: false; readonly id: number; readonly rcode: Rcode; readonly reason: string };

/** Decodes a query; anything else is a FORMERR or NOTIMP with the reason. */
export function decodeQuery(buf: Buffer): QueryDecoding {
  let packet: dnsPacket.DecodedPacket;
  try {
    packet = dnsPacket.decode(buf);
  } catch (e) {
    return { ok: false, id: buf.length >= 2 ? buf.readUInt16BE(0) : 0, rcode: 'FORMERR', reason: (e as Error).message };
  }
  const id = packet.id ?? 0;
  if (packet.type !== 'query') return { ok: false, id, rcode: 'FORMERR', reason: 'not a query' };
  const q = packet.questions?.[0];
  if (!q || packet.questions!.length !== 1)
    return { ok: false, id, rcode: 'FORMERR', reason: 'not exactly one question' };
  if (!(QUERY_TYPES as readonly string[]).includes(q.type))
    return { ok: false, id, rcode: 'NOTIMP', reason: `query type ${q.type} is not modelled` };
  const opt = packet.additionals?.find((a) => a.type === 'OPT') as dnsPacket.OptAnswer | undefined;
  return {
    ok: true,
    query: {
      id,
      name: q.name === '' ? '.' : `${q.name}.`,
      type: q.type as QueryType,
      rd: packet.flag_rd,
      ...(opt ? { ednsUdpSize: Math.max(CLASSIC_UDP_LIMIT, opt.udpPayloadSize) } : {}),
    },
  };
}

const bare = (name: string) => (name === '.' ? '' : name.replace(/\.$/, ''));

function toAnswer(rr: ResourceRecord): dnsPacket.Answer {
  const base = { name: bare(rr.name), ttl: rr.ttl, class: 'IN' as const };
  switch (rr.type) {
    case 'A':
    case 'AAAA':
      return { ...base, type: rr.type, data: rr.address };
    case 'CNAME':
    case 'PTR':
    case 'NS':
      return { ...base, type: rr.type, data: bare(rr.target) };
    case 'SRV':
      return {
        ...base,
        type: 'SRV',
        data: { priority: rr.priority, weight: rr.weight, port: rr.port, target: bare(rr.target) },
      };
    case 'TXT':
      return { ...base, type: 'TXT', data: [...rr.texts] };
    case 'MX':
      return { ...base, type: 'MX', data: { preference: rr.preference, exchange: bare(rr.exchange) } };
    case 'SOA':
      return {
        ...base,
        type: 'SOA',
        data: {
          mname: bare(rr.mname),
          rname: bare(rr.rname),
          serial: rr.serial,
          refresh: rr.refresh,
          retry: rr.retry,
          expire: rr.expire,
          minimum: rr.minimum,
        },
      };
  }
}

function flagsOf(r: DnsResponse, rd: boolean): number {
  let f = RCODES[r.rcode];
  if (r.flags.aa) f |= dnsPacket.AUTHORITATIVE_ANSWER;
  if (r.flags.tc) f |= dnsPacket.TRUNCATED_RESPONSE;
  if (rd) f |= dnsPacket.RECURSION_DESIRED;
  if (r.flags.ra) f |= dnsPacket.RECURSION_AVAILABLE;
  return f;
}

export interface EncodeOptions {
  readonly id: number;
  readonly rd: boolean;
  /** The size limit (UDP); none over TCP. */
  readonly limit?: number;
  /** Echo an OPT record (the client used EDNS0) with this payload size. */
  readonly ednsUdpSize?: number;
}

/** Encodes a response, truncated to `limit` bytes the way a server does over UDP. */
export function encodeResponse(r: DnsResponse, o: EncodeOptions): Buffer {
  const opt: dnsPacket.Answer[] =
    o.ednsUdpSize !== undefined
      ? [
          {
            type: 'OPT',
            name: '.',
            udpPayloadSize: o.ednsUdpSize,
            extendedRcode: 0,
            ednsVersion: 0,
            flags: 0,
            flag_do: false,
            options: [],
          } as dnsPacket.OptAnswer,
        ]
      : [];
  let answers = r.answer.map(toAnswer);
  let authorities = r.authority.map(toAnswer);
  let additionals = r.additional.map(toAnswer);
  let truncated = r.flags.tc;
  const packet = () => ({
    type: 'response' as const,
    id: o.id,
    flags: flagsOf({ ...r, flags: { ...r.flags, tc: truncated } }, o.rd),
    questions: [{ name: bare(r.question.name), type: r.question.type as dnsPacket.RecordType, class: 'IN' as const }],
    answers,
    authorities,
    additionals: [...additionals, ...opt],
  });
  if (o.limit !== undefined) {
    while (dnsPacket.encodingLength(packet()) > o.limit) {
      if (additionals.length) additionals = additionals.slice(0, -1);
      else if (authorities.length) authorities = authorities.slice(0, -1);
      else if (answers.length) {
        answers = answers.slice(0, -1);
        truncated = true;
      } else break;
    }
  }
  return dnsPacket.encode(packet());
}

/** Decodes a response (for tests and clients) into the plain records knetsim uses. */
export function decodeResponse(buf: Buffer): dnsPacket.DecodedPacket {
  return dnsPacket.decode(buf);
}
