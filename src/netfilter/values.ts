// Parsers for the values iptables options take (ports, marks, address lists),
// each returning null on bad input so the caller can name the token.
import {
  formatIPv4,
  type IPv4Prefix,
  maskOf,
  parseCNumber,
  parseInetAton,
  readIPv4Prefix,
  SERVICE_PORTS,
  scanCNumber,
} from '../net';

// The C-notation number reader is the network layer's; iptables options read numbers with it.
export { parseCNumber };

/**
 * Where an extension looks a port name up: libxt_tcp in TCP's services, libxt_sctp in SCTP's,
 * multiport in the rule's protocol's (getservbyname(name, proto)); libxt_udp, conntrack and the NAT
 * targets in every protocol's (getaddrinfo: "ntp" is 123).
 */
export type ServiceNames = ReadonlyMap<string, number>;

/** A port as xtables reads one: a number (see scanCNumber), or a service's name (ssh is 22). */
export function parsePort(text: string, services: ServiceNames = SERVICE_PORTS): number | null {
  return scanPort(text, 0, text.length, services);
}

/** A port number alone in text[from, to) (what iptables reads at either end of a NAT port range). */
export function scanPortNumber(text: string, from: number, to: number): number | null {
  return scanCNumber(text, from, to, 65535);
}

/** The port in text[from, to), as parsePort reads one; null otherwise. */
export function scanPort(
  text: string,
  from: number,
  to: number,
  services: ServiceNames = SERVICE_PORTS,
): number | null {
  const n = scanCNumber(text, from, to, 65535);
  if (n !== null || to <= from) return n;
  // Seldom: a name (iptables-save prints numbers).
  return services.get(text.slice(from, to)) ?? null;
}

