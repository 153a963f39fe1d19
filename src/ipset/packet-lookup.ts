// From a packet to the look-up key `-m set --match-set NAME src,dst` builds: each flag picks the
// source or destination field for one dimension, as the kernel's kadt functions do.

import type { IPv4 } from '../net/ipv4';
import type { IpsetLookup } from './membership';
import { IPPROTO, protocolHasPorts } from './protocol';
import { ok, type Problem, problem, type Result } from './result';
import { type IpsetType, SET_TYPES } from './set-type';

export type SetFlag = 'src' | 'dst';

/** The packet fields a set match reads. Ports for tcp/udp/sctp/udplite, type/code for ICMP. */
export interface PacketFields {
  readonly src: IPv4;
  readonly dst: IPv4;
  readonly proto: number;
  readonly sport?: number;
  readonly dport?: number;
  readonly icmpType?: number;
  readonly icmpCode?: number;
  /** A non-first fragment: it carries no ports, so port dimensions cannot match it. */
  readonly laterFragment?: boolean;
}

/** The kernel accepts at most six direction flags (IPSET_DIM_MAX). */
const MAX_FLAGS = 6;

/** Reads the direction flags of `--match-set NAME src,dst`. */
export function parseSetFlags(text: string): Result<SetFlag[], Problem> {
  const flags = text.split(',');
  if (flags.length > MAX_FLAGS) return problem(text, `"${text}" has more than ${MAX_FLAGS} direction flags`);
  for (const flag of flags) {
    if (flag !== 'src' && flag !== 'dst') return problem(text, `"${flag}" in "${text}" is neither src nor dst`);
  }
  return ok(flags as SetFlag[]);
}

// ip_set_get_ip4_port: the protocol and the port (ICMP type/code, 0 for portless protocols).
function portOf(packet: PacketFields, src: boolean): { proto: number; port: number } | null {
  const { proto } = packet;
  if (proto <= 0) return null;
  const readsHeader = protocolHasPorts(proto) || proto === IPPROTO.ICMP;
  if (packet.laterFragment) return readsHeader ? null : { proto, port: 0 };
  if (protocolHasPorts(proto)) {
    const port = src ? packet.sport : packet.dport;
    return port === undefined ? null : { proto, port };
  }
  if (proto === IPPROTO.ICMP) {
    if (packet.icmpType === undefined) return null;
    return { proto, port: ((packet.icmpType & 255) << 8) | ((packet.icmpCode ?? 0) & 255) };
  }
  return { proto, port: 0 };
}

/**
 * The look-up the kernel builds from `packet` for a set of `type` matched with `flags`, or null
 * when the kernel would not match at all: fewer flags than the set has dimensions, no port to
 * read, or (bitmap:port) a protocol other than tcp and udp.
 */
export function elementForFlags(type: IpsetType, flags: readonly SetFlag[], packet: PacketFields): IpsetLookup | null {
  const dims = SET_TYPES[type].dimensions;
  if (flags.length < dims.length) return null;
  const lookup: { ip?: IPv4; proto?: number; port?: number; ip2?: IPv4 } = {};
  for (let i = 0; i < dims.length; i++) {
    const src = flags[i] === 'src';
    switch (dims[i]) {
      case 'ip':
      case 'net':
        lookup.ip = src ? packet.src : packet.dst;
        break;
      case 'ip2':
      case 'net2':
        lookup.ip2 = src ? packet.src : packet.dst;
        break;
      case 'port': {
        const port = portOf(packet, src);
        if (port === null) return null;
        if (type === 'bitmap:port' && port.proto !== IPPROTO.TCP && port.proto !== IPPROTO.UDP) return null;
        lookup.proto = port.proto;
        lookup.port = port.port;
        break;
      }
    }
  }
  return lookup;
}
