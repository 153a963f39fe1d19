// The --from / --to forms of the command line: addresses, IP:PORT, protocols.
import { type IPv4, type L4Protocol, parseIPv4 } from '../net';
import { parseIcmpType } from '../netfilter';
import { UserError } from './user-error';

export function parseAddressArg(text: string, what: string): IPv4 {
  const a = parseIPv4(text);
  if (a === null) throw new UserError(`${what}: "${text}" is not an IPv4 address`);
  return a;
}

export function parseHostPort(text: string, what: string): { address: IPv4; port: number } {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d+)$/.exec(text);
  if (!m) throw new UserError(`${what}: "${text}" is not IP:PORT`);
  const port = Number(m[2]);
  if (port < 1 || port > 65535) throw new UserError(`${what}: ${port} is not a port (1-65535)`);
  return { address: parseAddressArg(m[1]!, what), port };
}

export function parseProtocolArg(text: string | undefined): L4Protocol {
  const p = (text ?? 'tcp').toLowerCase();
  if (p !== 'tcp' && p !== 'udp' && p !== 'sctp' && p !== 'icmp')
    throw new UserError(`--proto: "${text}" is not tcp, udp, sctp or icmp`);
  return p;
}

/**
 * Where a packet goes: IP:PORT, or for ICMP (no ports) the address alone; the port of an
 * ICMP destination is 0 (the packet's type and code take the ports' places later).
 */
export function parseDestinationArg(text: string, proto: L4Protocol, what: string): { address: IPv4; port: number } {
  if (proto !== 'icmp') return parseHostPort(text, what);
  if (/^[\d.]+:\d+$/.test(text))
    throw new UserError(`${what}: "${text}": an ICMP packet has no port; give the address alone`);
  return { address: parseAddressArg(text, what), port: 0 };
}

/** --icmp-type: a name iptables knows (echo-request, port-unreachable, ...) or TYPE[/CODE], as type and code. */
export function parseIcmpTypeArg(text: string): { type: number; code: number } {
  const t = parseIcmpType(text);
  if (t === null || t.type < 0)
    throw new UserError(
      `--icmp-type: "${text}" is not an ICMP type (a name as iptables -m icmp takes it, or TYPE[/CODE])`,
    );
  return { type: t.type, code: t.code ?? 0 };
}