/** "80", "80:90" (":90" and "80:" are open ranges, as xtables_parse_multi_ranges allows). */
export function parsePortRange(
  text: string,
  services: ServiceNames = SERVICE_PORTS,
): { min: number; max: number } | null {
  const colon = text.indexOf(':');
  if (colon < 0) {
    const p = parsePort(text, services);
    return p === null ? null : { min: p, max: p };
  }
  const minText = text.slice(0, colon);
  const maxText = text.slice(colon + 1);
  const min = minText === '' ? 0 : parsePort(minText, services);
  const max = maxText === '' ? 65535 : parsePort(maxText, services);
  if (min === null || max === null || min > max) return null;
  return { min, max };
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

/**
 * -s/-d's address as xtables reads it (xtables_numeric_to_ipaddr): one to four parts, each a
 * number in C's notation (0x hex, a leading 0 octal) of at most 255, missing trailing parts 0:
 * "10.1" is 10.1.0.0 and "010.0.0.1" is 8.0.0.1. Null when the text is no such address.
 */
function scanXtablesAddress(text: string, from: number, to: number): number | null {
  let value = 0;
  let parts = 0;
  let start = from;
  for (let i = from; i <= to; i++) {
    if (i < to && text.charCodeAt(i) !== 46) continue;
    if (++parts > 4) return null;
    const octet = scanCNumber(text, start, i, 255);
    if (octet === null) return null;
    value = value * 256 + octet;
    start = i + 1;
  }
  return value * 256 ** (4 - parts);
}

/** Whether an address part starts with a 0 that C's notation reads as octal or hex ("010", "0x0a"). */
function hasCNotationOctet(text: string, from: number, to: number): boolean {
  for (let i = from; i < to - 1; i++)
    if ((i === from || text.charCodeAt(i - 1) === 46) && text.charCodeAt(i) === 48) {
      const next = text.charCodeAt(i + 1);
      if ((next >= 48 && next <= 57) || (next | 0x20) === 120) return true;
    }
  return false;
}

/**
 * Names getaddrinfo finds in a Debian node's /etc/hosts for IPv4 (iptables resolves a host name
 * when the text is no number); other names would need that node's resolver, and are refused.
 */
const HOSTS: ReadonlyMap<string, number> = new Map([['localhost', 0x7f000001]]);

/**
 * An address as xtables reads one (xtables_ipparse_any): its own numeric form first
 * (scanXtablesAddress: "10.1" is 10.1.0.0), then getaddrinfo's: inet_aton's numbers ("10.256" is
 * 10.0.1.0, "167772161" and "0x0a000001" are 10.0.0.1) and /etc/hosts names ("localhost").
 */
function xtablesAddress(text: string, from: number, to: number): number | null {
  const own = scanXtablesAddress(text, from, to);
  return own ?? hostAddress(text.slice(from, to));
}

/** An address as getaddrinfo finds a host: inet_aton's numbers, then /etc/hosts names (TPROXY's --on-ip too). */
export function hostAddress(text: string): number | null {
  return parseInetAton(text) ?? HOSTS.get(text.toLowerCase()) ?? null;
}

/**
 * One -s/-d prefix into `into`, as iptables reads it. The usual dotted quad goes the fast way
 * (readIPv4Prefix); any other address form is read as xtables reads it, and a mask length in C's
 * notation ("/0x10" is /16) as its strtoul does. False when the text is no prefix (a mask with
 * holes is refused: knetsim keeps a prefix length).
 */
export function readRulePrefix(text: string, into: { address: number; length: number }): boolean {
  const slash = text.indexOf('/');
  const end = slash < 0 ? text.length : slash;
  if (!hasCNotationOctet(text, 0, end) && readIPv4Prefix(text, into)) return true;
  const address = xtablesAddress(text, 0, end);
  if (address === null) return false;
  if (slash >= 0 && !text.includes('.', slash)) {
    const length = scanCNumber(text, slash + 1, text.length, 32);
    if (length === null) return false;
    into.address = (address & maskOf(length)) >>> 0;
    into.length = length;
    return true;
  }
  // A dotted mask as readIPv4Prefix reads it, on the dotted form of the address.
  return readIPv4Prefix(`${formatIPv4(address)}${slash < 0 ? '' : text.slice(slash)}`, into);
}

/** A comma-separated list of prefixes (-s/-d accept several), each read as readRulePrefix reads it. */
export function parsePrefixList(text: string): IPv4Prefix[] | null {
  const out: IPv4Prefix[] = [];
  for (const part of text.split(',')) {
    const p = { address: 0, length: 0 };
    if (!readRulePrefix(part, p)) return null;
    out.push(p);
  }
  return out;
}

/**
 * An option's text as the kernel keeps it: cut to the bytes its field holds (iptables cuts a longer
 * comment, log prefix or recent list name; it does not refuse one). Empty when the option is absent.
 */
export function keptText(o: { readonly args: readonly string[] } | undefined, max: number): string {
  const text = o?.args[0] ?? '';
  if (text.length <= max / 3) return text;
  const bytes = Buffer.from(text);
  if (bytes.length <= max) return text;
  // Cut at a character's start, not inside one (a half character would print as U+FFFD).
  let end = max;
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString();
}

export function hex(n: number): string {
  return `0x${(n >>> 0).toString(16)}`;
}

/** A byte as libxt_tos, libxt_dscp and their targets print it: "0x%02x". */
export function hexByte(n: number): string {
  return `0x${n.toString(16).padStart(2, '0')}`;
}

/** xtables' words for a number outside an option's range. */
export function outOfRange(option: string, min: number, max: number): string {
  return `bad value for option "${option}", or out of range (${min}-${max}).`;
}

/**
 * xtables' words when two options that exclude each other are both given (null when not): the
 * later one named first, as the parser meets it.
 */
export function excludeEachOther(options: readonly { readonly name: string }[], a: string, b: string): string | null {
  const first = options.findIndex((o) => o.name === a || o.name === b);
  const second = options.findIndex(
    (o, i) => i > first && (o.name === a || o.name === b) && o.name !== options[first]!.name,
  );
  if (first < 0 || second < 0) return null;
  return `option "${options[second]!.name}" cannot be used together with "${options[first]!.name}".`;
}
