// IPv4/IPv6 addresses and CIDRs as the Kubernetes components read them: Go's sloppy
// parser (leading zeros are decimal), canonical printing as Go's net.IP.String() does.
import type * as IpNum from 'ip-num';
import { requiredWhenNeeded } from './required-when-needed';

/**
 * ip-num, loaded when an IPv6 address is first read: the library works out IPv6 ranges as it
 * loads, which cost every knetsim command about 50 ms at start, and most never see IPv6.
 */
const ipNum = requiredWhenNeeded<typeof IpNum>('ip-num');

export type IPFamily = 'IPv4' | 'IPv6';

export const IP_FAMILIES: readonly IPFamily[] = ['IPv4', 'IPv6'];

export interface ParsedIP {
  readonly family: IPFamily;
  readonly value: bigint;
  /** Canonical text: `172.30.0.41`, `2001:db8::1`. */
  readonly text: string;
  /** An IPv4 octet was written with leading zeros (legacy objects such as `172.30.0.041`). */
  readonly leadingZeros: boolean;
}

export interface ParsedCIDR {
  readonly family: IPFamily;
  /** The network address (host bits cleared, as Go's ParseCIDR returns it). */
  readonly network: bigint;
  readonly prefixLength: number;
  /** Canonical `network/length`. */
  readonly text: string;
  readonly leadingZeros: boolean;
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const MAPPED_V4_PREFIX = 0xffffn << 32n;

export function addressBits(family: IPFamily): number {
  return family === 'IPv4' ? 32 : 128;
}

function parseIPv4(text: string): ParsedIP | undefined {
  const m = IPV4.exec(text);
  if (!m) return undefined;
  let value = 0n;
  let leadingZeros = false;
  for (let i = 1; i <= 4; i++) {
    const part = m[i]!;
    const octet = Number(part);
    if (octet > 255) return undefined;
    if (part.length > 1 && part.startsWith('0')) leadingZeros = true;
    value = (value << 8n) | BigInt(octet);
  }
  return { family: 'IPv4', value, text: formatIP('IPv4', value), leadingZeros };
}

function parseIPv6(text: string): ParsedIP | undefined {
  // Go's net.ParseIP has no zone support; ip-num would accept `fe80::1%eth0`.
  if (text.includes('%') || !ipNum().Validator.isValidIPv6String(text)[0]) return undefined;
  let value: bigint;
  try {
    value = ipNum().IPv6.fromString(text).value;
  } catch {
    return undefined;
  }
  // Go treats an IPv4-mapped IPv6 address as IPv4 (To4() != nil).
  if (value >> 32n === 0xffffn) {
    const v4 = value - MAPPED_V4_PREFIX;
    return { family: 'IPv4', value: v4, text: formatIP('IPv4', v4), leadingZeros: false };
  }
  return { family: 'IPv6', value, text: formatIP('IPv6', value), leadingZeros: false };
}

export function parseIP(text: string): ParsedIP | undefined {
  return text.includes(':') ? parseIPv6(text) : parseIPv4(text);
}

export function ipFamilyOf(text: string): IPFamily | undefined {
  return parseIP(text)?.family;
}

/**
 * The family of an address or CIDR the model already canonicalised: IPv6 text always
 * has a colon (IPv4-mapped addresses were rewritten dotted). Cheap enough for hot loops.
 */
export function familyOf(canonical: string): IPFamily {
  return canonical.includes(':') ? 'IPv6' : 'IPv4';
}

export function formatIP(family: IPFamily, value: bigint): string {
  if (family === 'IPv4') {
    return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 255n)).join('.');
  }
  const groups: number[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) groups.push(Number((value >> shift) & 0xffffn));
  // RFC 5952 (and Go): compress the longest run of two or more zero groups, the first on a tie.
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

export function parseCIDR(text: string): ParsedCIDR | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const ip = parseIP(text.slice(0, slash));
  const lengthText = text.slice(slash + 1);
  if (!ip || !/^\d{1,3}$/.test(lengthText)) return undefined;
  const prefixLength = Number(lengthText);
  const bits = addressBits(ip.family);
  if (prefixLength > bits) return undefined;
  const network = ip.value & prefixMask(ip.family, prefixLength);
  return {
    family: ip.family,
    network,
    prefixLength,
    text: `${formatIP(ip.family, network)}/${prefixLength}`,
    leadingZeros: ip.leadingZeros,
  };
}

function prefixMask(family: IPFamily, prefixLength: number): bigint {
  const bits = BigInt(addressBits(family));
  const all = (1n << bits) - 1n;
  return (all << (bits - BigInt(prefixLength))) & all;
}

export function cidrSize(cidr: ParsedCIDR): bigint {
  return 1n << BigInt(addressBits(cidr.family) - cidr.prefixLength);
}

export function cidrContains(cidr: ParsedCIDR, ip: ParsedIP): boolean {
  return ip.family === cidr.family && (ip.value & prefixMask(cidr.family, cidr.prefixLength)) === cidr.network;
}

export function cidrsOverlap(a: ParsedCIDR, b: ParsedCIDR): boolean {
  if (a.family !== b.family) return false;
  const shorter = Math.min(a.prefixLength, b.prefixLength);
  const mask = prefixMask(a.family, shorter);
  return (a.network & mask) === (b.network & mask);
}

/** The CIDR of the given length that contains `ip` (e.g. the /24 around a node address). */
export function enclosingCIDR(ip: ParsedIP, prefixLength: number): ParsedCIDR {
  const network = ip.value & prefixMask(ip.family, prefixLength);
  return {
    family: ip.family,
    network,
    prefixLength,
    text: `${formatIP(ip.family, network)}/${prefixLength}`,
    leadingZeros: false,
  };
}

/** `ip:port` as Go's net.JoinHostPort writes it (IPv6 in brackets). */
export function joinHostPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}
