// Behaviours of the kubernetes plugin found while porting CoreDNS's test tables: the
// case of the apex and ns.dns names, how pod names are matched, which pods the pod
// informer holds, and the `labels` / `namespace_labels` selectors (Kubernetes' selector
// syntax, applied to the informers, so to every lookup).
import { describe, expect, it } from 'vitest';
import { CorefileError } from '../../src/dns';
import { ask, kubernetesCorefile, serverFor } from './fixture';

const SOA = 'cluster.local. SOA ns.dns.cluster.local.';

describe('name case at the apex', () => {
  const dns = serverFor(kubernetesCorefile('namespaces testns'));

  it('NS at a mixed-case apex is not the apex to CoreDNS: NODATA, not the NS set', () => {
    expect(ask(dns, 'cluster.local.', 'NS')).toBe(
      'NOERROR | cluster.local. 5 IN NS kubedns.kube-system.svc.cluster.local. |  | kubedns.kube-system.svc.cluster.local. 5 IN A 10.0.0.10',
    );
    expect(ask(dns, 'Cluster.local.', 'NS')).toBe('NOERROR |  | Cluster.local. SOA ns.dns.Cluster.local. | ');
  });

  it('ns.dns.<zone> answers only when the zone is asked in the case CoreDNS lower-cases to', () => {
    expect(ask(dns, 'ns.dns.cluster.local.')).toBe('NOERROR | ns.dns.cluster.local. 5 IN A 10.0.0.10 |  | ');
    expect(ask(dns, 'NS.DNS.cluster.local.')).toBe('NOERROR | NS.DNS.cluster.local. 5 IN A 10.0.0.10 |  | ');
    expect(ask(dns, 'ns.dns.Cluster.Local.')).toBe('NXDOMAIN |  | Cluster.Local. SOA ns.dns.Cluster.Local. | ');
  });
});

describe('pod names', () => {
  it('verified: the address in the name must be the pod IP as written (no IPv4-mapped form)', () => {
    const dns = serverFor(kubernetesCorefile('pods verified'));
    expect(ask(dns, '10-240-0-1.podns.pod.cluster.local.')).toBe(
      'NOERROR | 10-240-0-1.podns.pod.cluster.local. 5 IN A 10.240.0.1 |  | ',
    );
    expect(ask(dns, '--ffff-af0-1.podns.pod.cluster.local.')).toBe(`NXDOMAIN |  | ${SOA} | `);
  });

  it('insecure: an IPv4-mapped address is an IPv4 address, as to Go', () => {
    const dns = serverFor(kubernetesCorefile('pods insecure'));
    expect(ask(dns, '--ffff-af0-1.podns.pod.cluster.local.')).toBe(
      'NOERROR | --ffff-af0-1.podns.pod.cluster.local. 5 IN A 10.240.0.1 |  | ',
    );
    expect(ask(dns, '--ffff-af0-1.podns.pod.cluster.local.', 'AAAA')).toBe(`NOERROR |  | ${SOA} | `);
  });

  it('the pod informer leaves out Succeeded, Failed and Unknown pods', () => {
    const finished = (name: string, ip: string, phase: string) => `apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: podns}
spec: {nodeName: test.node.foo.bar, containers: [{name: c, image: i}]}
status: {phase: ${phase}, podIP: ${ip}, podIPs: [{ip: ${ip}}]}
`;
    const dns = serverFor(
      kubernetesCorefile('pods verified'),
      [],
      [
        finished('done', '10.240.0.2', 'Succeeded'),
        finished('broken', '10.240.0.3', 'Failed'),
        finished('lost', '10.240.0.4', 'Unknown'),
        finished('starting', '10.240.0.5', 'Pending'),
      ].join('---\n'),
    );
    for (const ip of ['10-240-0-2', '10-240-0-3', '10-240-0-4'])
      expect(ask(dns, `${ip}.podns.pod.cluster.local.`)).toBe(`NXDOMAIN |  | ${SOA} | `);
    expect(ask(dns, '10-240-0-5.podns.pod.cluster.local.')).toBe(
      'NOERROR | 10-240-0-5.podns.pod.cluster.local. 5 IN A 10.240.0.5 |  | ',
    );
  });
});

const LABELLED = `apiVersion: v1
kind: Namespace
metadata: {name: team-a, labels: {team: a}}
---
apiVersion: v1
kind: Namespace
metadata: {name: team-b, labels: {team: b}}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: team-a, labels: {environment: production}}
spec: {clusterIP: 10.0.1.1, ports: [{name: http, port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: team-b, labels: {environment: dev}}
spec: {clusterIP: 10.0.2.1, ports: [{name: http, port: 80}]}
---
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: team-a, labels: {environment: production}}
spec: {nodeName: test.node.foo.bar, containers: [{name: c, image: i}]}
status: {phase: Running, podIP: 10.240.0.9, podIPs: [{ip: 10.240.0.9}]}
`;

