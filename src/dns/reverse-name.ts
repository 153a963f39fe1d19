// Reverse-lookup names (in-addr.arpa, ip6.arpa) to addresses and back.
import { formatIP, parseIP } from '../model';
import { labelsOf } from './domain-name';

/** 1 for a name in in-addr.arpa, 2 for ip6.arpa, 0 otherwise (CoreDNS's dnsutil.IsReverse). */
export function reverseKind(name: string): 0 | 1 | 2 {
  const labels = labelsOf(name.toLowerCase());
  const tail = labels.slice(-2).join('.');
  if (tail === 'in-addr.arpa') return 1;
  if (tail === 'ip6.arpa') return 2;
  return 0;
}

/**
 * The address a complete reverse name stands for, or '' when the name is not a full
 * reverse name (too few labels, or a label that is not an octet or nibble).
 */
export function addressFromReverse(name: string): string {
  const parts = labelsOf(name.toLowerCase()).slice(0, -2).reverse();
  const kind = reverseKind(name);
  if (kind === 1) {
    if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p))) return '';
    return parseIP(parts.map(Number).join('.'))?.text ?? '';
  }
  if (kind === 2) {
    if (parts.length !== 32 || !parts.every((p) => /^[0-9a-f]$/.test(p))) return '';
    return formatIP('IPv6', BigInt(`0x${parts.join('')}`));
  }
  return '';
}

/** The reverse name of an address (`10.0.0.1` -> `1.0.0.10.in-addr.arpa.`). */
export function reverseNameOf(address: string): string {
  const ip = parseIP(address);
  if (ip === undefined) throw new Error(`reverseNameOf: ${address} is not an address`);
  if (ip.family === 'IPv4') return `${ip.text.split('.').reverse().join('.')}.in-addr.arpa.`;
  const nibbles = ip.value.toString(16).padStart(32, '0').split('').reverse();
  return `${nibbles.join('.')}.ip6.arpa.`;
}
