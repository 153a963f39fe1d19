// The kubernetes zone as a zone transfer (AXFR) hands it out, and as a zone file:
// SOA, NS and their addresses, then every exposed Service by name, SOA again.

import { joinName } from './domain-name';
import { endpointHostname, isAddress, isIPv6, type KubernetesBackend, nsAddresses } from './kubernetes-backend';
import { soaRecord } from './kubernetes-plugin';
import { presentRecord, type ResourceRecord } from './record';

function exposed(b: KubernetesBackend, namespace: string): boolean {
  return (b.config.namespaces.size === 0 || b.config.namespaces.has(namespace)) && b.index.namespaces.has(namespace);
}

function addressRecord(name: string, ip: string, ttl: number): ResourceRecord {
  return isIPv6(ip) ? { name, ttl, type: 'AAAA', address: ip } : { name, ttl, type: 'A', address: ip };
}

/**
 * Records in the order CoreDNS streams them for AXFR of `zone` (first and last: the SOA).
 * A Service without ports carries CoreDNS's sentinel port -1, which its transfer writes
 * as SRV port 65535; `forZoneFile` leaves those out (no server answers them).
 */
export function zoneTransferRecords(b: KubernetesBackend, zone: string, forZoneFile = false): ResourceRecord[] {
  const ttl = b.config.ttl;
  const soa = soaRecord(b, zone);
  const out: ResourceRecord[] = [soa];
  const ns = nsAddresses(b, zone);
  for (const host of new Set(ns.map((n) => n.name))) out.push({ name: zone, ttl, type: 'NS', target: host });
  for (const n of ns) out.push(addressRecord(n.name, n.address, 0));
  const services = [...b.index.services].sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
  for (const svc of services) {
    if (!exposed(b, svc.namespace)) continue;
    const base = joinName(svc.name, svc.namespace, 'svc', zone);
    if (svc.type === 'ExternalName') {
      if (!isAddress(svc.externalName))
        out.push({ name: base, ttl, type: 'CNAME', target: joinName(svc.externalName) });
      continue;
    }
    if (isAddress(svc.clusterIPs[0] ?? '')) {
      for (const ip of svc.clusterIPs) out.push(addressRecord(base, ip, ttl));
      for (const p of svc.ports) {
        if (p.port === -1 && forZoneFile) continue;
        const port = p.port === -1 ? 65535 : p.port;
        const srv = { ttl, type: 'SRV', priority: 0, weight: 100, port, target: base } as const;
        out.push({ name: base, ...srv });
        if (p.name === '') continue;
        out.push({ name: joinName(`_${p.name.toLowerCase()}`, `_${p.protocol.toLowerCase()}`, base), ...srv });
      }
      continue;
    }
    if (b.config.noEndpoints) continue;
    for (const ep of b.index.endpointsOf(svc.name, svc.namespace)) {
      const weight = Math.max(1, Math.floor((100 / (ep.addresses.length * 100)) * 100));
      for (const addr of ep.addresses) {
        out.push(addressRecord(base, addr.ip, ttl));
        const host = joinName(endpointHostname(addr, b.config.endpointPodNames), base);
        out.push(addressRecord(host, addr.ip, ttl));
        for (const p of ep.ports) {
          if (p.name === '') continue;
          out.push({
            name: joinName(`_${p.name.toLowerCase()}`, `_${p.protocol.toLowerCase()}`, base),
            ttl,
            type: 'SRV',
            priority: 0,
            weight,
            port: p.port,
            target: host,
          });
        }
      }
    }
  }
  out.push(soa);
  return out;
}

/** A standard zone file of the zone (the transfer without its closing SOA), for NSD or BIND. */
export function zoneFileText(b: KubernetesBackend, zone: string): string {
  const records = zoneTransferRecords(b, zone, true).slice(0, -1);
  return `$ORIGIN ${zone}\n${records.map(presentRecord).join('\n')}\n`;
}
