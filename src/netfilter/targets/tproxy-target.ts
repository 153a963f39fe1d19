// TPROXY (Cilium's and Istio's transparent proxies) and CHECKSUM (libvirt's DHCP
// fix-up): mangle-table targets seen in real nodes' dumps.
import { formatIPv4, SERVICE_PORTS } from '../../net';
import type { NfPacket, ParsedOption, TargetExtension } from '../extension';
import { hex, hostAddress, parseMarkMask } from '../values';

/**
 * A port as getaddrinfo reads a service (libxt_TPROXY's --on-port): a number as strtoul reads it in
 * base 10 (a sign allowed; past an unsigned long it saturates), which glibc keeps in an int and
 * refuses when negative, and htons keeps to 16 bits ("70000" is 4464, "4294967296" is 0,
 * "2147483648" is refused); or a service name of any protocol; null otherwise.
 */
export function getaddrinfoPort(text: string): number | null {
  const m = /^([+-]?)(\d+)$/.exec(text);
  if (!m) return SERVICE_PORTS.get(text) ?? null;
  const ULONG = 1n << 64n;
  const magnitude = BigInt(m[2]!);
  const value = magnitude >= ULONG ? ULONG - 1n : m[1] === '-' ? (ULONG - magnitude) % ULONG : magnitude;
  const int = value & 0xffffffffn;
  return int >= 0x80000000n ? null : Number(int & 0xffffn);
}

/** What xt_TPROXY keeps: the proxy's port and address (0: the incoming device's), and the mark to set. */
export interface TproxySpec {
  readonly port: number;
  readonly address: number;
  readonly markValue: number;
  readonly markMask: number;
}

/** The options as the kernel keeps them: --tproxy-mark without a mask is all ones; no option, 0x0/0x0. */
export function tproxySpec(options: readonly ParsedOption[]): TproxySpec | string {
  const portText = options.find((o) => o.name === '--on-port')?.args[0];
  if (portText === undefined) return 'option "--on-port" must be specified';
  const port = getaddrinfoPort(portText);
  if (port === null) return `Port "${portText}" does not resolve to anything.`;
  const ipText = options.find((o) => o.name === '--on-ip')?.args[0];
  const address = ipText === undefined ? 0 : hostAddress(ipText);
  if (address === null) return `host/network "${ipText}" not found`;
  const markText = options.find((o) => o.name === '--tproxy-mark')?.args[0];
  const mark = markText === undefined ? { value: 0, mask: 0 } : parseMarkMask(markText);
  if (mark === null) return `bad --tproxy-mark "${markText}"`;
  return { port, address, markValue: mark.value, markMask: mark.mask };
}

/**
 * tproxy_tg4: the packet is handed to the transparent proxy listening on the address and port (the
 * rules are there because it runs: knetsim takes it to listen), marked, and accepted by the table;
 * policy routing (a fwmark rule to a `local default` table) must then deliver it here, since a
 * packet with a socket is not forwarded. The kernel drops it when no transparent socket listens.
 */
export const tproxyTarget: TargetExtension = {
  name: 'TPROXY',
  options: [
    { name: '--on-port', args: 1 },
    { name: '--on-ip', args: 1 },
    { name: '--tproxy-mark', args: 1 },
  ],
  tables: ['mangle'],
  hooks: ['PREROUTING'],
  compile(options, facts) {
    const spec = tproxySpec(options);
    if (typeof spec === 'string') return spec;
    // tproxy_tg4_check: the rule must say -p tcp or -p udp (not negated).
    if (facts.protocol !== 'tcp' && facts.protocol !== 'udp') return 'Can be used only with -p tcp or -p udp';
    const address = spec.address === 0 ? "the incoming device's address" : formatIPv4(spec.address);
    return {
      kind: 'CONTINUE',
      accepts: true,
      apply: (p: NfPacket) => {
        const before = p.mark;
        p.mark = ((p.mark & ~spec.markMask) ^ spec.markValue) >>> 0;
        // --on-port 0: the packet's own destination port (tproxy_tg4: `if (!lport) lport = hp->dest`).
        const port = spec.port === 0 ? p.dport : spec.port;
        p.assignedSocket = { address: spec.address, port };
        return `TPROXY: handed to the transparent proxy on ${address}:${port}, mark ${hex(before)} -> ${hex(p.mark)}, accepted`;
      },
    };
  },
};

/** CHECKSUM --checksum-fill: fills in a checksum the sender left to offloading; knetsim keeps no checksums. */
export const checksumTarget: TargetExtension = {
  name: 'CHECKSUM',
  options: [{ name: '--checksum-fill', args: 0 }],
  tables: ['mangle'],
  compile(options) {
    if (options.length === 0) return 'option "--checksum-fill" must be specified';
    return { kind: 'CONTINUE', apply: () => 'checksum filled in' };
  },
};
