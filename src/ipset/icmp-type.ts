// ICMP type/code as the port dimension of hash:ip,port sets: the kernel stores (type << 8) | code
// in the port field, and ipset names the pairs it knows (table as ipset 7.x prints it).
import { parseUnsigned } from './number-text';

const ICMP_NAMES: readonly (readonly [string, number, number])[] = [
  ['echo-reply', 0, 0],
  ['pong', 0, 0],
  ['network-unreachable', 3, 0],
  ['host-unreachable', 3, 1],
  ['protocol-unreachable', 3, 2],
  ['port-unreachable', 3, 3],
  ['fragmentation-needed', 3, 4],
  ['source-route-failed', 3, 5],
  ['network-unknown', 3, 6],
  ['host-unknown', 3, 7],
  ['network-prohibited', 3, 9],
  ['host-prohibited', 3, 10],
  ['TOS-network-unreachable', 3, 11],
  ['TOS-host-unreachable', 3, 12],
  ['communication-prohibited', 3, 13],
  ['host-precedence-violation', 3, 14],
  ['precedence-cutoff', 3, 15],
  ['source-quench', 4, 0],
  ['network-redirect', 5, 0],
  ['host-redirect', 5, 1],
  ['TOS-network-redirect', 5, 2],
  ['TOS-host-redirect', 5, 3],
  ['echo-request', 8, 0],
  ['ping', 8, 0],
  ['router-advertisement', 9, 0],
  ['router-solicitation', 10, 0],
  ['ttl-zero-during-transit', 11, 0],
  ['ttl-zero-during-reassembly', 11, 1],
  ['ip-header-bad', 12, 0],
  ['required-option-missing', 12, 1],
  ['timestamp-request', 13, 0],
  ['timestamp-reply', 14, 0],
  ['address-mask-request', 17, 0],
  ['address-mask-reply', 18, 0],
];

const BY_NAME = new Map<string, number>();
const NAME_OF = new Map<number, string>();
for (const [name, type, code] of ICMP_NAMES) {
  const value = (type << 8) | code;
  BY_NAME.set(name.toLowerCase(), value);
  // The first name listed for a pair is the one ipset prints (echo-reply, not pong).
  if (!NAME_OF.has(value)) NAME_OF.set(value, name);
}

/** Packs an ICMP type and code the way the kernel keys them. */
export function icmpValue(type: number, code: number): number {
  return ((type & 255) << 8) | (code & 255);
}

/** Reads "echo-request" (any case) or "TYPE/CODE" (each 0-255); null when neither. */
export function parseIcmpType(text: string): number | null {
  const named = BY_NAME.get(text.toLowerCase());
  if (named !== undefined) return named;
  // TYPE/CODE as numbers ipset reads with base 0 ("010/0" is 8/0, echo-request).
  const slash = text.indexOf('/');
  if (slash < 0) return null;
  const type = parseUnsigned(text.slice(0, slash), 255);
  const code = parseUnsigned(text.slice(slash + 1), 255);
  return type === null || code === null ? null : icmpValue(type, code);
}

export function formatIcmpType(value: number): string {
  return NAME_OF.get(value) ?? `${value >>> 8}/${value & 255}`;
}
