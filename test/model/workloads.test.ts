import { describe, expect, it } from 'vitest';
import { errorsOf, load, node } from './load-helpers';

const SUFFIX = '[bcdfghjklmnpqrstvwxz2456789]{5}';
const HASH = '[bcdfghjklmnpqrstvwxz2456789]{1,10}';

const deployment = (replicas: number, name = 'web') => `---
apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}, namespace: shop}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}, tier: front}}
    spec:
      containers:
      - name: c
        ports: [{name: http, containerPort: 8080}]
`;

const nodes = node('node-a', '192.168.0.10') + node('node-b', '192.168.0.11');

describe('workload expansion', () => {
  it('a Deployment makes <deploy>-<pod-template-hash>-<suffix> pods with the template labels', () => {
    const { scenario } = load(nodes + deployment(3));
    const pods = scenario.pods;
    expect(pods).toHaveLength(3);
    const hash = pods[0]!.labels['pod-template-hash']!;
    expect(hash).toMatch(new RegExp(`^${HASH}$`));
    for (const pod of pods) {
      expect(pod.name).toMatch(new RegExp(`^web-${hash}-${SUFFIX}$`));
      expect(pod.labels).toEqual({ app: 'web', tier: 'front', 'pod-template-hash': hash });
      expect(pod.ownerReferences).toEqual([
        { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `web-${hash}`, controller: true },
      ]);
      expect(pod.origin).toBe('workload');
      expect(pod.ready).toBe(true);
      expect(pod.phase).toBe('Running');
    }
    expect(new Set(pods.map((p) => p.name)).size).toBe(3);
    expect(scenario.workloads[0]).toMatchObject({ kind: 'Deployment', replicas: 3, expanded: true });
  });

  it('names are deterministic and depend only on the workload itself', () => {
    const a = load(nodes + deployment(2)).scenario.pods.map((p) => p.name);
    const b = load(nodes + deployment(2)).scenario.pods.map((p) => p.name);
    const c = load(nodes + deployment(1, 'api') + deployment(2)).scenario.pods.filter((p) => p.labels.app === 'web');
    expect(a).toEqual(b);
    expect(c.map((p) => p.name)).toEqual(a);
  });

  it('the pod-template-hash changes with the template', () => {
    const hashOf = (yaml: string) => load(nodes + yaml).scenario.pods[0]!.labels['pod-template-hash'];
    expect(hashOf(deployment(1))).not.toBe(hashOf(deployment(1).replace('8080', '9090')));
  });

  it('replicas default to 1', () => {
    expect(load(nodes + deployment(1).replace('  replicas: 1\n', '')).scenario.pods).toHaveLength(1);
  });

  it('a ReplicaSet makes <rs>-<suffix> pods', () => {
    const { scenario } = load(`${nodes}---
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: cache}
spec:
  replicas: 2
  selector: {matchLabels: {app: cache}}
  template: {metadata: {labels: {app: cache}}, spec: {containers: [{name: c}]}}
`);
    expect(scenario.pods.map((p) => p.name)).toEqual([
      expect.stringMatching(new RegExp(`^cache-${SUFFIX}$`)),
      expect.stringMatching(new RegExp(`^cache-${SUFFIX}$`)),
    ]);
  });

  it('a StatefulSet makes <name>-0..N-1 with hostname and subdomain', () => {
    const { scenario } = load(`${nodes}---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db-headless
  replicas: 3
  selector: {matchLabels: {app: db}}
  template: {metadata: {labels: {app: db}}, spec: {containers: [{name: c}]}}
`);
    expect(scenario.pods.map((p) => [p.name, p.spec.hostname, p.spec.subdomain])).toEqual([
      ['db-0', 'db-0', 'db-headless'],
      ['db-1', 'db-1', 'db-headless'],
      ['db-2', 'db-2', 'db-headless'],
    ]);
    expect(scenario.pods[1]!.labels).toMatchObject({ app: 'db', 'statefulset.kubernetes.io/pod-name': 'db-1' });
  });

  it('a DaemonSet makes one pod per eligible node (control-plane taint needs a toleration)', () => {
    const cp = node('cp', '192.168.0.2', {
      spec: '{taints: [{key: node-role.kubernetes.io/control-plane, effect: NoSchedule}]}',
    });
    const ds = (tolerations: string) => `---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: kube-system}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {hostNetwork: true, containers: [{name: c}]${tolerations}}
`;
    const plain = load(cp + nodes + ds('')).scenario;
    expect(plain.pods.map((p) => p.spec.nodeName)).toEqual(['node-a', 'node-b']);
    expect(plain.pods.map((p) => p.podIPs)).toEqual([['192.168.0.10'], ['192.168.0.11']]);
    expect(plain.workloads[0]!.replicas).toBe(2);
    const tolerant = load(cp + nodes + ds(', tolerations: [{operator: Exists}]')).scenario;
    expect(tolerant.pods.map((p) => p.spec.nodeName)).toEqual(['cp', 'node-a', 'node-b']);
  });

  it('does not expand workloads whose pods a dump already holds', () => {
    const { scenario } = load(`${nodes}${deployment(3)}---
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: web-5d8f7c
  namespace: shop
  ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: web, controller: true}]
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template: {metadata: {labels: {app: web, pod-template-hash: 5d8f7c}}, spec: {containers: [{name: c}]}}
---
apiVersion: v1
kind: Pod
metadata:
  name: web-5d8f7c-abcde
  namespace: shop
  labels: {app: web, pod-template-hash: 5d8f7c}
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-5d8f7c, controller: true}]
spec: {nodeName: node-b, containers: [{name: c}]}
status:
  phase: Running
  podIP: 10.244.1.9
  conditions: [{type: Ready, status: "False"}]
`);
    expect(scenario.pods.map((p) => p.name)).toEqual(['web-5d8f7c-abcde']);
    expect(scenario.pods[0]!.ready).toBe(false);
    expect(scenario.workloads.map((w) => [w.kind, w.expanded])).toEqual([
      ['Deployment', false],
      ['ReplicaSet', false],
    ]);
  });

  it('a Deployment whose pods are present without their ReplicaSet is not expanded either', () => {
    const { scenario } = load(`${nodes}${deployment(2)}---
apiVersion: v1
kind: Pod
metadata:
  name: web-5d8f7c-abcde
  namespace: shop
  labels: {app: web, pod-template-hash: 5d8f7c}
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-5d8f7c, controller: true}]
spec: {nodeName: node-a}
`);
    expect(scenario.pods).toHaveLength(1);
  });

  it('a selector that does not match the template labels is an error', () => {
    expect(errorsOf(nodes + deployment(1).replace('matchLabels: {app: web}', 'matchLabels: {app: other}'))).toEqual([
      "test.yaml: document 3 (Deployment shop/web): spec.selector: the selector does not match the template's labels",
    ]);
  });
});
