// The kubernetes plugin's `zonal` option: zone-scoped names for headless Services
// (ZONE.pin._zone.svc.ns.svc.zone narrows to the zone or answers NODATA; `prefer`
// falls back to every endpoint), as CoreDNS's zonal tests state them.
import { describe, expect, it } from 'vitest';
import { buildCoreDns } from '../../src/dns';
import { ask, scenarioFrom } from './fixture';

function cluster(options: string) {
  return buildCoreDns(
    scenarioFrom(`apiVersion: knetsim.io/v1alpha1
kind: Cluster
metadata: {name: zonal}
spec:
  serviceCIDR: 10.0.0.0/16
  dns:
    corefile: |
      cluster.local {
          kubernetes cluster.local {
              namespaces testns
${options
  .split('\n')
  .filter(Boolean)
  .map((l) => `              ${l}`)
  .join('\n')}
          }
      }
---
apiVersion: v1
kind: Service
metadata: {name: hdls, namespace: testns}
spec: {clusterIP: None, ports: [{name: http, port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: clstr, namespace: testns}
spec: {clusterIP: 10.0.0.10, ports: [{name: http, port: 80}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: hdls-slice, namespace: testns, labels: {kubernetes.io/service-name: hdls}}
addressType: IPv4
endpoints:
- {addresses: [172.0.0.1], zone: us-west-2a}
- {addresses: [172.0.0.2], zone: us-west-2b}
- {addresses: [172.0.0.3], zone: US-West-2b}
ports: [{name: http, protocol: TCP, port: 80}]
`),
  );
}

const SOA = 'cluster.local. SOA ns.dns.cluster.local.';
const a = (name: string, ...ips: string[]) => ips.map((ip) => `${name} 5 IN A ${ip}`).join('; ');

describe('zonal', () => {
  const dns = cluster('zonal');
  const n = (zone: string, d: string, svc = 'hdls') => `${zone}.${d}._zone.${svc}.testns.svc.cluster.local.`;

  it('pin narrows to the zone (zones compared in lower case), or answers NODATA', () => {
    expect(ask(dns, n('us-west-2a', 'pin'))).toBe(`NOERROR | ${a(n('us-west-2a', 'pin'), '172.0.0.1')} |  | `);
    expect(ask(dns, n('us-west-2b', 'pin'))).toBe(
      `NOERROR | ${a(n('us-west-2b', 'pin'), '172.0.0.2', '172.0.0.3')} |  | `,
    );
    expect(ask(dns, n('us-west-2c', 'pin'))).toBe(`NOERROR |  | ${SOA} | `);
    expect(ask(dns, n('us-west-2c', 'pin'), 'TXT')).toBe(`NOERROR |  | ${SOA} | `);
  });

  it('prefer falls back to every endpoint; SRV is filtered the same way', () => {
    expect(ask(dns, n('us-west-2c', 'prefer'))).toBe(
      `NOERROR | ${a(n('us-west-2c', 'prefer'), '172.0.0.1', '172.0.0.2', '172.0.0.3')} |  | `,
    );
    expect(ask(dns, n('us-west-2b', 'pin'), 'SRV')).toBe(
      `NOERROR | ${n('us-west-2b', 'pin')} 5 IN SRV 0 50 80 172-0-0-2.hdls.testns.svc.cluster.local.; ${n('us-west-2b', 'pin')} 5 IN SRV 0 50 80 172-0-0-3.hdls.testns.svc.cluster.local. |  | 172-0-0-2.hdls.testns.svc.cluster.local. 5 IN A 172.0.0.2; 172-0-0-3.hdls.testns.svc.cluster.local. 5 IN A 172.0.0.3`,
    );
  });

  it('NXDOMAIN for a missing Service, an unknown directive, a ClusterIP Service, or without the option', () => {
    expect(ask(dns, n('us-west-2a', 'pin', 'ghost'))).toBe(`NXDOMAIN |  | ${SOA} | `);
    expect(ask(dns, n('us-west-2a', 'florp'))).toBe(`NXDOMAIN |  | ${SOA} | `);
    expect(ask(dns, n('us-west-2a', 'pin', 'clstr'))).toBe(`NXDOMAIN |  | ${SOA} | `);
    expect(ask(cluster(''), n('us-west-2a', 'pin'))).toBe(`NXDOMAIN |  | ${SOA} | `);
  });

  it('refuses zonal with noendpoints, as CoreDNS does', () => {
    expect(() => cluster('zonal\nnoendpoints')).toThrow('zonal requires the endpoint cache; remove noendpoints');
  });
});
