// Parsers for the values iptables options take (ports, marks, address lists),
// each returning null on bad input so the caller can name the token.
import { type IPv4Prefix, parseIPv4Prefix } from '../net';

export function parsePort(text: string): number | null {
  return scanPort(text, 0, text.length);
}

/** The port in text[from, to): one to five decimal digits, at most 65535; null otherwise. */
export function scanPort(text: string, from: number, to: number): number | null {
  if (to <= from || to - from > 5) return null;
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return null;
    n = n * 10 + (c - 48);
  }
  return n <= 65535 ? n : null;
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

export function parseUint32(text: string): number | null {
  if (!/^(0x[0-9a-fA-F]{1,8}|\d{1,10})$/.test(text)) return null;
  const n = Number(text);
  return n <= 0xffffffff ? n : null;
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
