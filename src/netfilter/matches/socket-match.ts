// -m socket (xt_socket): whether the packet belongs to a socket on this host.
// Cilium and Istio's TPROXY set-ups mark a transparent proxy's traffic with it.
import type { MatchEnv, MatchExtension, NfPacket } from '../extension';

/** The local socket a packet meets, as far as knetsim knows one: bound to the wildcard address, transparent. */
interface LocalSocket {
  readonly wildcard: boolean;
  readonly transparent: boolean;
}

const ESTABLISHED: LocalSocket = { wildcard: false, transparent: false };
const WILDCARD_LISTENER: LocalSocket = { wildcard: true, transparent: false };
const TPROXY_BOUND: LocalSocket = { wildcard: false, transparent: true };
const TPROXY_WILDCARD: LocalSocket = { wildcard: true, transparent: true };

/**
 * nf_sk_lookup_slow_v4 for TCP and UDP (other protocols have none): the socket TPROXY assigned to
 * the packet; else an established socket of this host (the packet answers a connection a local
 * socket opened: the lookup uses the original source of an SNATed one; or it belongs to a
 * connection a local socket accepted); else a listener on the destination. Which local addresses
 * servers bind is not in any dump: as the trace's "delivered to a local socket" does, knetsim takes
 * a local destination to have a listener, bound to the wildcard address as servers usually are.
 */
function localSocketOf(p: NfPacket, env: MatchEnv): LocalSocket | null {
  if (p.protocol !== 'tcp' && p.protocol !== 'udp') return null;
  const assigned = p.assignedSocket;
  if (assigned) return assigned.address === 0 ? TPROXY_WILDCARD : TPROXY_BOUND;
  const ct = p.ct;
  if (ct !== null && ct.state === 'ESTABLISHED') {
    if (ct.direction === 'REPLY' && env.addrType(ct.original.src, null) === 'LOCAL') return ESTABLISHED;
    if (ct.direction === 'ORIGINAL' && env.addrType(p.dst, null) === 'LOCAL') return ESTABLISHED;
  }
  return env.addrType(p.dst, null) === 'LOCAL' ? WILDCARD_LISTENER : null;
}

export const socketMatch: MatchExtension = {
  name: 'socket',
  options: [
    { name: '--transparent', args: 0 },
    { name: '--nowildcard', args: 0 },
    { name: '--restore-skmark', args: 0 },
  ],
  hooks: ['PREROUTING', 'INPUT'],
  compile(options) {
    const transparent = options.some((o) => o.name === '--transparent');
    const nowildcard = options.some((o) => o.name === '--nowildcard');
    const restoreMark = options.some((o) => o.name === '--restore-skmark');
    // A socket bound to the wildcard address is passed over unless --nowildcard; a non-transparent
    // one when --transparent. --restore-skmark copies the socket's mark (none on knetsim's sockets).
    return {
      test: (p, env) => {
        const socket = localSocketOf(p, env);
        return socket !== null && (!socket.wildcard || nowildcard) && (!transparent || socket.transparent);
      },
      ...(restoreMark
        ? {
            effect: (p: NfPacket) => {
              p.mark = 0;
            },
          }
        : {}),
    };
  },
};
