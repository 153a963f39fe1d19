// A DNS response as plain data: what dig shows (header, question, sections).
import type { QueryType, ResourceRecord } from './record';

export type Rcode = 'NOERROR' | 'FORMERR' | 'SERVFAIL' | 'NXDOMAIN' | 'NOTIMP' | 'REFUSED';

export interface Question {
  /** As asked (case kept), fully qualified. */
  readonly name: string;
  readonly type: QueryType;
  /** IXFR: the serial of the SOA the client sent in the authority section, if it sent one. */
  readonly ixfrSerial?: number;
}

export interface ResponseFlags {
  /** Authoritative answer. */
  readonly aa: boolean;
  /** Truncated. */
  readonly tc: boolean;
  /** Recursion desired (copied from the query). */
  readonly rd: boolean;
  /** Recursion available. */
  readonly ra: boolean;
}

export interface DnsResponse {
  readonly rcode: Rcode;
  readonly flags: ResponseFlags;
  readonly question: Question;
  readonly answer: readonly ResourceRecord[];
  readonly authority: readonly ResourceRecord[];
  readonly additional: readonly ResourceRecord[];
}

/** dig's flag list: qr first, then the set ones in header order. */
export function flagList(flags: ResponseFlags): string[] {
  return ['qr', ...(['aa', 'tc', 'rd', 'ra'] as const).filter((f) => flags[f])];
}

export function reply(
  question: Question,
  rcode: Rcode,
  sections: Partial<Pick<DnsResponse, 'answer' | 'authority' | 'additional'>> & {
    aa?: boolean;
    tc?: boolean;
    ra?: boolean;
  } = {},
): DnsResponse {
  return {
    rcode,
    flags: { aa: sections.aa ?? false, tc: sections.tc ?? false, rd: true, ra: sections.ra ?? false },
    question,
    answer: sections.answer ?? [],
    authority: sections.authority ?? [],
    additional: sections.additional ?? [],
  };
}
