// DNS on the wire (RFC 1035, EDNS0 of RFC 6891): queries decoded with dns-packet;
// responses are encoded by message-encoder.ts (compression and truncation as CoreDNS).
import * as dnsPacket from 'dns-packet';
import { QUERY_TYPES, type QueryType } from './record';
import type { Rcode } from './response';

/** Without EDNS0 a UDP answer is at most 512 bytes; with it, what the client offers (at least 512). */
export const CLASSIC_UDP_LIMIT = 512;

export interface DecodedQuery {
  readonly id: number;
  readonly name: string;
  readonly type: QueryType;
  readonly rd: boolean;
  /** The client's EDNS0 UDP payload size, when it sent an OPT record. */
  readonly ednsUdpSize?: number;
  /** IXFR: the serial of the SOA in the authority section (the client's version of the zone). */
  readonly ixfrSerial?: number;
}

export type QueryDecoding =
  | { readonly ok: true; readonly query: DecodedQuery }
  | { readonly ok: false; readonly id: number; readonly rcode: Rcode; readonly reason: string };

/** Decodes a query; anything else is a FORMERR or NOTIMP with the reason. */
export function decodeQuery(buf: Buffer): QueryDecoding {
  let packet: dnsPacket.DecodedPacket;
  try {
    packet = dnsPacket.decode(buf);
  } catch {
    // What the decoder says (a buffer offset out of range, ...) is no message for a DNS log.
    return { ok: false, id: buf.length >= 2 ? buf.readUInt16BE(0) : 0, rcode: 'FORMERR', reason: 'malformed message' };
  }
  const id = packet.id ?? 0;
  if (packet.type !== 'query') return { ok: false, id, rcode: 'FORMERR', reason: 'not a query' };
  const q = packet.questions?.[0];
  if (!q || packet.questions!.length !== 1)
    return { ok: false, id, rcode: 'FORMERR', reason: 'not exactly one question' };
  if (!(QUERY_TYPES as readonly string[]).includes(q.type))
    return { ok: false, id, rcode: 'NOTIMP', reason: `query type ${q.type} is not modelled` };
  const opt = packet.additionals?.find((a) => a.type === 'OPT') as dnsPacket.OptAnswer | undefined;
  const soa = packet.authorities?.length === 1 ? packet.authorities[0] : undefined;
  const ixfrSerial = soa?.type === 'SOA' ? soa.data.serial : undefined;
  return {
    ok: true,
    query: {
      id,
      name: q.name === '' ? '.' : `${q.name}.`,
      type: q.type as QueryType,
      rd: packet.flag_rd,
      ...(opt ? { ednsUdpSize: Math.max(CLASSIC_UDP_LIMIT, opt.udpPayloadSize) } : {}),
      ...(q.type === 'IXFR' && ixfrSerial !== undefined ? { ixfrSerial } : {}),
    },
  };
}

/** Decodes a response (for tests and clients). */
export function decodeResponse(buf: Buffer): dnsPacket.DecodedPacket {
  return dnsPacket.decode(buf);
}
