// One DNS message in, one out: what `serve-dns` does with each UDP datagram or TCP
// frame, with the truncation rule of the transport, and CoreDNS's log line for it.
import { type CoreDns, resolve } from './coredns-server';
import { encodeMessage } from './message-encoder';
import { flagList, reply } from './response';
import { CLASSIC_UDP_LIMIT, decodeQuery } from './wire';

export type Transport = 'udp' | 'tcp';

export interface WireExchange {
  /** Null when the message gets no answer (CoreDNS's server drops it). */
  readonly response: Buffer | null;
  /** CoreDNS log plugin's line: `client - id "TYPE IN name proto size do bufsize" RCODE flags size`; null for a message dropped. */
  readonly log: string | null;
}

export function answerWire(
  dns: CoreDns,
  query: Buffer,
  transport: Transport,
  client: { address: string; port: number },
): WireExchange {
  const peer = `${client.address.includes(':') ? `[${client.address}]` : client.address}:${client.port}`;
  // miekg/dns drops, without a word or a log line, a message shorter than a DNS header and a
  // response (QR set: a FORMERR back would answer an answer).
  if (query.length < 12 || (query[2]! & 0x80) !== 0) return { response: null, log: null };
  const decoded = decodeQuery(query);
  if (!decoded.ok) {
    const r = reply({ name: '.', type: 'A' }, decoded.rcode);
    const response = encodeMessage(r, { id: decoded.id, rd: false });
    return {
      response,
      log: `${peer} - ${decoded.id} "? ${transport} ${query.length}" ${decoded.rcode} (${decoded.reason})`,
    };
  }
  const q = decoded.query;
  const r = resolve(
    dns,
    { name: q.name, type: q.type, ...(q.ixfrSerial !== undefined ? { ixfrSerial: q.ixfrSerial } : {}) },
    { ip: client.address, transport },
  );
  const limit = transport === 'tcp' ? undefined : (q.ednsUdpSize ?? CLASSIC_UDP_LIMIT);
  const response = encodeMessage(r, {
    id: q.id,
    rd: q.rd,
    ...(limit !== undefined ? { limit } : {}),
    ...(q.ednsUdpSize !== undefined ? { ednsUdpSize: q.ednsUdpSize } : {}),
  });
  const tc = (response.readUInt16BE(2) & 0x0200) !== 0;
  const flags = flagList({ ...r.flags, rd: q.rd, tc });
  const log = `${peer} - ${q.id} "${q.type} IN ${q.name} ${transport} ${query.length} false ${q.ednsUdpSize ?? CLASSIC_UDP_LIMIT}" ${r.rcode} ${flags.join(',')} ${response.length}`;
  return { response, log };
}
