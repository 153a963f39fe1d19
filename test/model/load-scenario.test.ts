import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultCorefile, loadScenario, loadScenarioFile } from '../../src/model';
import { load, node } from './load-helpers';

const EXAMPLES = '/work/shared/examples';

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return yamlFiles(path);
    return entry.endsWith('.yaml') ? [path] : [];
  });
}

describe('shared examples', () => {
  const files = yamlFiles(EXAMPLES);

  it('finds the examples', () => {
    expect(files.length).toBeGreaterThanOrEqual(9);
  });

  it.each(files)('%s loads without errors', async (file) => {
    const result = await loadScenarioFile(file);
    expect(result.ok ? [] : result.issues).toEqual([]);
  });

  it('keeps the leading-space source range, trimmed, and the small nodePorts', () => {
    const { scenario } = load(readFileSync(join(EXAMPLES, 'kube-proxy/TestLoadBalancer.yaml'), 'utf8'));
    const svc = scenario.services[0]!;
    expect(svc.loadBalancerSourceRanges).toEqual(['192.168.0.0/24', '203.0.113.0/25']);
    expect(svc.ports[0]!.nodePort).toBe(3001);
    expect(svc.loadBalancerIngress.map((i) => i.ip)).toEqual(['1.2.3.4', '5.6.7.8']);
  });

  it('keeps IPv6 node addresses and reads the Cluster document', () => {
    const { scenario } = load(readFileSync(join(EXAMPLES, 'kube-proxy/TestOverallIPTablesRules.yaml'), 'utf8'));
    expect(scenario.nodes[0]!.addresses.map((a) => a.address)).toEqual([
      '192.168.0.2',
      '192.168.1.2',
      '192.168.99.11',
      '2001:db8::1',
      '2001:db8:1::2',
      'test-node',
    ]);
    expect(scenario.cluster.proxy.nfacctCounters).toEqual([
      'ct_state_invalid_dropped_pkts',
      'localhost_nps_accepted_pkts',
    ]);
    expect(scenario.cluster.clusterCIDR).toBe('10.0.0.0/8');
    const svc4 = scenario.services.find((s) => s.name === 'svc4')!;
    expect(svc4.type).toBe('NodePort');
    expect(svc4.ports[0]!.nodePort).toBeUndefined();
  });

  it('reads the DNS example: headless, ExternalName, IPv6 and dual-stack services, the Corefile', () => {
    const { scenario, warnings } = load(readFileSync(join(EXAMPLES, 'dns/coredns-unit-serve.yaml'), 'utf8'));
    const byName = (ns: string, name: string) => scenario.services.find((s) => s.namespace === ns && s.name === name)!;
    expect(byName('testns', 'hdls1').headless).toBe(true);
    expect(byName('testns', 'external').externalName).toBe('ext.interwebs.test');
    expect(byName('testns', 'svc6').clusterIPs).toEqual(['1234:abcd::1']);
    expect(byName('testns', 'svc-dual-stack').clusterIPs).toEqual(['10.0.0.3', '10::3']);
    expect(byName('testns', 'svc-dual-stack').ipFamilies).toEqual(['IPv4', 'IPv6']);
    expect(scenario.cluster.dns.corefile).toBe(
      'cluster.local {\n    kubernetes cluster.local {\n        namespaces testns\n    }\n}\n',
    );
    expect(scenario.cluster.dns.corefileSource).toBe('cluster');
    expect(scenario.pods[0]!.ready).toBe(true);
    expect(scenario.pods[0]!.podIPs).toEqual(['10.240.0.1']);
    expect(warnings.map((w) => w.code)).toEqual(['duplicate-cluster-ip']);
  });
});

