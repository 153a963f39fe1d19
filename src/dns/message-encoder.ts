// Encodes responses the way CoreDNS (miekg/dns) puts them on the wire: owner names and
// the names inside CNAME/NS/PTR/MX/SOA compressed by pointers (SRV targets never, per
// RFC 2782), and UDP truncation by dropping records from the end of each section in
// turn, setting TC when any had to go. dns-packet, used to decode, does not compress.
import { parseIP } from '../model';
import type { ResourceRecord } from './record';
import type { DnsResponse, Rcode } from './response';

const RCODES: Record<Rcode, number> = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 };
const TYPE_CODES: Record<string, number> = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  HINFO: 13,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  NAPTR: 35,
  DS: 43,
  DNSKEY: 48,
  SVCB: 64,
  HTTPS: 65,
  IXFR: 251,
  AXFR: 252,
  ANY: 255,
  CAA: 257,
};
const CLASS_IN = 1;
const TYPE_OPT = 41;

/** A growing message with a table of names already written, for compression pointers. */
class Writer {
  private bytes: number[] = [];
  private readonly names = new Map<string, number>();
  constructor(private readonly compress: boolean) {}

  get length(): number {
    return this.bytes.length;
  }
  u8(v: number): void {
    this.bytes.push(v & 0xff);
  }
  u16(v: number): void {
    this.bytes.push((v >> 8) & 0xff, v & 0xff);
  }
  u32(v: number): void {
    this.u16(Math.floor(v / 65536) & 0xffff);
    this.u16(v & 0xffff);
  }
  setU16(at: number, v: number): void {
    this.bytes[at] = (v >> 8) & 0xff;
    this.bytes[at + 1] = v & 0xff;
  }
  name(fqdnName: string, compressible: boolean): void {
    const labels = fqdnName === '.' ? [] : fqdnName.replace(/\.$/, '').split('.');
    for (let i = 0; i < labels.length; i++) {
      const suffix = labels.slice(i).join('.').toLowerCase();
      const at = this.names.get(suffix);
      if (this.compress && compressible && at !== undefined) {
        this.u16(0xc000 | at);
        return;
      }
      if (this.bytes.length < 0x3fff && !this.names.has(suffix)) this.names.set(suffix, this.bytes.length);
      const label = Buffer.from(labels[i]!, 'utf8');
      this.u8(label.length);
      for (const b of label) this.u8(b);
    }
    this.u8(0);
  }
  snapshot(): { bytes: number[]; names: Map<string, number> } {
    return { bytes: [...this.bytes], names: new Map(this.names) };
  }
  restore(s: { bytes: number[]; names: Map<string, number> }): void {
    this.bytes = s.bytes;
    this.names.clear();
    for (const [k, v] of s.names) this.names.set(k, v);
  }
  buffer(): Buffer {
    return Buffer.from(this.bytes);
  }
}

function writeAddress(w: Writer, rr: ResourceRecord & { type: 'A' | 'AAAA' }): void {
  const ip = parseIP(rr.address);
  if (ip === undefined) throw new Error(`${rr.name} ${rr.type}: ${rr.address} is not an address`);
  if (ip.family === 'IPv4') w.u32(Number(ip.value));
  else for (let shift = 112n; shift >= 0n; shift -= 16n) w.u16(Number((ip.value >> shift) & 0xffffn));
}

function writeRecord(w: Writer, rr: ResourceRecord): void {
  w.name(rr.name, true);
  w.u16(TYPE_CODES[rr.type]!);
  w.u16(CLASS_IN);
  w.u32(rr.ttl);
  const lengthAt = w.length;
  w.u16(0);
  const start = w.length;
  switch (rr.type) {
    case 'A':
    case 'AAAA':
      writeAddress(w, rr);
      break;
    case 'CNAME':
    case 'PTR':
    case 'NS':
      w.name(rr.target, true);
      break;
    case 'MX':
      w.u16(rr.preference);
      w.name(rr.exchange, true);
      break;
    case 'SRV':
      w.u16(rr.priority);
      w.u16(rr.weight);
      w.u16(rr.port);
      w.name(rr.target, false);
      break;
    case 'TXT':
      for (const text of rr.texts) {
        const b = Buffer.from(text, 'utf8');
        w.u8(b.length);
        for (const x of b) w.u8(x);
      }
      break;
    case 'SOA':
      w.name(rr.mname, true);
      w.name(rr.rname, true);
      w.u32(rr.serial);
      w.u32(rr.refresh);
      w.u32(rr.retry);
      w.u32(rr.expire);
      w.u32(rr.minimum);
      break;
  }
  w.setU16(lengthAt, w.length - start);
}

export interface WireOptions {
  readonly id: number;
  readonly rd: boolean;
  /** UDP: the client's EDNS0 size or 512; none over TCP. */
  readonly limit?: number;
  /** The client sent EDNS0: answer with an OPT record offering this size. */
  readonly ednsUdpSize?: number;
}

const OPT_LENGTH = 11;
const HEADER_LENGTH = 12;

/** Encodes a response, truncated to `limit` as miekg/dns's Msg.Truncate does. */
export function encodeMessage(r: DnsResponse, o: WireOptions): Buffer {
  const sections = [r.answer, r.authority, r.additional];
  const size = Math.max(512, o.limit ?? Number.POSITIVE_INFINITY) - (o.ednsUdpSize !== undefined ? OPT_LENGTH : 0);
  const w = new Writer(true);
  for (let i = 0; i < HEADER_LENGTH; i++) w.u8(0);
  w.name(r.question.name, true);
  w.u16(TYPE_CODES[r.question.type] ?? 0);
  w.u16(CLASS_IN);
  const counts = [0, 0, 0];
  let truncated = r.flags.tc;
  let full = false;
  sections.forEach((records, s) => {
    for (const rr of records) {
      if (full) {
        truncated = true;
        continue;
      }
      const before = w.snapshot();
      writeRecord(w, rr);
      if (w.length > size) {
        w.restore(before);
        full = true;
        truncated = true;
        continue;
      }
      counts[s]!++;
    }
  });
  if (o.ednsUdpSize !== undefined) {
    w.u8(0);
    w.u16(TYPE_OPT);
    w.u16(o.ednsUdpSize);
    w.u32(0);
    w.u16(0);
  }
  let flags = 0x8000 | RCODES[r.rcode];
  if (r.flags.aa) flags |= 0x0400;
  if (truncated) flags |= 0x0200;
  if (o.rd) flags |= 0x0100;
  if (r.flags.ra) flags |= 0x0080;
  w.setU16(0, o.id);
  w.setU16(2, flags);
  w.setU16(4, 1);
  w.setU16(6, counts[0]!);
  w.setU16(8, counts[1]!);
  w.setU16(10, counts[2]! + (o.ednsUdpSize !== undefined ? 1 : 0));
  return w.buffer();
}
