// Cluster IPs for Services that do not declare one (plain manifests), chosen
// deterministically from the service CIDR the way kubeadm clusters end up:
// default/kubernetes gets the first address, kube-dns the DNS service IP.
import type { ClusterConfig } from './cluster';
import { cidrSize, formatIP, type IPFamily, parseCIDR } from './ip-address';
import type { Service } from './service';
import { fnv1a32 } from './stable-hash';

export interface ClusterIPAllocation {
  readonly services: Service[];
  /** Services left without a cluster IP because the service CIDR is full. */
  readonly exhausted: readonly Service[];
}

function wantsClusterIP(service: Service, family: IPFamily): boolean {
  if (service.type === 'ExternalName' || service.headless || service.clusterIPs.length > 0) return false;
  // A Service asking only for the other family cannot get an address from this CIDR.
  return service.ipFamilies.length === 0 || service.ipFamilies.includes(family);
}

function isKubeDns(service: Service): boolean {
  return (
    service.namespace === 'kube-system' && (service.name === 'kube-dns' || service.labels['k8s-app'] === 'kube-dns')
  );
}

/**
 * Other Services get an address derived from a hash of their namespace/name (probing
 * upward past taken ones), so adding a Service does not move the others' IPs.
 */
export function allocateClusterIPs(services: readonly Service[], cluster: ClusterConfig): ClusterIPAllocation {
  const cidr = parseCIDR(cluster.serviceCIDR)!;
  const used = new Set(services.flatMap((s) => s.clusterIPs));
  const first = formatIP(cidr.family, cidr.network + 1n);
  const reserved = new Set([first, cluster.dnsServiceIP]);
  // Usable offsets: 1 .. size-2 (no network or broadcast address).
  const usable = cidrSize(cidr) - 2n;
  const exhausted: Service[] = [];

  const pick = (service: Service): string | undefined => {
    if (service.namespace === 'default' && service.name === 'kubernetes' && !used.has(first)) return first;
    if (isKubeDns(service) && !used.has(cluster.dnsServiceIP)) return cluster.dnsServiceIP;
    if (usable <= 0n) return undefined;
    const start = BigInt(fnv1a32(`${service.namespace}/${service.name}`)) % usable;
    for (let i = 0n; i < usable; i++) {
      const ip = formatIP(cidr.family, cidr.network + 1n + ((start + i) % usable));
      if (!used.has(ip) && !reserved.has(ip)) return ip;
    }
    return undefined;
  };

  const out = services.map((service) => {
    if (!wantsClusterIP(service, cidr.family)) return service;
    const ip = pick(service);
    if (ip === undefined) {
      exhausted.push(service);
      return service;
    }
    used.add(ip);
    return {
      ...service,
      clusterIP: ip,
      clusterIPs: [ip],
      ipFamilies: service.ipFamilies.length > 0 ? service.ipFamilies : [cidr.family],
    };
  });
  return { services: out, exhausted };
}
