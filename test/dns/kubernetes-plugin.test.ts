// The kubernetes plugin's answers, case by case as CoreDNS's handler tests state them,
// on CoreDNS's own fixture with the Corefile options of each test.
import { describe, expect, it } from 'vitest';
import { CorefileError } from '../../src/dns';
import { ask, kubernetesCorefile, serverFor } from './fixture';

const SOA = 'cluster.local. SOA ns.dns.cluster.local.';

describe('services (namespaces testns, the handler test configuration)', () => {
  const dns = serverFor(kubernetesCorefile('namespaces testns'));

  it('headless SRV: one record per endpoint name and port, weights shared, addresses as extra', () => {
    const r = ask(dns, '_http._tcp.hdls1.testns.svc.cluster.local.', 'SRV');
    expect(r).toBe(
      [
        'NOERROR',
        ['0 16 80 172-0-0-2', '0 16 80 172-0-0-3', '0 16 80 5678-abcd--1', '0 16 80 5678-abcd--2', '0 16 80 dup-name']
          .map((d) => `_http._tcp.hdls1.testns.svc.cluster.local. 5 IN SRV ${d}.hdls1.testns.svc.cluster.local.`)
          .join('; '),
        '',
        [
          '172-0-0-2.hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.2',
          '172-0-0-3.hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.3',
          '5678-abcd--1.hdls1.testns.svc.cluster.local. 5 IN AAAA 5678:abcd::1',
          '5678-abcd--2.hdls1.testns.svc.cluster.local. 5 IN AAAA 5678:abcd::2',
          'dup-name.hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.4',
          'dup-name.hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.5',
        ].join('; '),
      ].join(' | '),
    );
  });

  it('endpoint names: dashed IPv4 and IPv6, hostnames shared by two endpoints, portless endpoints', () => {
    expect(ask(dns, '5678-abcd--2.hdls1.testns.svc.cluster.local', 'AAAA')).toBe(
      'NOERROR | 5678-abcd--2.hdls1.testns.svc.cluster.local. 5 IN AAAA 5678:abcd::2 |  | ',
    );
    expect(ask(dns, 'dup-name.hdls1.testns.svc.cluster.local.')).toBe(
      'NOERROR | dup-name.hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.4; dup-name.hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.5 |  | ',
    );
    expect(ask(dns, '172-0-0-20.hdlsprtls.testns.svc.cluster.local.')).toBe(
      'NOERROR | 172-0-0-20.hdlsprtls.testns.svc.cluster.local. 5 IN A 172.0.0.20 |  | ',
    );
    expect(ask(dns, 'bogusendpoint.hdls1.testns.svc.cluster.local.')).toBe(`NXDOMAIN |  | ${SOA} | `);
  });

  it('an endpoint name also answers for a ClusterIP service (ep1a of svc1)', () => {
    expect(ask(dns, 'ep1a.svc1.testns.svc.cluster.local.')).toBe(
      'NOERROR | ep1a.svc1.testns.svc.cluster.local. 5 IN A 172.0.0.1 |  | ',
    );
  });

  it('ExternalName: CNAME on its own, followed inside the zone, never for names below it', () => {
    expect(ask(dns, 'external.testns.svc.cluster.local.', 'CNAME')).toBe(
      'NOERROR | external.testns.svc.cluster.local. 5 IN CNAME ext.interwebs.test. |  | ',
    );
    expect(ask(dns, 'external-to-service.testns.svc.cluster.local', 'A')).toBe(
      'NOERROR | external-to-service.testns.svc.cluster.local. 5 IN CNAME svc1.testns.svc.cluster.local.; svc1.testns.svc.cluster.local. 5 IN A 10.0.0.1 |  | ',
    );
    expect(ask(dns, 'endpoint.external.testns.svc.cluster.local.', 'CNAME')).toBe(`NXDOMAIN |  | ${SOA} | `);
    expect(ask(dns, 'subdomain.subdomain.external.testns.svc.cluster.local.', 'CNAME')).toBe(`NXDOMAIN |  | ${SOA} | `);
  });

  it('dual stack: A and AAAA each, SRV with both addresses and weight 50', () => {
    expect(ask(dns, 'svc-dual-stack.testns.svc.cluster.local.', 'AAAA')).toBe(
      'NOERROR | svc-dual-stack.testns.svc.cluster.local. 5 IN AAAA 10::3 |  | ',
    );
    expect(ask(dns, 'svc-dual-stack.testns.svc.cluster.local.', 'SRV')).toBe(
      'NOERROR | svc-dual-stack.testns.svc.cluster.local. 5 IN SRV 0 50 80 svc-dual-stack.testns.svc.cluster.local. |  | svc-dual-stack.testns.svc.cluster.local. 5 IN A 10.0.0.3; svc-dual-stack.testns.svc.cluster.local. 5 IN AAAA 10::3',
    );
  });

  it('NODATA for the apex, svc, pod and a namespace; NXDOMAIN for names that cannot exist', () => {
    for (const n of ['cluster.local.', 'svc.cluster.local.', 'pod.cluster.local.', 'testns.svc.cluster.local.'])
      expect(ask(dns, n)).toBe(`NOERROR |  | ${SOA} | `);
    expect(ask(dns, 'svc.cluster.local.', 'NS')).toBe(`NOERROR |  | ${SOA} | `);
    expect(ask(dns, 'foo.cluster.local.', 'NS')).toBe(`NXDOMAIN |  | ${SOA} | `);
    expect(ask(dns, 'foo.svc.cluster.local.', 'NS')).toBe(`NXDOMAIN |  | ${SOA} | `);
    expect(ask(dns, 'svc1.testns.svc.cluster.local.', 'SOA')).toBe(`NOERROR |  | ${SOA} | `);
    expect(ask(dns, 'svc1.testns.svc.cluster.local.', 'MX')).toBe(`NOERROR |  | ${SOA} | `);
    expect(ask(dns, 'svc0.testns.svc.cluster.local.', 'MX')).toBe(`NXDOMAIN |  | ${SOA} | `);
    expect(ask(dns, 'a.b.c.d.svc1.testns.svc.cluster.local.')).toBe(`NXDOMAIN |  | ${SOA} | `);
  });

  it('a namespace outside "namespaces" does not exist', () => {
    expect(ask(dns, 'svc1.unexposedns.svc.cluster.local.')).toBe(`NXDOMAIN |  | ${SOA} | `);
  });

  it('the zone apex: SOA, and NS naming the service of CoreDNS own pod with its address', () => {
    expect(ask(dns, 'cluster.local.', 'SOA')).toBe(`NOERROR | ${SOA} |  | `);
    expect(ask(dns, 'cluster.local.', 'NS')).toBe(
      'NOERROR | cluster.local. 5 IN NS kubedns.kube-system.svc.cluster.local. |  | kubedns.kube-system.svc.cluster.local. 5 IN A 10.0.0.10',
    );
    expect(ask(dns, 'ns.dns.cluster.local.', 'A')).toBe('NOERROR | ns.dns.cluster.local. 5 IN A 10.0.0.10 |  | ');
  });

  it('names are matched without regard to case, answers keep the question case', () => {
    expect(ask(dns, 'SVC1.TestNS.svc.Cluster.Local.')).toBe(
      'NOERROR | SVC1.TestNS.svc.Cluster.Local. 5 IN A 10.0.0.1 |  | ',
    );
  });

  it('zone transfers are refused by the kubernetes plugin without a transfer block', () => {
    expect(ask(dns, 'cluster.local.', 'AXFR')).toBe('REFUSED |  |  | ');
  });
});

