import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { cidrContains, loadScenario, parseCIDR, parseIP } from '../../src/model';

const name = fc.constantFrom('a', 'b', 'c', 'web', 'db', 'api');
const labels = fc.dictionary(fc.constantFrom('app', 'tier', 'disk'), fc.constantFrom('web', 'db', 'ssd'), {
  maxKeys: 2,
});

/** A random but valid cluster: nodes, pods (some placed, some with IPs), workloads and Services. */
const clusterObjects = fc
  .record({
    nodes: fc.uniqueArray(
      fc.record({
        name: fc.constantFrom('n1', 'n2', 'n3', 'n4', 'cp'),
        explicitCIDR: fc.option(fc.integer({ min: 0, max: 20 }), { nil: undefined }),
        labels,
        tainted: fc.boolean(),
      }),
      { selector: (n) => n.name, minLength: 1, maxLength: 4 },
    ),
    pods: fc.uniqueArray(
      fc.record({ name, labels, nodeIndex: fc.option(fc.nat(5), { nil: undefined }), hostNetwork: fc.boolean() }),
      { selector: (p) => p.name, maxLength: 5 },
    ),
    deployments: fc.uniqueArray(fc.record({ name, replicas: fc.nat(6), nodeSelector: labels }), {
      selector: (d) => d.name,
      maxLength: 3,
    }),
    services: fc.uniqueArray(fc.record({ name, selector: labels, targetPort: fc.constantFrom(80, 'http') }), {
      selector: (s) => s.name,
      maxLength: 3,
    }),
  })
  .map(({ nodes, pods, deployments, services }) => {
    const docs: unknown[] = [];
    nodes.forEach((n, i) => {
      // Explicit CIDRs are distinct per node: overlapping ones would be a broken cluster.
      const podCIDR = n.explicitCIDR === undefined ? undefined : `10.244.${100 + n.explicitCIDR * 5 + i}.0/24`;
      docs.push({
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name: n.name, labels: n.labels },
        spec: {
          ...(podCIDR ? { podCIDR } : {}),
          ...(n.tainted ? { taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }] } : {}),
        },
        status: { addresses: [{ type: 'InternalIP', address: `192.168.0.${10 + i}` }] },
      });
    });
    for (const p of pods) {
      const node = p.nodeIndex === undefined ? undefined : nodes[p.nodeIndex % nodes.length]!.name;
      docs.push({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: `pod-${p.name}`, labels: p.labels },
        spec: {
          ...(node ? { nodeName: node } : {}),
          hostNetwork: p.hostNetwork,
          containers: [{ name: 'c', ports: [{ name: 'http', containerPort: 8080 }] }],
        },
      });
    }
    for (const d of deployments) {
      docs.push({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: d.name },
        spec: {
          replicas: d.replicas,
          selector: { matchLabels: { app: d.name } },
          template: {
            metadata: { labels: { app: d.name } },
            spec: { nodeSelector: d.nodeSelector, containers: [{ name: 'c' }] },
          },
        },
      });
    }
    for (const s of services) {
      docs.push({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: `svc-${s.name}` },
        spec: { selector: s.selector, ports: [{ port: 80, targetPort: s.targetPort }] },
      });
    }
    return docs.map((d) => stringify(d)).join('---\n');
  });

describe('loadScenario properties', () => {
  it('is deterministic', () => {
    fc.assert(
      fc.property(clusterObjects, (yaml) => {
        expect(loadScenario(yaml, 'p.yaml')).toEqual(loadScenario(yaml, 'p.yaml'));
      }),
      { numRuns: 150 },
    );
  });

  it('gives every pod a unique IP inside its node pod CIDR (hostNetwork pods: the node IP)', () => {
    let addressed = 0;
    fc.assert(
      fc.property(clusterObjects, (yaml) => {
        const result = loadScenario(yaml, 'p.yaml');
        if (!result.ok) throw new Error(JSON.stringify(result.issues));
        const { nodes, pods } = result.scenario;
        const seen = new Set<string>();
        for (const pod of pods) {
          const node = nodes.find((n) => n.name === pod.spec.nodeName);
          if (!node) {
            expect(pod.podIPs).toEqual([]);
            continue;
          }
          const ip = parseIP(pod.podIPs[0]!)!;
          if (pod.spec.hostNetwork) {
            expect(ip.text).toBe(node.addresses[0]!.address);
            continue;
          }
          expect(cidrContains(parseCIDR(node.podCIDRs[0]!)!, ip)).toBe(true);
          expect(ip.text.endsWith('.0') || ip.text.endsWith('.1')).toBe(false);
          expect(seen.has(ip.text)).toBe(false);
          seen.add(ip.text);
          addressed++;
        }
      }),
      { numRuns: 150 },
    );
    // The generator must actually produce scheduled, addressed pods.
    expect(addressed).toBeGreaterThan(100);
  });

  it('never throws on arbitrary YAML or arbitrary objects', () => {
    const anyObject = fc.anything({ maxDepth: 4 }).map((v) => {
      try {
        return stringify(v);
      } catch {
        return '';
      }
    });
    const kubeish = fc
      .record({
        apiVersion: fc.constantFrom('v1', 'apps/v1', 'discovery.k8s.io/v1', 'knetsim.io/v1alpha1'),
        kind: fc.constantFrom(
          'Node',
          'Pod',
          'Service',
          'EndpointSlice',
          'Endpoints',
          'Deployment',
          'StatefulSet',
          'DaemonSet',
          'Cluster',
          'List',
          'ConfigMap',
        ),
        metadata: fc.anything({ maxDepth: 2 }),
        spec: fc.anything({ maxDepth: 3 }),
        status: fc.anything({ maxDepth: 3 }),
        items: fc.anything({ maxDepth: 3 }),
      })
      .map((o) => stringify(o));
    fc.assert(
      fc.property(fc.oneof(fc.string(), anyObject, kubeish), (text) => {
        const result = loadScenario(text, 'p.yaml');
        expect(typeof result.ok).toBe('boolean');
      }),
      { numRuns: 400 },
    );
  });
});
