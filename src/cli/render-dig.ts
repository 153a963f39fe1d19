// A DNS response printed as dig prints it: header, flags and counts, then the
// question, answer, authority and additional sections.
import { type DnsResponse, flagList, presentRecord, type ResourceRecord } from '../dns';

function section(title: string, records: readonly ResourceRecord[]): string[] {
  if (records.length === 0) return [];
  return ['', `;; ${title} SECTION:`, ...records.map(presentRecord)];
}

export function renderDig(r: DnsResponse, server: string): string {
  const flags = flagList(r.flags);
  const lines = [
    `;; ->>HEADER<<- opcode: QUERY, status: ${r.rcode}, id: 0`,
    `;; flags: ${flags.join(' ')}; QUERY: 1, ANSWER: ${r.answer.length}, AUTHORITY: ${r.authority.length}, ADDITIONAL: ${r.additional.length}`,
  ];
  if (r.flags.rd && !r.flags.ra) lines.push(';; WARNING: recursion requested but not available');
  lines.push('', ';; QUESTION SECTION:', `;${r.question.name}\t\tIN\t${r.question.type}`);
  lines.push(
    ...section('ANSWER', r.answer),
    ...section('AUTHORITY', r.authority),
    ...section('ADDITIONAL', r.additional),
  );
  lines.push('', `;; SERVER: ${server}`, '');
  return lines.join('\n');
}
