// The port part of an element, "[proto:]port[-port]": ipset defaults the protocol to tcp, reads
// ICMP type/code in place of a port, and allows only the pseudo port 0 for portless protocols.

import { SCTP_SERVICE_PORTS, TCP_SERVICE_PORTS, UDP_SERVICE_PORTS } from '../net';
import { formatIcmpType, parseIcmpType } from './icmp-type';
import { numberReason, parseUnsigned } from './number-text';
import { IPPROTO, protocolHasPorts, protocolName, protocolNumber } from './protocol';
import { err, ok, type Result } from './result';

/** A protocol with an inclusive range of ports (a single ICMP type/code has first === last). */
export interface PortRange {
  readonly proto: number;
  readonly first: number;
  readonly last: number;
}

/** The services ipset resolves a port name in, by the element's protocol (getservbyname(name, proto)). */
const SERVICES_OF: Readonly<Record<string, ReadonlyMap<string, number>>> = {
  tcp: TCP_SERVICE_PORTS,
  udp: UDP_SERVICE_PORTS,
  sctp: SCTP_SERVICE_PORTS,
};

function parsePort(text: string, protoName: string): Result<number, string> {
  const value = parseUnsigned(text, 65535) ?? serviceNamed(text, protoName);
  if (value !== null) return ok(value);
  return err(`${numberReason(text, `${protoName} port`, 0, 65535)}`);
}

function serviceNamed(text: string, protoName: string): number | null {
  const services = Object.hasOwn(SERVICES_OF, protoName) ? SERVICES_OF[protoName]! : undefined;
  return services?.get(text) ?? null;
}

/** Reads the port part of an element; the protocol defaults to tcp, as ipset does. */
export function parsePortSpec(text: string): Result<PortRange, string> {
  const colon = text.indexOf(':');
  let proto: number = IPPROTO.TCP;
  let portText = text;
  if (colon >= 0) {
    const name = text.slice(0, colon);
    const resolved = protocolNumber(name);
    if (resolved === null) return err(`"${name}" is not a protocol`);
    if (resolved === IPPROTO.ICMPV6) return err('protocol ipv6-icmp can be used with family inet6 only');
    proto = resolved;
    portText = text.slice(colon + 1);
  }
  const name = protocolName(proto);
  if (proto === IPPROTO.ICMP) {
    const value = parseIcmpType(portText);
    if (value === null) return err(`"${portText}" is not an ICMP type name or TYPE/CODE`);
    return ok({ proto, first: value, last: value });
  }
  // ipset splits at the first '-' before it looks names up ("http-alt" is http to "alt", refused).
  const dash = portText.indexOf('-');
  const first = parsePort(dash < 0 ? portText : portText.slice(0, dash), name);
  if (!first.ok) return first;
  const last = dash < 0 ? first : parsePort(portText.slice(dash + 1), name);
  if (!last.ok) return last;
  if (!protocolHasPorts(proto) && (first.value !== 0 || last.value !== 0)) {
    return err(`protocol ${name} can be used with pseudo port value 0 only`);
  }
  return ok({ proto, first: Math.min(first.value, last.value), last: Math.max(first.value, last.value) });
}

/** The port part as ipset save prints it: always with its protocol ("tcp:80", "icmp:echo-reply"). */
export function formatPortSpec(proto: number, port: number): string {
  return `${protocolName(proto)}:${proto === IPPROTO.ICMP ? formatIcmpType(port) : port}`;
}
