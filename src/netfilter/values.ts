// Parsers for the values iptables options take (ports, marks, address lists),
// each returning null on bad input so the caller can name the token.
import { type IPv4Prefix, parseIPv4Prefix } from '../net';

export function parsePort(text: string): number | null {
  return scanCNumber(text, 0, text.length, 65535);
}

/** The port in text[from, to), as xtables reads one (see scanCNumber); null otherwise. */
export function scanPort(text: string, from: number, to: number): number | null {
  return scanCNumber(text, from, to, 65535);
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
 * A number as strtoul reads it with base 0 (what xtables uses for marks, ports, ids, reqids, spis):
 * "0x"/"0X" then hex, a leading 0 then octal ("010" is 8, "08" is refused), else decimal; the whole
 * text, at most `max`. Null when it is not such a number.
 */
export function parseCNumber(text: string, max: number): number | null {
  return scanCNumber(text, 0, text.length, max);
}

/** As parseCNumber, for text[from, to) (read without cutting the text). */
function scanCNumber(text: string, from: number, to: number, max: number): number | null {
  if (to <= from) return null;
  let base = 10;
  let i = from;
  if (text.charCodeAt(i) === 48 && to - from > 1) {
    if ((text.charCodeAt(i + 1) | 0x20) === 120) {
      base = 16;
      i += 2;
      if (i >= to) return null;
    } else base = 8;
  }
  let n = 0;
  for (; i < to; i++) {
    const c = text.charCodeAt(i);
    const lower = c | 0x20;
    const digit = c >= 48 && c <= 57 ? c - 48 : base === 16 && lower >= 97 && lower <= 102 ? lower - 87 : 99;
    if (digit >= base) return null;
    n = n * base + digit;
    if (n > max) return null;
  }
  return n;
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
