// flannel host-gw vs VXLAN: bytes on the underlay for TCP transfers of a few
// sizes, computed by pushing each segment through knetsim's own MTU check and
// VXLAN encapsulation (src/net). The pod MTU is what flannel gives cni0:
// the underlay's for host-gw, 50 bytes less for VXLAN; TCP's MSS follows it, and
// every segment carries Linux's timestamp option (tcp_timestamps=1, 12 bytes), as
// the kernel harness measures.
import {
  checkMtu,
  ETHERNET_HEADER,
  IPV4_HEADER,
  makePacket,
  parseIPv4,
  TCP_HEADER,
  vxlanEncapsulate,
} from '../src/net';

export interface WireRow {
  readonly payload: number;
  readonly segments: { readonly hostGw: number; readonly vxlan: number };
  readonly wireBytes: { readonly hostGw: number; readonly vxlan: number };
}

const POD_A = parseIPv4('10.244.1.5')!;
const POD_B = parseIPv4('10.244.2.7')!;
const VTEP = { name: 'flannel.1', vni: 1, port: 8472, local: parseIPv4('192.168.1.11')! };
const REMOTE = parseIPv4('192.168.1.12')!;

/** TCP's timestamp option with its padding: on by default in Linux, in every segment once agreed. */
export const TCP_TIMESTAMPS = 12;

function segmentLengths(payload: number, podMTU: number): number[] {
  const header = TCP_HEADER + TCP_TIMESTAMPS;
  const mss = podMTU - IPV4_HEADER - header;
  const out: number[] = [];
  for (let left = payload; left > 0; left -= mss) out.push(Math.min(mss, left) + IPV4_HEADER + header);
  return out;
}

/** Frame bytes one direction of a transfer puts on the underlay (data segments only, no ACKs or handshake). */
function wireBytes(payload: number, underlayMTU: number, vxlan: boolean): { segments: number; bytes: number } {
  const podMTU = vxlan ? underlayMTU - 50 : underlayMTU;
  let bytes = 0;
  const lengths = segmentLengths(payload, podMTU);
  for (const length of lengths) {
    const inner = { ...makePacket({ src: POD_A, dst: POD_B, protocol: 'tcp', dport: 80, length }), tcpFlags: null };
    if (checkMtu(inner, podMTU).kind !== 'fits') throw new Error(`segment of ${length} B exceeds the pod MTU`);
    if (!vxlan) {
      bytes += length + ETHERNET_HEADER;
      continue;
    }
    const e = vxlanEncapsulate(inner, VTEP, REMOTE);
    if (checkMtu(e.outer, underlayMTU).kind !== 'fits')
      throw new Error('encapsulated segment exceeds the underlay MTU');
    bytes += e.frameBytes;
  }
  return { segments: lengths.length, bytes };
}

export function wireOverhead(payloads: readonly number[], underlayMTU = 1500): WireRow[] {
  return payloads.map((payload) => {
    const h = wireBytes(payload, underlayMTU, false);
    const v = wireBytes(payload, underlayMTU, true);
    return {
      payload,
      segments: { hostGw: h.segments, vxlan: v.segments },
      wireBytes: { hostGw: h.bytes, vxlan: v.bytes },
    };
  });
}
