// IPv4 addresses and prefixes as unsigned 32-bit numbers: the data plane compares
// millions of addresses per second, so the hot path stays on plain numbers.
// Parsing is strict (what the kernel's tools accept) and printing is canonical.
import { scanCNumber } from './c-number';

/** An IPv4 address as an unsigned 32-bit integer. */
export type IPv4 = number;

/** A prefix: network address (host bits zero) and length. */
export interface IPv4Prefix {
  readonly address: IPv4;
  readonly length: number;
}

const DOT = 46;
const ZERO = 48;
const NINE = 57;

/**
 * The dotted quad in text[from, to): four groups of one to three decimal digits with dots
 * between, each at most 255; null otherwise. A scan rather than a regular expression: a
 * ruleset of a hundred thousand rules parses an address or two a rule.
 */
export function scanIPv4(text: string, from: number, to: number): IPv4 | null {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c >= ZERO && c <= NINE) {
      if (++digits > 3) return null;
      octet = octet * 10 + (c - ZERO);
    } else if (c === DOT) {
      if (digits === 0 || dots === 3 || octet > 255) return null;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else return null;
  }
  if (dots !== 3 || digits === 0 || octet > 255) return null;
  return value * 256 + octet;
}

/**
 * Parses a dotted-quad address. Leading zeros are accepted as decimal (Go's
 * legacy parser and kube-proxy treat "172.30.0.041" as 172.30.0.41); callers that
 * must warn about them can ask `hasLeadingZeros`.
 */
export function parseIPv4(text: string): IPv4 | null {
  return scanIPv4(text, 0, text.length);
}

/**
 * An address as inet_aton reads it (what getaddrinfo takes as a numeric host, so libxt_TPROXY's
 * --on-ip): one to four parts, each a C-notation number, the last filling the bytes left ("10.1" is
 * 10.0.0.1, "010.0.0.1" is 8.0.0.1, "167772161" is 10.0.0.1). Null when it is no such address.
 */
export function parseInetAton(text: string): IPv4 | null {
  const parts = text.split('.');
  if (parts.length > 4) return null;
  let value = 0;
  for (let i = 0; i < parts.length; i++) {
    const last = i === parts.length - 1;
    // The last part holds the bytes the earlier ones leave: 4 - i of them.
    const n = scanCNumber(parts[i]!, 0, parts[i]!.length, last ? 2 ** (8 * (4 - i)) - 1 : 255);
    if (n === null) return null;
    value = last ? value * 2 ** (8 * (4 - i)) + n : value * 256 + n;
  }
  return value >>> 0;
}

export function hasLeadingZeros(text: string): boolean {
  return text.split('.').some((part) => part.length > 1 && part.startsWith('0'));
}

/** "0." to "255.": an address is four look-ups and joins, not four number-to-text conversions (traces format millions). */
const OCTET_DOT = Array.from({ length: 256 }, (_, i) => `${i}.`);
const OCTET = Array.from({ length: 256 }, (_, i) => `${i}`);

/** "a.b." by the first two octets, made when first needed: a cluster's addresses share a few (10.244., 10.96.). */
const FIRST_TWO: (string | undefined)[] = new Array(65536);

export function formatIPv4(address: IPv4): string {
  const high = address >>> 16;
  let firstTwo = FIRST_TWO[high];
  if (firstTwo === undefined) {
    firstTwo = OCTET_DOT[high >>> 8]! + OCTET_DOT[high & 255]!;
    FIRST_TWO[high] = firstTwo;
  }
  return firstTwo + OCTET_DOT[(address >>> 8) & 255]! + OCTET[address & 255]!;
}

/** The netmask of a prefix length, as a number (length 0 gives 0). */
export function maskOf(length: number): number {
  return length === 0 ? 0 : (0xffffffff << (32 - length)) >>> 0;
}

/** Prefix length of a contiguous netmask, or null when the mask has holes. */
export function lengthOfMask(mask: number): number | null {
  let length = 0;
  while (length < 32 && (mask & (0x80000000 >>> length)) !== 0) length++;
  return maskOf(length) === mask >>> 0 ? length : null;
}

/**
 * Parses "A.B.C.D/len", "A.B.C.D/M.M.M.M" or a bare address (a /32). Host bits are
 * cleared, as iptables and ip-route do when they store a prefix.
 */
export function parseIPv4Prefix(text: string): IPv4Prefix | null {
  const p = { address: 0, length: 0 };
  return readIPv4Prefix(text, p) ? p : null;
}

/**
 * parseIPv4Prefix into the caller's object (for a parser that keeps the numbers elsewhere and
 * need not make an object a prefix); false, leaving it as it was, when the text is no prefix.
 */
export function readIPv4Prefix(text: string, into: { address: number; length: number }): boolean {
  const slash = text.indexOf('/');
  const address = scanIPv4(text, 0, slash < 0 ? text.length : slash);
  if (address === null) return false;
  let length: number | null = 32;
  if (slash >= 0) {
    const digits = text.length - slash - 1;
    const first = text.charCodeAt(slash + 1);
    const last = text.charCodeAt(text.length - 1);
    // One or two digits: a length; anything else must be a contiguous dotted mask.
    if ((digits === 1 || digits === 2) && first >= ZERO && first <= NINE && last >= ZERO && last <= NINE) {
      length = digits === 1 ? first - ZERO : (first - ZERO) * 10 + (last - ZERO);
      if (length > 32) return false;
    } else {
      const mask = scanIPv4(text, slash + 1, text.length);
      length = mask === null ? null : lengthOfMask(mask);
    }
  }
  if (length === null) return false;
  into.address = (address & maskOf(length)) >>> 0;
  into.length = length;
  return true;
}

/** True when the text's address part has bits set outside its prefix length. */
export function hasHostBits(text: string): boolean {
  const slash = text.indexOf('/');
  const prefix = parseIPv4Prefix(text);
  const address = parseIPv4(slash < 0 ? text : text.slice(0, slash));
  return prefix !== null && address !== null && prefix.address !== address;
}

export function formatIPv4Prefix(prefix: IPv4Prefix): string {
  return `${formatIPv4(prefix.address)}/${prefix.length}`;
}

export function prefixContains(prefix: IPv4Prefix, address: IPv4): boolean {
  return (address & maskOf(prefix.length)) >>> 0 === prefix.address;
}

/** The first and last address of a prefix. */
export function prefixRange(prefix: IPv4Prefix): { first: IPv4; last: IPv4 } {
  const last = (prefix.address | (~maskOf(prefix.length) >>> 0)) >>> 0;
  return { first: prefix.address, last };
}

export function isLoopback(address: IPv4): boolean {
  return address >>> 24 === 127;
}
