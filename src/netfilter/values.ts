// Parsers for the values iptables options take (ports, marks, address lists),
// each returning null on bad input so the caller can name the token.
import { type IPv4Prefix, parseIPv4Prefix } from '../net';

export function parsePort(text: string): number | null {
  return scanPort(text, 0, text.length);
}

/**
 * The port in text[from, to), as xtables reads one (strtoul, base 0): decimal, "0x" hex or
 * leading-0 octal ("010" is 8), at most 65535; null otherwise.
 */
export function scanPort(text: string, from: number, to: number): number | null {
  if (to <= from) return null;
  let base = 10;
  let i = from;
  if (text.charCodeAt(i) === 48 && to - from > 1) {
    const x = text.charCodeAt(i + 1) | 0x20;
    if (x === 120) {
      base = 16;
      i += 2;
      if (i >= to) return null;
    } else base = 8;
  }
  let n = 0;
  for (; i < to; i++) {
    const c = text.charCodeAt(i);
    const digit =
      c >= 48 && c <= 57 ? c - 48 : base === 16 && (c | 0x20) >= 97 && (c | 0x20) <= 102 ? (c | 0x20) - 87 : 99;
    if (digit >= base) return null;
    n = n * base + digit;
    if (n > 65535) return null;
  }
  return n;
}

/** "80", "80:90" (":90" and "80:" are open ranges, as xtables_parse_multi_ranges allows). */
export function parsePortRange(text: string): { min: number; max: number } | null {
  const colon = text.indexOf(':');
  if (colon < 0) {
    const p = parsePort(text);
    return p === null ? null : { min: p, max: p };
  }
  const minText = text.slice(0, colon);
  const maxText = text.slice(colon + 1);
  const min = minText === '' ? 0 : parsePort(minText);
  const max = maxText === '' ? 65535 : parsePort(maxText);
  if (min === null || max === null || min > max) return null;
  return { min, max };
}

/**
 * A number as strtoul reads it with base 0 (what xtables uses for marks, ids, reqids, spis): "0x"/"0X"
 * then hex, a leading 0 then octal ("010" is 8, "08" is refused), else decimal; the whole text, at
 * most `max`. Null when it is not such a number.
 */
export function parseCNumber(text: string, max: number): number | null {
  let n: number;
  if (/^0[xX][0-9a-fA-F]+$/.test(text)) n = Number.parseInt(text.slice(2), 16);
  else if (/^0[0-7]*$/.test(text)) n = Number.parseInt(text, 8);
  else if (/^[1-9]\d*$/.test(text)) n = Number(text);
  else return null;
  return n <= max ? n : null;
}

export function parseUint32(text: string): number | null {
  return parseCNumber(text, 0xffffffff);
}

/** "value[/mask]" as -m mark and MARK take it; the mask defaults to all ones. */
export function parseMarkMask(text: string): { value: number; mask: number } | null {
  const slash = text.indexOf('/');
  const value = parseUint32(slash < 0 ? text : text.slice(0, slash));
  const mask = slash < 0 ? 0xffffffff : parseUint32(text.slice(slash + 1));
  if (value === null || mask === null) return null;
  return { value, mask };
}

/** A comma-separated list of prefixes (-s/-d accept several). */
export function parsePrefixList(text: string): IPv4Prefix[] | null {
  if (!text.includes(',')) {
    // Nearly every -s/-d names one address: no list to split.
    const p = parseIPv4Prefix(text);
    return p ? [p] : null;
  }
  const out: IPv4Prefix[] = [];
  for (const part of text.split(',')) {
    const p = parseIPv4Prefix(part);
    if (!p) return null;
    out.push(p);
  }
  return out;
}

export function hex(n: number): string {
  return `0x${(n >>> 0).toString(16)}`;
}