describe('pods', () => {
  it('verified: only an existing pod in that namespace', () => {
    const dns = serverFor(kubernetesCorefile('pods verified'));
    expect(ask(dns, '10-240-0-1.podns.pod.cluster.local.')).toBe(
      'NOERROR | 10-240-0-1.podns.pod.cluster.local. 5 IN A 10.240.0.1 |  | ',
    );
    expect(ask(dns, 'podns.pod.cluster.local.')).toBe(`NOERROR |  | ${SOA} | `);
    expect(ask(dns, 'svcns.svc.cluster.local.')).toBe(`NOERROR |  | ${SOA} | `);
    expect(ask(dns, 'pod-nons.pod.cluster.local.')).toBe(`NXDOMAIN |  | ${SOA} | `);
    expect(ask(dns, '172-0-0-2.podns.pod.cluster.local.')).toBe(`NXDOMAIN |  | ${SOA} | `);
    expect(ask(dns, '10-240-0-1.testns.pod.cluster.local.')).toBe(`NXDOMAIN |  | ${SOA} | `);
  });

  it('insecure: any address-shaped name in an existing namespace', () => {
    const dns = serverFor(kubernetesCorefile('pods insecure'));
    expect(ask(dns, '10-20-0-101.podns.pod.cluster.local.')).toBe(
      'NOERROR | 10-20-0-101.podns.pod.cluster.local. 5 IN A 10.20.0.101 |  | ',
    );
    expect(ask(dns, '1234-5678--1.podns.pod.cluster.local.', 'AAAA')).toBe(
      'NOERROR | 1234-5678--1.podns.pod.cluster.local. 5 IN AAAA 1234:5678::1 |  | ',
    );
    expect(ask(dns, '1234-5678--1.podns.pod.cluster.local.', 'A')).toBe(`NOERROR |  | ${SOA} | `);
    expect(ask(dns, 'svc.podns.pod.cluster.local.')).toBe(`NXDOMAIN |  | ${SOA} | `);
    expect(ask(dns, '10-20-0-101.pod-nons.pod.cluster.local.')).toBe(`NXDOMAIN |  | ${SOA} | `);
  });

  it('disabled: every pod name is a name error', () => {
    const dns = serverFor(kubernetesCorefile('pods disabled'));
    expect(ask(dns, '10-240-0-1.podns.pod.cluster.local.')).toBe(`NXDOMAIN |  | ${SOA} | `);
  });
});

