// "A.B.C.D:port" as ipvsadm reads and prints it with -n, and the order ipvsadm sorts services
// and servers in before printing them.

import { formatIPv4, type IPv4, parseIPv4 } from '../net';
import type { IpvsProtocol, RealServer, VirtualService } from './virtual-server';

export type AddrPort = { readonly address: IPv4; readonly port: number | null };

/**
 * parse_service with -n: an IPv4 address and an optional decimal port 0..65535. Returns the
 * reason in words when the text is not one.
 */
export function parseAddrPort(text: string): AddrPort | { readonly error: string } {
  if (text.startsWith('[') || (text.match(/:/g)?.length ?? 0) > 1) return { error: `IPv6 is not modelled "${text}"` };
  const colon = text.lastIndexOf(':');
  const addressText = colon < 0 ? text : text.slice(0, colon);
  const address = parseIPv4(addressText);
  if (address === null) return { error: `bad address "${text}"` };
  if (colon < 0) return { address, port: null };
  const portText = text.slice(colon + 1);
  if (!/^\d+$/.test(portText)) return { error: `bad port "${text}"` };
  const port = Number(portText);
  if (port > 65535) return { error: `port out of range "${text}"` };
  return { address, port };
}

export function formatAddrPort(address: IPv4, port: number): string {
  return `${formatIPv4(address)}:${port}`;
}

const PROTOCOL_NUMBER: Readonly<Record<IpvsProtocol, number>> = { tcp: 6, udp: 17, sctp: 132 };

/** C's `int r = u32 - u32`: the difference wraps to a signed 32-bit value, as libipvs compares. */
const cmp32 = (a: number, b: number): number => (a - b) | 0;

/** ipvs_cmp_services: protocol, then address, then port, each as the C subtraction. */
export function compareServices(a: VirtualService, b: VirtualService): number {
  return (
    cmp32(PROTOCOL_NUMBER[a.protocol], PROTOCOL_NUMBER[b.protocol]) ||
    cmp32(a.address, b.address) ||
    cmp32(a.port, b.port)
  );
}

/** ipvs_cmp_dests: address, then port. */
export function compareServers(a: RealServer, b: RealServer): number {
  return cmp32(a.address, b.address) || cmp32(a.port, b.port);
}