describe('documents', () => {
  it('reads a kind: List as kubectl get -o yaml prints it, and skips empty documents', () => {
    const yaml = `---
---
# nothing here
---
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Service
  metadata: {name: a, namespace: x}
  spec: {clusterIP: 10.96.0.20, ports: [{port: 80}]}
- apiVersion: v1
  kind: Service
  metadata: {name: b, namespace: x}
  spec: {clusterIP: 10.96.0.21, ports: [{port: 81}]}
metadata:
  resourceVersion: ""
`;
    const { scenario } = load(yaml);
    expect(scenario.services.map((s) => s.name)).toEqual(['a', 'b']);
    expect(scenario.documents).toBe(3);
  });

  it('reads typed lists (ServiceList) whose items carry no kind', () => {
    const yaml = `apiVersion: v1
kind: ServiceList
items:
- metadata: {name: a}
  spec: {clusterIP: 10.96.0.20, ports: [{port: 80}]}
`;
    const { scenario } = load(yaml);
    expect(scenario.services.map((s) => `${s.namespace}/${s.name}`)).toEqual(['default/a']);
  });

  it('ignores unknown kinds and unknown fields, and counts the kinds', () => {
    const yaml = `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: r}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: r2}
---
apiVersion: v1
kind: Service
metadata: {name: s, somethingNew: 1}
spec: {clusterIP: 10.96.0.20, ports: [{port: 80, futureField: true}], futureSpec: {}}
`;
    const { scenario } = load(yaml);
    expect(scenario.ignored).toEqual([{ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', count: 2 }]);
    expect(scenario.services).toHaveLength(1);
  });

  it('reads an empty file as an empty scenario with every default', () => {
    const { scenario } = load('');
    expect(scenario.nodes).toEqual([]);
    expect(scenario.cluster.declared).toBe(false);
  });
});

describe('Cluster defaults', () => {
  it('fills in every default of scenario-format.md', () => {
    const { scenario } = load('');
    expect(scenario.cluster).toEqual({
      name: 'cluster',
      declared: false,
      clusterCIDR: '10.244.0.0/16',
      serviceCIDR: '10.96.0.0/12',
      dnsDomain: 'cluster.local',
      dnsServiceIP: '10.96.0.10',
      nodePortRange: { min: 30000, max: 32767 },
      proxy: {
        mode: 'iptables',
        masqueradeAll: false,
        masqueradeBit: 14,
        localDetector: 'ClusterCIDR',
        nodePortAddresses: [],
        localhostNodePorts: true,
        nfacctCounters: [],
        masqueradeRandomFully: false,
        conntrackTCPLiberal: false,
        ipFamily: 'IPv4',
        ipvs: { scheduler: 'rr', strictARP: false },
      },
      cni: {
        plugin: 'flannel',
        named: false,
        backend: 'vxlan',
        vni: 1,
        port: 8472,
        directRouting: false,
        underlayMTU: 1500,
      },
      dns: { corefile: defaultCorefile('cluster.local'), corefileSource: 'default', upstream: [] },
    });
  });

  it('uses the kubeadm Corefile text', () => {
    expect(defaultCorefile('cluster.local')).toBe(`.:53 {
    errors
    health { lameduck 5s }
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    prometheus :9153
    forward . /etc/resolv.conf
    cache 30
    loop
    reload
    loadbalance
}
`);
  });

  it('defaults only what a partial Cluster document leaves out', () => {
    const { scenario } = load(`apiVersion: knetsim.io/v1alpha1
kind: Cluster
metadata: {name: demo}
spec:
  serviceCIDR: 10.20.0.0/16
  dnsDomain: example.org
  nodePortRange: 1-32767
  proxy: {mode: ipvs, nodePortAddresses: [primary, 192.168.0.5/24], ipvs: {scheduler: wlc}}
  cni: {backend: host-gw}
`);
    const c = scenario.cluster;
    expect(c.name).toBe('demo');
    expect(c.dnsServiceIP).toBe('10.20.0.10');
    expect(c.nodePortRange).toEqual({ min: 1, max: 32767 });
    expect(c.proxy.mode).toBe('ipvs');
    expect(c.proxy.ipvs).toEqual({ scheduler: 'wlc', strictARP: false });
    expect(c.proxy.nodePortAddresses).toEqual(['primary', '192.168.0.0/24']);
    expect(c.proxy.masqueradeBit).toBe(14);
    expect(c.cni.backend).toBe('host-gw');
    expect(c.cni.vni).toBe(1);
    expect(c.dns.corefile).toContain('kubernetes example.org in-addr.arpa ip6.arpa {');
  });

  it('takes the Corefile from the kube-system/coredns ConfigMap, unless the Cluster gives one', () => {
    const configMap = `---
apiVersion: v1
kind: ConfigMap
metadata: {name: coredns, namespace: kube-system}
data:
  Corefile: |
    .:53 { kubernetes cluster.local }
`;
    expect(load(configMap).scenario.cluster.dns).toMatchObject({
      corefile: '.:53 { kubernetes cluster.local }\n',
      corefileSource: 'configmap',
    });
    const cluster = `apiVersion: knetsim.io/v1alpha1
kind: Cluster
metadata: {name: c}
spec: {dns: {corefile: "mine"}}
`;
    expect(load(cluster + configMap).scenario.cluster.dns).toMatchObject({
      corefile: 'mine',
      corefileSource: 'cluster',
    });
  });
});

describe('objects', () => {
  it('defaults Service fields as the apiserver does', () => {
    const { scenario } = load(`apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: NodePort
  clusterIP: 10.96.5.5
  sessionAffinity: ClientIP
  ports:
  - name: http
    port: 80
    nodePort: 30080
  - name: named
    port: 81
    targetPort: web
`);
    const svc = scenario.services[0]!;
    expect(svc.namespace).toBe('default');
    expect(svc.ports).toEqual([
      { name: 'http', protocol: 'TCP', port: 80, targetPort: 80, nodePort: 30080 },
      { name: 'named', protocol: 'TCP', port: 81, targetPort: 'web' },
    ]);
    expect(svc.sessionAffinityTimeoutSeconds).toBe(10800);
    expect(svc.externalTrafficPolicy).toBe('Cluster');
    expect(svc.internalTrafficPolicy).toBe('Cluster');
    expect(svc.ipFamilies).toEqual(['IPv4']);
  });

  it('defaults EndpointSlice conditions as the API says (ready and serving true, terminating false)', () => {
    const { scenario } = load(`apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: s-1, labels: {kubernetes.io/service-name: s}}
addressType: IPv4
endpoints:
- addresses: [10.1.0.1]
- addresses: [10.1.0.2]
  conditions: {ready: false}
- addresses: [10.1.0.3]
  conditions: {ready: false, serving: true, terminating: true}
  nodeName: n1
  zone: z1
  hints: {forZones: [{name: z1}]}
ports: [{port: 80}]
`);
    const eps = scenario.endpointSlices[0]!.endpoints;
    expect(eps.map((e) => [e.ready, e.serving, e.terminating])).toEqual([
      [true, true, false],
      [false, true, false],
      [false, true, true],
    ]);
    expect(eps[2]).toMatchObject({ nodeName: 'n1', zone: 'z1', zoneHints: ['z1'] });
    expect(scenario.endpointSlices[0]!.ports).toEqual([{ name: '', port: 80, protocol: 'TCP' }]);
  });

  it('allocates cluster IPs for Services without one: kubernetes first, kube-dns the DNS IP, others stable', () => {
    const svc = (ns: string, name: string) => `---
apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: ${ns}}
spec: {ports: [{port: 53}]}
`;
    const yaml = svc('default', 'kubernetes') + svc('kube-system', 'kube-dns') + svc('default', 'web');
    const ips = load(yaml).scenario.services.map((s) => s.clusterIP);
    expect(ips[0]).toBe('10.96.0.1');
    expect(ips[1]).toBe('10.96.0.10');
    expect(ips[2]).toMatch(/^10\.(9[6-9]|10[0-9]|11[01])\./);
    // Adding a Service does not move the others.
    const again = load(svc('default', 'other') + yaml).scenario.services.find((s) => s.name === 'web')!;
    expect(again.clusterIP).toBe(ips[2]);
  });

  it('converts v1 Endpoints into EndpointSlices, one per subset and family', () => {
    const { scenario } = load(`apiVersion: v1
kind: Service
metadata: {name: ext, namespace: ns}
spec: {clusterIP: 10.96.0.50, ports: [{name: http, port: 80}]}
---
apiVersion: v1
kind: Endpoints
metadata: {name: ext, namespace: ns}
subsets:
- addresses: [{ip: 192.0.2.1, nodeName: n1}, {ip: "2001:db8::5"}]
  notReadyAddresses: [{ip: 192.0.2.2}]
  ports: [{name: http, port: 8080}]
`);
    const slices = scenario.endpointSlices;
    expect(slices.map((s) => s.addressType)).toEqual(['IPv4', 'IPv6']);
    expect(slices[0]!.name).toMatch(/^ext-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    expect(slices[0]!.serviceName).toBe('ext');
    expect(slices[0]!.origin).toBe('endpoints');
    expect(slices[0]!.endpoints.map((e) => [e.addresses[0], e.ready, e.nodeName])).toEqual([
      ['192.0.2.1', true, 'n1'],
      ['192.0.2.2', false, undefined],
    ]);
    expect(slices[1]!.endpoints.map((e) => e.addresses[0])).toEqual(['2001:db8::5']);
    expect(slices[0]!.ports).toEqual([{ name: 'http', port: 8080, protocol: 'TCP' }]);
  });

  it('does not mirror Endpoints when the Service already has EndpointSlices (a full dump has both)', () => {
    const { scenario } = load(`apiVersion: v1
kind: Endpoints
metadata: {name: ext, namespace: ns}
subsets: [{addresses: [{ip: 192.0.2.1}], ports: [{port: 80}]}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: ext-abcde, namespace: ns, labels: {kubernetes.io/service-name: ext}}
addressType: IPv4
endpoints: [{addresses: [192.0.2.1]}]
ports: [{port: 80}]
`);
    expect(scenario.endpointSlices.map((s) => s.name)).toEqual(['ext-abcde']);
  });

  it('lists namespaces that are declared or used', () => {
    const { scenario } = load(`apiVersion: v1
kind: Namespace
metadata: {name: zeta, labels: {team: a}}
---
apiVersion: v1
kind: Service
metadata: {name: s, namespace: alpha}
spec: {clusterIP: None}
${node('n1', '192.168.0.1')}`);
    expect(scenario.namespaces).toEqual([
      { name: 'alpha', labels: {}, declared: false },
      { name: 'zeta', labels: { team: 'a' }, declared: true },
    ]);
  });
});

describe('loadScenarioFile', () => {
  it('reports a missing file as an issue', async () => {
    const result = await loadScenarioFile('/nonexistent/scenario.yaml');
    expect(result).toEqual({
      ok: false,
      issues: [
        {
          code: 'read-error',
          file: '/nonexistent/scenario.yaml',
          document: 0,
          object: '',
          path: '',
          message: 'cannot read the file: no such file',
        },
      ],
    });
  });

  it('is what loadScenario gives for the same text', async () => {
    const file = join(EXAMPLES, 'ipvs/TestLoadBalancer.yaml');
    expect(await loadScenarioFile(file)).toEqual(loadScenario(readFileSync(file, 'utf8'), file));
  });
});
