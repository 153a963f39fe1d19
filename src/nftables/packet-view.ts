// What nft expressions read from a packet, kept apart from any one packet type:
// the engine fills it from its own packet, conntrack entry and routing tables.
import type { IPv4, L4Protocol } from '../net';

export interface NftPacketView {
  readonly src: IPv4;
  readonly dst: IPv4;
  readonly protocol: L4Protocol;
  readonly sport: number;
  readonly dport: number;
  readonly mark: number;
  readonly iifname: string | null;
  readonly oifname: string | null;
  /** `ct state`: new, established, related, invalid or untracked. */
  readonly ctState: string;
  /** `ct status` bits set on the connection (dnat, snat, seen-reply, assured, confirmed). */
  readonly ctStatus: readonly string[];
  readonly ctMark: number;
  /** `ct zone`: the zone the packet's connection is in (0 unless CT/ct zone set put it elsewhere). */
  readonly ctZone?: number;
  /**
   * What `fib ADDR type` answers for an address: local, unicast, broadcast, multicast...; with a
   * device, as the kernel answers it for that device only (`. iif`/`. oif`: addrtype --limit-iface-in).
   */
  fibType(address: IPv4, device?: string | null): string;
  /**
   * The device the route to an address leaves by (with that mark), null when there is none: `fib ...
   * oif`. A multipath route answers `prefer` when one of its paths leaves by it.
   */
  fibDevice?(address: IPv4, from: IPv4, mark: number, prefer: string | null): string | null;
  /** The IP header's TTL, TOS byte (`ip dscp` is its upper six bits, `ip ecn` the lower two) and total length. */
  readonly ttl?: number;
  readonly tos?: number;
  readonly length?: number;
  /** `tcp flags`: the TCP header's flag bits (null for another protocol). */
  readonly tcpFlags?: number | null;
  /** `ct direction`: original or reply (null without a connection). */
  readonly ctDirection?: 'original' | 'reply' | null;
  /** `meta skuid`/`skgid`: the owner of the local socket that sent the packet (null: none). */
  readonly socketUid?: number | null;
  readonly socketGid?: number | null;
}
