// kube-proxy's chain names: a prefix and the first 16 characters of the base32
// SHA-256 of the service port name and protocol (and endpoint, for KUBE-SEP-),
// so names stay under iptables' 28-character limit and are stable across syncs.
import * as crypto from 'node:crypto';

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/**
 * RFC 4648 base32 of the first `chars` characters' worth of SHA-256(text), as
 * kube-proxy names its chains. The digest comes as a 'binary' (latin1) string (one
 * character a byte): Node makes a Buffer for a binary digest three times more
 * slowly, and a sync names tens of thousands of chains.
 */
export function sha256Base32(text: string, chars: number): string {
  const bytes = sha256Latin1(text);
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (let i = 0; i < bytes.length; i++) {
    buffer = (buffer << 8) | bytes.charCodeAt(i);
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

/** SHA-256 in one call where Node has crypto.hash (20.12 on): a Hash object per name costs several times as much. */
const sha256Latin1: (text: string) => string =
  typeof crypto.hash === 'function'
    ? (text) => crypto.hash('sha256', text, 'binary')
    : (text) => crypto.createHash('sha256').update(text).digest('binary');

export function portProtoHash(servicePortName: string, protocol: string): string {
  return sha256Base32(servicePortName + protocol, 16);
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
  return `KUBE-SEP-${sha256Base32(servicePortName + protocol + endpoint, 16)}`;
}

const SERVICE_CHAIN_PREFIXES = ['KUBE-SVC-', 'KUBE-SVL-', 'KUBE-SEP-', 'KUBE-FW-', 'KUBE-EXT-'];

/** Chains kube-proxy owns per service (and deletes when stale). */
export function isServiceChainName(chain: string): boolean {
  return SERVICE_CHAIN_PREFIXES.some((p) => chain.startsWith(p));
}
