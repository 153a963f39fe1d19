// What ip_forward / ip_output do with a packet larger than the outgoing
// device's MTU: with DF set it is dropped and the sender gets ICMP
// "fragmentation needed" (type 3 code 4) carrying the MTU; without DF it is
// split into fragments whose payloads are multiples of 8 bytes.
import { IPV4_HEADER } from './header-sizes';
import type { Packet } from './packet';

export type MtuVerdict =
  | { readonly kind: 'fits' }
  | { readonly kind: 'frag-needed'; readonly mtu: number; readonly icmp: { readonly type: 3; readonly code: 4 } }
  | { readonly kind: 'fragmented'; readonly fragments: readonly Packet[] };

export function checkMtu(packet: Packet, mtu: number): MtuVerdict {
  if (packet.length <= mtu) return { kind: 'fits' };
  if (packet.df) return { kind: 'frag-needed', mtu, icmp: { type: 3, code: 4 } };
  const perFragment = Math.floor((mtu - IPV4_HEADER) / 8) * 8;
  let left = packet.length - IPV4_HEADER;
  const fragments: Packet[] = [];
  while (left > 0) {
    const data = Math.min(perFragment, left);
    fragments.push({ ...packet, length: data + IPV4_HEADER, fragment: true });
    left -= data;
  }
  return { kind: 'fragmented', fragments };
}