describe('options', () => {
  it('ignore empty_service: a ClusterIP service without endpoints is a name error', () => {
    const dns = serverFor(kubernetesCorefile('ignore empty_service'));
    expect(ask(dns, 'svcempty.testns.svc.cluster.local.')).toBe(`NXDOMAIN |  | ${SOA} | `);
    expect(ask(dns, 'svc1.testns.svc.cluster.local.')).toBe(
      'NOERROR | svc1.testns.svc.cluster.local. 5 IN A 10.0.0.1 |  | ',
    );
  });

  it('ttl sets record TTLs and the SOA minimum; the SOA TTL is capped at 300', () => {
    const dns = serverFor(kubernetesCorefile('ttl 3600'));
    expect(ask(dns, 'svc1.testns.svc.cluster.local.')).toBe(
      'NOERROR | svc1.testns.svc.cluster.local. 3600 IN A 10.0.0.1 |  | ',
    );
  });

  it('endpoint_pod_names: endpoints without a hostname are named after their pod', () => {
    const slice = `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: named-1, namespace: testns, labels: {kubernetes.io/service-name: named}}
addressType: IPv4
endpoints:
- addresses: [172.0.0.30]
  targetRef: {kind: Pod, namespace: testns, name: web-0}
ports: [{name: http, protocol: TCP, port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: named, namespace: testns}
spec: {clusterIP: None, ports: [{name: http, port: 80}]}
`;
    const dns = serverFor(kubernetesCorefile('endpoint_pod_names'), [], slice);
    expect(ask(dns, 'web-0.named.testns.svc.cluster.local.')).toBe(
      'NOERROR | web-0.named.testns.svc.cluster.local. 5 IN A 172.0.0.30 |  | ',
    );
    const plain = serverFor(kubernetesCorefile(''), [], slice);
    expect(ask(plain, '172-0-0-30.named.testns.svc.cluster.local.')).toBe(
      'NOERROR | 172-0-0-30.named.testns.svc.cluster.local. 5 IN A 172.0.0.30 |  | ',
    );
  });

  it('noendpoints: headless and endpoint names do not resolve, ClusterIPs still do', () => {
    const dns = serverFor(kubernetesCorefile('noendpoints'));
    expect(ask(dns, 'hdls1.testns.svc.cluster.local.')).toBe(`NXDOMAIN |  | ${SOA} | `);
    expect(ask(dns, 'svc1.testns.svc.cluster.local.')).toBe(
      'NOERROR | svc1.testns.svc.cluster.local. 5 IN A 10.0.0.1 |  | ',
    );
  });
});

describe('reverse zones, fallthrough and forward', () => {
  const corefile = `.:53 {
    errors
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 30
    }
    forward . /etc/resolv.conf
    cache 30
    loop
}
`;
  const upstream = [
    'ext.interwebs.test. 60 IN A 1.2.3.4',
    '0.0.0.10.in-addr.arpa. 60 IN PTR gateway.example.',
    'example. 300 IN SOA ns.example. admin.example. 1 7200 900 1209600 60',
    'www.example. 120 IN CNAME web.example.',
    'web.example. 120 IN A 192.0.2.80',
  ];
  const dns = serverFor(corefile, upstream);

  it('PTR for a ClusterIP and for a headless endpoint', () => {
    expect(ask(dns, '1.0.0.10.in-addr.arpa.', 'PTR')).toBe(
      'NOERROR | 1.0.0.10.in-addr.arpa. 30 IN PTR svc1.testns.svc.cluster.local. |  | ',
    );
    expect(ask(dns, '4.0.0.172.in-addr.arpa.', 'PTR')).toBe(
      'NOERROR | 4.0.0.172.in-addr.arpa. 30 IN PTR dup-name.hdls1.testns.svc.cluster.local. |  | ',
    );
    expect(ask(dns, '1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.c.b.a.8.7.6.5.ip6.arpa.', 'PTR')).toBe(
      'NOERROR | 1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.c.b.a.8.7.6.5.ip6.arpa. 30 IN PTR 5678-abcd--1.hdls1.testns.svc.cluster.local. |  | ',
    );
  });

  it('an unknown address falls through to the forwarder', () => {
    expect(ask(dns, '0.0.0.10.in-addr.arpa.', 'PTR')).toBe(
      'NOERROR | 0.0.0.10.in-addr.arpa. 60 IN PTR gateway.example. |  | ',
    );
    expect(ask(dns, '9.9.9.9.in-addr.arpa.', 'PTR')).toBe('NXDOMAIN |  |  | ');
  });

  it('cluster.local name errors do not fall through; other names are forwarded', () => {
    expect(ask(dns, 'nope.testns.svc.cluster.local.')).toMatch(/^NXDOMAIN \| {2}\| cluster\.local\. SOA/);
    expect(ask(dns, 'www.example.')).toBe(
      'NOERROR | web.example. 120 IN A 192.0.2.80; www.example. 120 IN CNAME web.example. |  | ',
    );
    expect(ask(dns, 'nothing.example.')).toBe('NXDOMAIN |  | example. SOA ns.example. | ');
    expect(ask(dns, 'web.example.', 'AAAA')).toBe('NOERROR |  | example. SOA ns.example. | ');
  });

  it('an ExternalName outside the zone is completed through the forwarder', () => {
    expect(ask(dns, 'external.testns.svc.cluster.local.')).toBe(
      'NOERROR | ext.interwebs.test. 60 IN A 1.2.3.4; external.testns.svc.cluster.local. 30 IN CNAME ext.interwebs.test. |  | ',
    );
  });
});

