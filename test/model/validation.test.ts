import { describe, expect, it } from 'vitest';
import { formatIssue, loadScenario } from '../../src/model';
import { errorsOf, load, node, warningsOf } from './load-helpers';

const cluster = (spec: string) => `apiVersion: knetsim.io/v1alpha1
kind: Cluster
metadata: {name: c}
spec:
${spec}
`;

const service = (spec: string, name = 'myapp') => `---
apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: default}
spec:
${spec}
`;

describe('formatIssue', () => {
  it('renders file, document, object, path and message', () => {
    expect(
      formatIssue({
        code: 'invalid-port',
        file: 'FILE',
        document: 3,
        object: 'Service default/myapp',
        path: 'spec.ports[0].port',
        message: '70000 is not a port (1-65535)',
      }),
    ).toBe('FILE: document 3 (Service default/myapp): spec.ports[0].port: 70000 is not a port (1-65535)');
  });

  it('leaves out what is empty', () => {
    expect(formatIssue({ code: 'c', file: 'f', document: 2, object: '', path: '', message: 'm' })).toBe(
      'f: document 2: m',
    );
    expect(formatIssue({ code: 'c', file: 'f', document: 0, object: '', path: '', message: 'm' })).toBe('f: m');
  });
});

describe('bad input', () => {
  it('malformed YAML: one issue with the line and column', () => {
    const result = loadScenario('apiVersion: v1\nkind: Service\n---\nb: [1, 2\n---\nc: [\n', 'x.yaml');
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues).toEqual([
      {
        code: 'yaml-syntax',
        file: 'x.yaml',
        document: 2,
        object: '',
        path: '',
        message:
          'malformed YAML at line 5, column 1: Flow sequence in block collection must be sufficiently indented and end with a ]',
      },
    ]);
    expect(errorsOf('a: 1\na: 2\n')).toEqual([
      'test.yaml: document 1: malformed YAML at line 2, column 1: Map keys must be unique',
    ]);
  });

  it('a port out of range', () => {
    expect(errorsOf(service('  ports: [{port: 70000}]'))).toEqual([
      'test.yaml: document 1 (Service default/myapp): spec.ports[0].port: 70000 is not a port (1-65535)',
    ]);
  });

  it('an invalid CIDR, IP, enum value and number, all at once', () => {
    expect(
      errorsOf(
        cluster(`  clusterCIDR: 10.244.0.0/33
  dnsServiceIP: 10.96.0.300
  proxy: {mode: ebpf, masqueradeBit: 40, masqueradeAll: "yes", ipvs: {scheduler: fifo}}
  cni: {backend: wireguard, vni: -1}`),
      ),
    ).toEqual([
      'test.yaml: document 1 (Cluster c): spec.clusterCIDR: "10.244.0.0/33" is not a valid CIDR',
      'test.yaml: document 1 (Cluster c): spec.dnsServiceIP: "10.96.0.300" is not a valid IP address',
      'test.yaml: document 1 (Cluster c): spec.proxy.mode: "ebpf" is not one of: userspace, iptables, ipvs, nftables',
      'test.yaml: document 1 (Cluster c): spec.proxy.masqueradeAll: expected a boolean, got "yes"',
      'test.yaml: document 1 (Cluster c): spec.proxy.masqueradeBit: 40 is out of range (0-31)',
      'test.yaml: document 1 (Cluster c): spec.proxy.ipvs.scheduler: "fifo" is not one of: rr, wrr, lc, wlc, lblc, sh, dh, sed, nq, mh',
      'test.yaml: document 1 (Cluster c): spec.cni.backend: "wireguard" is not one of: host-gw, vxlan',
      'test.yaml: document 1 (Cluster c): spec.cni.vni: -1 is out of range (0-16777215)',
    ]);
  });

  it('IPv6 as the proxy family is refused clearly', () => {
    expect(errorsOf(cluster('  proxy: {ipFamily: IPv6}'))).toEqual([
      'test.yaml: document 1 (Cluster c): spec.proxy.ipFamily: IPv6 single-stack proxying is not supported yet',
    ]);
  });

  it('two Cluster documents', () => {
    expect(errorsOf(`${cluster('  dnsDomain: cluster.local')}---\n${cluster('  dnsDomain: cluster.local')}`)).toEqual([
      'test.yaml: document 2 (Cluster c): only one Cluster document is allowed (the first is document 1)',
    ]);
  });

  it('a duplicate object', () => {
    expect(errorsOf(service('  clusterIP: None') + service('  clusterIP: None'))).toEqual([
      'test.yaml: document 2 (Service default/myapp): defined twice (first in document 1)',
    ]);
  });

  it('a Service port protocol that is not TCP, UDP or SCTP', () => {
    expect(errorsOf(service('  ports: [{port: 80, protocol: HTTP}]'))).toEqual([
      'test.yaml: document 1 (Service default/myapp): spec.ports[0].protocol: "HTTP" is not one of: TCP, UDP, SCTP',
    ]);
  });

  it('a nodePort used by two Services (small nodePorts are fine): a warning, kube-proxy accepts it', () => {
    const np = '  type: NodePort\n  ports: [{port: 80, nodePort: 3001}]';
    expect(warningsOf(service(np, 'a') + service(np, 'b'))).toEqual([
      'test.yaml: document 2 (Service default/b): spec.ports[0].nodePort: 3001 is already the nodePort of Service default/a (spec.ports[0])',
    ]);
    // One Service may use a nodePort for both TCP and UDP.
    load(
      service(
        '  type: NodePort\n  ports: [{name: u, port: 53, protocol: UDP, nodePort: 3053}, {name: t, port: 53, nodePort: 3053}]',
      ),
    );
  });

  it('a list item names its index in the path', () => {
    expect(
      errorsOf(`apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Service
  metadata: {name: li}
  spec: {ports: [{port: 70000}]}
`),
    ).toEqual([
      'test.yaml: document 1 (Service default/li): items[0].spec.ports[0].port: 70000 is not a port (1-65535)',
    ]);
  });

  it('an nfacct counter kube-proxy does not have', () => {
    expect(
      errorsOf(
        'apiVersion: knetsim.io/v1alpha1\nkind: Cluster\nspec:\n  proxy:\n    nfacctCounters: [bogus_counter, ct_state_invalid_dropped_pkts]\n',
      ),
    ).toEqual([
      'test.yaml: document 1 (Cluster <unnamed>): spec.proxy.nfacctCounters[0]: "bogus_counter" is not one of: ct_state_invalid_dropped_pkts, localhost_nps_accepted_pkts',
    ]);
  });

  it('names the API server refuses: a Service not a DNS-1035 label, a Node not a subdomain, a namespace not a label', () => {
    expect(
      errorsOf(`apiVersion: v1
kind: Service
metadata: {name: Web_Svc}
spec: {ports: [{port: 80}]}
---
apiVersion: v1
kind: Node
metadata: {name: N_1!}
---
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: Bad NS}
---
apiVersion: v1
kind: Service
metadata: {name: 1svc}
spec: {ports: [{port: 80}]}
`),
    ).toEqual([
      `test.yaml: document 1 (Service default/Web_Svc): metadata.name: "Web_Svc": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character`,
      `test.yaml: document 2 (Node N_1!): metadata.name: "N_1!": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`,
      `test.yaml: document 3 (Pod Bad NS/p): metadata.namespace: "Bad NS": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character`,
      `test.yaml: document 4 (Service default/1svc): metadata.name: "1svc": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character`,
    ]);
  });

  it('Service shapes the API server refuses: a bad port name, a bad ExternalName, a headless NodePort', () => {
    expect(
      errorsOf(
        service('  ports: [{port: 80, targetPort: Bad_Name!}]', 'a') +
          `---
apiVersion: v1
kind: Service
metadata: {name: ext}
spec: {type: ExternalName, externalName: "bad name!"}
` +
          service('  type: NodePort\n  clusterIP: None\n  ports: [{port: 80}]', 'c'),
      ),
    ).toEqual([
      `test.yaml: document 1 (Service default/a): spec.ports[0].targetPort: "Bad_Name!": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-), at most 15 characters, with at least one letter, no hyphen at either end or next to another`,
      `test.yaml: document 2 (Service default/ext): spec.externalName: "bad name!": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`,
      "test.yaml: document 3 (Service default/c): spec.clusterIP: may not be set to 'None' for NodePort services",
    ]);
    // What it takes: a named targetPort, an ExternalName with its trailing dot.
    load(
      `${service('  ports: [{port: 80, targetPort: http-alt}]', 'ok')}---
apiVersion: v1
kind: Service
metadata: {name: ext}
spec: {type: ExternalName, externalName: "db.example.com."}
`,
    );
  });

  it('a list whose items are no list', () => {
    expect(errorsOf('apiVersion: v1\nkind: List\nitems: 5\n')).toEqual([
      'test.yaml: document 1: items: expected a list, got 5',
    ]);
  });

  it('documents that are not objects, objects without kind, unsupported versions and wrong types', () => {
    expect(
      errorsOf(`- a list
---
metadata: {name: x}
---
apiVersion: discovery.k8s.io/v1beta1
kind: EndpointSlice
metadata: {name: x}
---
apiVersion: v1
kind: Pod
metadata: {name: p, labels: [a]}
spec: {hostNetwork: 1}
`),
    ).toEqual([
      'test.yaml: document 1: expected a Kubernetes object (a map with apiVersion and kind), got a list',
      'test.yaml: document 2: apiVersion: missing required field',
      'test.yaml: document 2: kind: missing required field',
      'test.yaml: document 3 (EndpointSlice default/x): apiVersion: "discovery.k8s.io/v1beta1" is not supported for EndpointSlice (use discovery.k8s.io/v1)',
      'test.yaml: document 4 (Pod default/p): metadata.labels: expected a map, got a list',
      'test.yaml: document 4 (Pod default/p): spec.hostNetwork: expected a boolean, got 1',
    ]);
  });

  it('a missing name and an address of the wrong family', () => {
    expect(
      errorsOf(`apiVersion: v1
kind: Node
metadata: {}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: s-1, labels: {kubernetes.io/service-name: s}}
addressType: IPv4
endpoints: [{addresses: ["2001:db8::1"]}]
`),
    ).toEqual([
      'test.yaml: document 1 (Node <unnamed>): metadata.name: missing required field',
      'test.yaml: document 2 (EndpointSlice default/s-1): endpoints[0].addresses[0]: "2001:db8::1" is not an IPv4 address',
    ]);
  });
});

