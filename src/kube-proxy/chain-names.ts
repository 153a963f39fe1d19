// kube-proxy's chain names: a prefix and the first 16 characters of the base32
// SHA-256 of the service port name and protocol (and endpoint, for KUBE-SEP-),
// so names stay under iptables' 28-character limit and are stable across syncs.
import * as crypto from 'node:crypto';

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 of the first bytes needed for `chars` characters. */
export function base32Prefix(bytes: Uint8Array, chars: number): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
      if (out.length === chars) return out;
    }
    buffer &= (1 << bits) - 1;
  }
  return out;
}

/**
 * SHA-256 in one call where Node has crypto.hash (20.12 on): a sync names tens
 * of thousands of chains, and a Hash object per name costs three times as much.
 */
const sha256: (text: string) => Uint8Array =
  typeof crypto.hash === 'function'
    ? (text) => crypto.hash('sha256', text, 'buffer')
    : (text) => crypto.createHash('sha256').update(text).digest();

export function portProtoHash(servicePortName: string, protocol: string): string {
  return base32Prefix(sha256(servicePortName + protocol), 16);
}

export interface ServiceChains {
  readonly cluster: string;
  readonly local: string;
  readonly firewall: string;
  readonly external: string;
}

/** The per-service-port chains; `protocol` is lower case, as kube-proxy hashes it. */
export function serviceChains(servicePortName: string, protocol: string): ServiceChains {
  const hash = portProtoHash(servicePortName, protocol);
  return {
    cluster: `KUBE-SVC-${hash}`,
    local: `KUBE-SVL-${hash}`,
    firewall: `KUBE-FW-${hash}`,
    external: `KUBE-EXT-${hash}`,
  };
}

/** KUBE-SEP- chain of one endpoint ("IP:PORT"). */
export function endpointChain(servicePortName: string, protocol: string, endpoint: string): string {
  return `KUBE-SEP-${base32Prefix(sha256(servicePortName + protocol + endpoint), 16)}`;
}

const SERVICE_CHAIN_PREFIXES = ['KUBE-SVC-', 'KUBE-SVL-', 'KUBE-SEP-', 'KUBE-FW-', 'KUBE-EXT-'];

/** Chains kube-proxy owns per service (and deletes when stale). */
export function isServiceChainName(chain: string): boolean {
  return SERVICE_CHAIN_PREFIXES.some((p) => chain.startsWith(p));
}
