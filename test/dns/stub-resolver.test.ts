// The pod's resolver: resolv.conf per dnsPolicy, and the questions glibc sends for
// short names, qualified names and outside names (the ndots:5 cost), in order.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildCoreDns, lookupFromPod, podResolvConf, resolvConfText, searchCandidates } from '../../src/dns';
import { loadScenario, type Pod, type Scenario } from '../../src/model';

const DEMO = join(__dirname, '..', '..', 'examples', 'demo.yaml');

function demo(extra = ''): Scenario {
  const r = loadScenario(readFileSync(DEMO, 'utf8') + (extra ? `---\n${extra}` : ''), 'demo.yaml');
  if (!r.ok) throw new Error(r.issues.map((i) => i.message).join('\n'));
  return r.scenario;
}

const pod = (s: Scenario, ns: string, name: string): Pod => s.pods.find((p) => p.namespace === ns && p.name === name)!;

describe('resolv.conf from dnsPolicy', () => {
  const extra = `apiVersion: v1
kind: Pod
metadata: {name: custom, namespace: default}
spec:
  nodeName: worker-2
  dnsPolicy: None
  dnsConfig:
    nameservers: [1.1.1.1]
    searches: [corp.example]
    options: [{name: ndots, value: "2"}, {name: edns0}]
  containers: [{name: c, image: busybox}]
---
apiVersion: v1
kind: Pod
metadata: {name: hostnet, namespace: default}
spec:
  nodeName: worker-2
  hostNetwork: true
  containers: [{name: c, image: busybox}]
---
apiVersion: v1
kind: Pod
metadata: {name: hostnet-cf, namespace: default}
spec:
  nodeName: worker-2
  hostNetwork: true
  dnsPolicy: ClusterFirstWithHostNet
  containers: [{name: c, image: busybox}]
`;
  const s = demo(extra);

  it('ClusterFirst: the DNS Service, the namespace search list, ndots:5', () => {
    expect(resolvConfText(podResolvConf(pod(s, 'default', 'client'), s.cluster))).toBe(
      'nameserver 10.96.0.10\nsearch default.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n',
    );
  });

  it('None with dnsConfig: only what the pod asks for', () => {
    expect(resolvConfText(podResolvConf(pod(s, 'default', 'custom'), s.cluster))).toBe(
      'nameserver 1.1.1.1\nsearch corp.example\noptions ndots:2 edns0\n',
    );
  });

  it('hostNetwork: ClusterFirst falls back to the node resolver, ClusterFirstWithHostNet keeps cluster DNS', () => {
    expect(podResolvConf(pod(s, 'default', 'hostnet'), s.cluster).nameservers).toEqual(['upstream']);
    expect(podResolvConf(pod(s, 'default', 'hostnet-cf'), s.cluster).nameservers).toEqual(['10.96.0.10']);
  });
});

describe('the questions a pod sends', () => {
  const s = demo();
  const dns = buildCoreDns(s);
  const client = pod(s, 'default', 'client');
  const conf = podResolvConf(client, s.cluster);
  const asked = (name: string, types: ('A' | 'AAAA')[] = ['A']) =>
    lookupFromPod(s, dns, client, name, types).queries.map((q) => `${q.name} ${q.type} ${q.response.rcode}`);

  it('search order: fewer dots than ndots -> search list first; a trailing dot -> as is', () => {
    expect(searchCandidates('myapp', conf)).toEqual([
      'myapp.default.svc.cluster.local.',
      'myapp.svc.cluster.local.',
      'myapp.cluster.local.',
      'myapp.',
    ]);
    expect(searchCandidates('www.example.com.', conf)).toEqual(['www.example.com.']);
    expect(searchCandidates('a.b.c.d.e.f', conf)[0]).toBe('a.b.c.d.e.f.');
  });

  it('myapp: answered by the first search domain', () => {
    expect(asked('myapp')).toEqual(['myapp.default.svc.cluster.local. A NOERROR']);
  });

  it('myapp.default: one miss, then svc.cluster.local', () => {
    expect(asked('myapp.default')).toEqual([
      'myapp.default.default.svc.cluster.local. A NXDOMAIN',
      'myapp.default.svc.cluster.local. A NOERROR',
    ]);
  });

  it('the full service name with 4 dots still walks the search list first (ndots:5)', () => {
    expect(asked('myapp.default.svc.cluster.local')).toEqual([
      'myapp.default.svc.cluster.local.default.svc.cluster.local. A NXDOMAIN',
      'myapp.default.svc.cluster.local.svc.cluster.local. A NXDOMAIN',
      'myapp.default.svc.cluster.local.cluster.local. A NXDOMAIN',
      'myapp.default.svc.cluster.local. A NOERROR',
    ]);
  });

  it('www.example.com: three cluster misses, then the forwarder; with a trailing dot, one question', () => {
    expect(asked('www.example.com')).toEqual([
      'www.example.com.default.svc.cluster.local. A NXDOMAIN',
      'www.example.com.svc.cluster.local. A NXDOMAIN',
      'www.example.com.cluster.local. A NXDOMAIN',
      'www.example.com. A NOERROR',
    ]);
    expect(asked('www.example.com.')).toEqual(['www.example.com. A NOERROR']);
  });

  it('getaddrinfo sends A and AAAA for each name and stops at the first name with an answer', () => {
    expect(asked('myapp.default', ['A', 'AAAA'])).toEqual([
      'myapp.default.default.svc.cluster.local. A NXDOMAIN',
      'myapp.default.default.svc.cluster.local. AAAA NXDOMAIN',
      'myapp.default.svc.cluster.local. A NOERROR',
      'myapp.default.svc.cluster.local. AAAA NOERROR',
    ]);
  });

  it('a name that exists nowhere costs every question and ends NXDOMAIN', () => {
    const l = lookupFromPod(s, dns, client, 'nosuch', ['A']);
    expect(l.queries).toHaveLength(4);
    expect(l.final.rcode).toBe('NXDOMAIN');
  });
});