describe('autopath @kubernetes', () => {
  const corefile = `.:53 {
    kubernetes cluster.local {
        pods verified
    }
    autopath @kubernetes
    forward . /etc/resolv.conf
}
`;
  const dns = serverFor(corefile, ['www.example.com. 30 IN A 192.0.2.80']);
  const POD = '10.240.0.1'; // podns/foo

  it('answers the first search-path question with the name the search would have found, behind a CNAME', () => {
    expect(ask(dns, 'svc1.testns.svc.podns.svc.cluster.local.', 'A', POD)).toBe(
      'NOERROR | svc1.testns.svc.cluster.local. 5 IN A 10.0.0.1; svc1.testns.svc.podns.svc.cluster.local. 5 IN CNAME svc1.testns.svc.cluster.local. |  | ',
    );
    expect(ask(dns, 'www.example.com.podns.svc.cluster.local.', 'A', POD)).toBe(
      'NOERROR | www.example.com. 30 IN A 192.0.2.80; www.example.com.podns.svc.cluster.local. 30 IN CNAME www.example.com. |  | ',
    );
  });

  it('does nothing for a client that is not a known pod', () => {
    expect(ask(dns, 'www.example.com.podns.svc.cluster.local.', 'A', '192.0.2.99')).toMatch(/^NXDOMAIN/);
  });
});

describe('Corefile problems', () => {
  it('names the line and what is wrong', () => {
    expect(() => serverFor('cluster.local {\n  kubernetes {\n    pods sometimes\n  }\n}\n')).toThrow(
      new CorefileError('line 3: pods: wrong value for pods: sometimes, must be one of: disabled, verified, insecure'),
    );
    expect(() => serverFor('cluster.local {\n  kubernetes {\n    ttl 4000\n  }\n}\n')).toThrow(
      'line 3: ttl: ttl must be in range [0, 3600]: 4000',
    );
    expect(() => serverFor('cluster.local {\n  kubernetes\n  template IN A example.org\n}\n')).toThrow(
      /line 3: template: plugin "template" is not modelled/,
    );
    expect(() => serverFor('cluster.local {\n  kubernetes\n')).toThrow('missing "}"');
    expect(() => serverFor('cluster.local:8053 {\n  kubernetes\n}\n')).toThrow('no server block listens on port 53');
  });
});

describe('ExternalName targets outside the zone', () => {
  it('with no forwarder the server has nothing: the CNAME alone', () => {
    const dns = serverFor(kubernetesCorefile('namespaces testns'));
    expect(ask(dns, 'external.testns.svc.cluster.local.')).toBe(
      'NOERROR | external.testns.svc.cluster.local. 5 IN CNAME ext.interwebs.test. |  | ',
    );
  });

  it('what the scenario says the upstream knows completes the chain, as CoreDNS tests stub it', () => {
    const dns = serverFor(kubernetesCorefile('namespaces testns'), ['ext.interwebs.test. 5 IN A 1.2.3.4']);
    expect(ask(dns, 'external.testns.svc.cluster.local.')).toBe(
      'NOERROR | ext.interwebs.test. 5 IN A 1.2.3.4; external.testns.svc.cluster.local. 5 IN CNAME ext.interwebs.test. |  | ',
    );
  });
});
