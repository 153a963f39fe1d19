// kube-proxy's nftables names: readable `ns/svc/proto/port` bases prefixed with
// the first 8 base32 characters of their SHA-256 (so near-identical names stay
// distinct), cut to 240 characters (room for a 16-character prefix under nft's 256).
import type { LocalEndpoint, ServicePortState } from '../../model';
import { sha256Base32 } from '../chain-names';

const BASE_LENGTH_MAX = 240;

export function hashAndTruncate(name: string): string {
  const hashed = `${sha256Base32(name, 8)}-${name}`;
  return hashed.length > BASE_LENGTH_MAX ? `${hashed.slice(0, BASE_LENGTH_MAX - 3)}...` : hashed;
}

const protocolOf = (svc: ServicePortState) => svc.protocol.toLowerCase();

export function servicePortNameBase(svc: ServicePortState): string {
  return hashAndTruncate(`${svc.namespace}/${svc.serviceName}/${protocolOf(svc)}/${svc.portName}`);
}

/** Colons are not allowed in chain names, so an IPv6 endpoint's are dots. */
export function endpointNameBase(svc: ServicePortState, ep: LocalEndpoint): string {
  const ip = ep.ip.replaceAll(':', '.');
  return hashAndTruncate(`${svc.namespace}/${svc.serviceName}/${protocolOf(svc)}/${svc.portName}__${ip}/${ep.port}`);
}

export interface NftServiceChains {
  readonly cluster: string;
  readonly local: string;
  readonly external: string;
  readonly firewall: string;
}

export function nftServiceChains(svc: ServicePortState): NftServiceChains {
  const base = servicePortNameBase(svc);
  return {
    cluster: `service-${base}`,
    local: `local-${base}`,
    external: `external-${base}`,
    firewall: `firewall-${base}`,
  };
}

export function nftEndpointChain(svc: ServicePortState, ep: LocalEndpoint): string {
  return `endpoint-${endpointNameBase(svc, ep)}`;
}

export function nftAffinitySet(svc: ServicePortState, ep: LocalEndpoint): string {
  return `affinity-${endpointNameBase(svc, ep)}`;
}
