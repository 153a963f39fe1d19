// Test helper: scenarios from YAML text, and the kube-proxy output for a node.
import { buildScenarioNode, type ScenarioNode } from '../../src/engine';
import { loadScenario, type Scenario } from '../../src/model';

export function scenarioOf(yaml: string): Scenario {
  const r = loadScenario(yaml, 'test.yaml');
  if (!r.ok) throw new Error(r.issues.map((i) => i.message).join('\n'));
  return r.scenario;
}

export function nodeOf(yaml: string, node = 'node-1'): ScenarioNode {
  const built = buildScenarioNode(scenarioOf(yaml), node);
  if (!built.ok) throw new Error(built.message);
  return built.value;
}

/** A Cluster document with proxy settings, and one node at 192.168.0.2 with pod CIDR 10.244.1.0/24. */
export function clusterYaml(proxy: Record<string, unknown> = {}): string {
  const settings = Object.entries(proxy)
    .map(([k, v]) => `    ${k}: ${JSON.stringify(v)}`)
    .join('\n');
  return `apiVersion: knetsim.io/v1alpha1
kind: Cluster
metadata: {name: t}
spec:
  clusterCIDR: 10.244.0.0/16
  serviceCIDR: 10.96.0.0/12
  proxy:
    mode: iptables
${settings}
---
apiVersion: v1
kind: Node
metadata: {name: node-1}
spec: {podCIDR: 10.244.1.0/24}
status:
  addresses: [{type: InternalIP, address: 192.168.0.2}]
---
apiVersion: v1
kind: Node
metadata: {name: node-2}
spec: {podCIDR: 10.244.2.0/24}
status:
  addresses: [{type: InternalIP, address: 192.168.0.3}]
`;
}

export interface EndpointSpec {
  ip: string;
  node?: string;
  ready?: boolean;
  serving?: boolean;
  terminating?: boolean;
}

/** A Service and its EndpointSlice, written out as kube-proxy's tests build them. */
export function serviceYaml(o: {
  name: string;
  ns?: string;
  type?: string;
  clusterIP: string;
  port?: number;
  targetPort?: number;
  protocol?: string;
  nodePort?: number;
  extra?: string;
  status?: string;
  endpoints: EndpointSpec[];
}): string {
  const ns = o.ns ?? 'default';
  const eps = o.endpoints
    .map((e) => {
      const cond = [
        e.ready === undefined ? '' : `ready: ${e.ready}`,
        e.serving === undefined ? '' : `serving: ${e.serving}`,
        e.terminating === undefined ? '' : `terminating: ${e.terminating}`,
      ]
        .filter(Boolean)
        .join(', ');
      return `- addresses: [${e.ip}]${e.node ? `\n  nodeName: ${e.node}` : ''}${cond ? `\n  conditions: {${cond}}` : ''}`;
    })
    .join('\n');
  return `---
apiVersion: v1
kind: Service
metadata: {name: ${o.name}, namespace: ${ns}}
spec:
  type: ${o.type ?? 'ClusterIP'}
  clusterIP: ${o.clusterIP}
  ports:
  - name: p
    port: ${o.port ?? 80}
    protocol: ${o.protocol ?? 'TCP'}${o.nodePort ? `\n    nodePort: ${o.nodePort}` : ''}
${o.extra ?? ''}
${o.status ?? ''}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: ${o.name}-1
  namespace: ${ns}
  labels: {kubernetes.io/service-name: ${o.name}}
addressType: IPv4
endpoints:${eps ? `\n${eps}` : ' []'}
ports:
- name: p
  port: ${o.targetPort ?? o.port ?? 80}
  protocol: ${o.protocol ?? 'TCP'}
`;
}

/** Service "s" at 10.96.0.5 with one endpoint on node-1 and one on node-2 (and what `extra` changes). */
export function twoEndpointService(extra: Partial<Parameters<typeof serviceYaml>[0]> = {}): string {
  return serviceYaml({
    name: 's',
    clusterIP: '10.96.0.5',
    endpoints: [
      { ip: '10.244.1.5', node: 'node-1' },
      { ip: '10.244.2.5', node: 'node-2' },
    ],
    ...extra,
  });
}