describe('warnings', () => {
  it('canonicalises IPv4 addresses with leading zeros as kube-proxy does, and warns', () => {
    const { scenario, warnings } = load(service('  clusterIP: 172.30.0.041\n  ports: [{port: 80}]'));
    expect(scenario.services[0]!.clusterIP).toBe('172.30.0.41');
    expect(warnings).toEqual([
      {
        code: 'leading-zeros',
        file: 'test.yaml',
        document: 1,
        object: 'Service default/myapp',
        path: 'spec.clusterIP',
        message: '"172.30.0.041" has leading zeros; read as decimal 172.30.0.41, as kube-proxy does',
      },
    ]);
  });

  it('a pod on a node that does not exist, and a pod IP outside its node pod CIDR', () => {
    expect(
      warningsOf(`${node('n1', '192.168.0.1', { spec: '{podCIDR: 10.244.7.0/24}' })}---
apiVersion: v1
kind: Pod
metadata: {name: p}
spec: {nodeName: ghost}
---
apiVersion: v1
kind: Pod
metadata: {name: q}
spec: {nodeName: n1}
status: {podIP: 10.9.9.9}
`),
    ).toEqual([
      'test.yaml: document 2 (Pod default/p): spec.nodeName: node "ghost" is not in the scenario',
      'test.yaml: document 3 (Pod default/q): status.podIP: 10.9.9.9 is outside the pod CIDR of node n1 (10.244.7.0/24)',
    ]);
  });
});