describe('labels and namespace_labels', () => {
  it('labels takes set-based requirements and filters services, EndpointSlices and pods alike', () => {
    const dns = serverFor(
      kubernetesCorefile('pods verified\nlabels environment in (production, staging),!canary'),
      [],
      LABELLED,
    );
    expect(ask(dns, 'web.team-a.svc.cluster.local.')).toBe(
      'NOERROR | web.team-a.svc.cluster.local. 5 IN A 10.0.1.1 |  | ',
    );
    expect(ask(dns, 'web.team-b.svc.cluster.local.')).toBe(`NXDOMAIN |  | ${SOA} | `);
    // The fixture's objects carry no environment label: outside the selector.
    expect(ask(dns, 'svc1.testns.svc.cluster.local.')).toBe(`NXDOMAIN |  | ${SOA} | `);
    expect(ask(dns, 'hdls1.testns.svc.cluster.local.')).toBe(`NXDOMAIN |  | ${SOA} | `);
    expect(ask(dns, '10-240-0-9.team-a.pod.cluster.local.')).toBe(
      'NOERROR | 10-240-0-9.team-a.pod.cluster.local. 5 IN A 10.240.0.9 |  | ',
    );
    expect(ask(dns, '10-240-0-1.podns.pod.cluster.local.')).toBe(`NXDOMAIN |  | ${SOA} | `);
    // Reverse lookups see the same informers.
    const rev = serverFor(
      kubernetesCorefile('labels environment=production', 'cluster.local in-addr.arpa', 'cluster.local in-addr.arpa'),
      [],
      LABELLED,
    );
    expect(ask(rev, '1.1.0.10.in-addr.arpa.', 'PTR')).toBe(
      'NOERROR | 1.1.0.10.in-addr.arpa. 5 IN PTR web.team-a.svc.cluster.local. |  | ',
    );
    expect(ask(rev, '1.0.0.10.in-addr.arpa.', 'PTR')).toBe('NXDOMAIN |  | in-addr.arpa. SOA ns.dns.in-addr.arpa. | ');
  });

  it('namespace_labels: namespaces outside the selector do not exist for the plugin', () => {
    const dns = serverFor(kubernetesCorefile('namespace_labels team=a'), [], LABELLED);
    expect(ask(dns, 'web.team-a.svc.cluster.local.')).toBe(
      'NOERROR | web.team-a.svc.cluster.local. 5 IN A 10.0.1.1 |  | ',
    );
    expect(ask(dns, 'team-a.svc.cluster.local.')).toBe(`NOERROR |  | ${SOA} | `);
    expect(ask(dns, 'web.team-b.svc.cluster.local.')).toBe(`NXDOMAIN |  | ${SOA} | `);
    expect(ask(dns, 'team-b.svc.cluster.local.')).toBe(`NXDOMAIN |  | ${SOA} | `);
    expect(ask(dns, 'svc1.testns.svc.cluster.local.')).toBe(`NXDOMAIN |  | ${SOA} | `);
  });

  it('selectors CoreDNS refuses, and namespaces with namespace_labels, are Corefile errors', () => {
    for (const options of [
      'labels environment!=dev',
      'labels environment in (production, qa',
      'labels environment in ()',
      'labels replicas>1',
      'namespaces foo\nnamespace_labels team=a',
      'multicluster clusterset.local',
    ])
      expect(() => serverFor(kubernetesCorefile(options)), options).toThrow(CorefileError);
  });

  it('a bare ignore is accepted and changes nothing; ttl reads as strconv.Atoi does', () => {
    expect(ask(serverFor(kubernetesCorefile('ignore')), 'svcempty.testns.svc.cluster.local.')).toBe(
      'NOERROR | svcempty.testns.svc.cluster.local. 5 IN A 10.0.0.1 |  | ',
    );
    expect(ask(serverFor(kubernetesCorefile('ttl +30')), 'svc1.testns.svc.cluster.local.')).toBe(
      'NOERROR | svc1.testns.svc.cluster.local. 30 IN A 10.0.0.1 |  | ',
    );
    expect(() => serverFor(kubernetesCorefile('ttl 0x10'))).toThrow(CorefileError);
  });

  it("API connection options are checked as CoreDNS's setup checks them, and change no answer", () => {
    for (const options of [
      'endpoint',
      'kubeconfig',
      'kubeconfig file context extraarg',
      'tls cert key',
      'endpoint_pod_names giant_seed',
      'noendpoints ixnay',
      'startup_timeout soon',
      'apiserver_qps -10',
      'apiserver_burst 1.5',
      'apiserver_max_inflight -1',
    ])
      expect(() => serverFor(kubernetesCorefile(options)), options).toThrow(CorefileError);
    const dns = serverFor(
      kubernetesCorefile(
        'endpoint https://10.0.0.1:6443\nkubeconfig ~/.kube/config ctx\ntls cert key ca\nstartup_timeout 1m30s\napiserver_qps 50.0\napiserver_burst 100\napiserver_max_inflight 25',
      ),
    );
    expect(ask(dns, 'svc1.testns.svc.cluster.local.')).toBe(
      'NOERROR | svc1.testns.svc.cluster.local. 5 IN A 10.0.0.1 |  | ',
    );
  });
});

describe('autopath when no plugin answers a search name', () => {
  it('an unwritten answer (no forwarder for the bare name) is passed over like NXDOMAIN: the first answer stands', () => {
    const dns = serverFor(`.:53 {
    kubernetes cluster.local {
        pods verified
    }
    autopath @kubernetes
}
`);
    expect(ask(dns, 'www.example.com.podns.svc.cluster.local.', 'A', '10.240.0.1')).toBe(
      'NXDOMAIN |  | cluster.local. SOA ns.dns.cluster.local. | ',
    );
  });
});
