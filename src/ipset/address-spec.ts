// The address parts of an element as ipset reads them: a plain address, a CIDR or an
// "A-B" range, expanded to addresses or decomposed into networks as the tool does before
// it talks to the kernel.

import { hasLeadingZeros, type IPv4, type IPv4Prefix, maskOf, parseIPv4 } from '../net/ipv4';
import { parseUnsigned } from './number-text';
import { err, ok, type Result } from './result';

/** An inclusive range of addresses. */
export interface AddressRange {
  readonly first: IPv4;
  readonly last: IPv4;
}

/**
 * A dotted quad. Leading zeros are refused: ipset reads "010" as octal 8, the rest of knetsim
 * as decimal 10, and a dump should not mean two things.
 */
export function parsePlainAddress(text: string): IPv4 | null {
  return hasLeadingZeros(text) ? null : parseIPv4(text);
}

/** A prefix length as ipset reads it: a number in C notation ("010" is 8, "0x10" 16), 1 to 32. */
function parseCidrLength(text: string): Result<number, string> {
  const length = parseUnsigned(text, 2 ** 32);
  if (length === null) return err(`prefix length "${text}" is not a number`);
  if (length < 1 || length > 32) return err(`prefix length ${length} is out of range 1-32`);
  return ok(length);
}

export function notAddress(text: string): { readonly ok: false; readonly error: string } {
  if (parseIPv4(text) !== null) return err(`"${text}" has leading zeros, which ipset reads as octal`);
  return err(`"${text}" is not an IPv4 address`);
}

/** Reads "A", "A/len" (len 1-32, host bits dropped) or "A-B" (either order) as a range. */
export function parseAddressRange(text: string): Result<AddressRange, string> {
  const dash = text.indexOf('-');
  if (dash >= 0) {
    const a = parsePlainAddress(text.slice(0, dash));
    const b = parsePlainAddress(text.slice(dash + 1));
    if (a === null) return notAddress(text.slice(0, dash));
    if (b === null) return notAddress(text.slice(dash + 1));
    return ok(a <= b ? { first: a, last: b } : { first: b, last: a });
  }
  const slash = text.indexOf('/');
  const address = parsePlainAddress(slash < 0 ? text : text.slice(0, slash));
  if (address === null) return notAddress(slash < 0 ? text : text.slice(0, slash));
  if (slash < 0) return ok({ first: address, last: address });
  const length = parseCidrLength(text.slice(slash + 1));
  if (!length.ok) return length;
  const first = (address & maskOf(length.value)) >>> 0;
  return ok({ first, last: (first | (~maskOf(length.value) >>> 0)) >>> 0 });
}

/** Reads "A" (a /32), "A/len" or "A-B" as the networks it stands for, as ipset stores them. */
export function parseNetworks(text: string): Result<IPv4Prefix[], string> {
  if (text.includes('-')) {
    const range = parseAddressRange(text);
    return range.ok ? ok(rangeToPrefixes(range.value.first, range.value.last)) : range;
  }
  const slash = text.indexOf('/');
  const address = parsePlainAddress(slash < 0 ? text : text.slice(0, slash));
  if (address === null) return notAddress(slash < 0 ? text : text.slice(0, slash));
  if (slash < 0) return ok([{ address, length: 32 }]);
  const length = parseCidrLength(text.slice(slash + 1));
  if (!length.ok) return length;
  return ok([{ address: (address & maskOf(length.value)) >>> 0, length: length.value }]);
}

/** The fewest networks covering exactly [first, last], lowest first (ipset's decomposition). */
export function rangeToPrefixes(first: IPv4, last: IPv4): IPv4Prefix[] {
  const prefixes: IPv4Prefix[] = [];
  let address = first;
  while (address <= last) {
    let length = 32;
    // Widen while the block stays aligned and inside the range; /0 is not storable, so stop at /1.
    while (length > 1) {
      const wider = length - 1;
      const size = 2 ** (32 - wider);
      if (address % size !== 0 || address + size - 1 > last) break;
      length = wider;
    }
    prefixes.push({ address, length });
    address += 2 ** (32 - length);
  }
  return prefixes;
}
