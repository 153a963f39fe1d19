import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { summarizeScenario } from '../../src/model';
import { load } from './load-helpers';

describe('summarizeScenario', () => {
  it('counts and describes what the scenario holds', () => {
    const { scenario } = load(
      `${readFileSync('/work/shared/examples/ipvs/TestLoadBalancer.yaml', 'utf8')}---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: r}
`,
    );
    const summary = summarizeScenario(scenario);
    expect(summary.counts).toEqual({
      nodes: 1,
      namespaces: 1,
      pods: 0,
      unscheduledPods: 0,
      services: 1,
      endpointSlices: 1,
      endpoints: 1,
      workloads: 0,
      configMaps: 0,
      ignored: 1,
    });
    expect(summary.podsPerNode).toEqual({ 'test-node': 0 });
    expect(
      summary.text,
    ).toBe(`cluster ipvs-loadbalancer: proxy ipvs, cni flannel/vxlan, clusterCIDR 10.180.0.0/16, serviceCIDR 10.20.0.0/16, dns 10.20.0.10 (cluster.local)
1 node, 1 namespace, 0 pods, 1 service, 1 endpoint slice (1 endpoint)
nodes:
  test-node  InternalIP 100.101.102.103  podCIDR 10.180.0.0/24  subnet 100.101.102.0/24  0 pods
namespaces: ns1
services:
  ns1/svc1  LoadBalancer  10.20.30.41  80:3001/TCP(p80)  lb 1.2.3.4
endpoint slices:
  ns1/svc1-1  svc1  IPv4  1 endpoint (1 ready)  p80:80/UDP
ignored: 1 object of kinds knetsim does not read (rbac.authorization.k8s.io/v1 Role x1)
`);
  });

  it('says that flannel does not enforce the NetworkPolicies a scenario holds', () => {
    const policy = (name: string) =>
      `---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: ${name}, namespace: ns1}\nspec: {podSelector: {}}\n`;
    const base = readFileSync('/work/shared/examples/ipvs/TestLoadBalancer.yaml', 'utf8');
    const lastLines = (yaml: string) => summarizeScenario(load(yaml).scenario).text.trimEnd().split('\n').slice(-2);
    expect(lastLines(`${base}${policy('a')}${policy('b')}`)).toEqual([
      'ignored: 2 objects of kinds knetsim does not read (networking.k8s.io/v1 NetworkPolicy x2)',
      'note: flannel does not enforce NetworkPolicy (it has no policy controller): the 2 NetworkPolicies here filter no traffic on these nodes, as on a real flannel cluster',
    ]);
  });

  it('counts pods per node and unscheduled pods', () => {
    const { scenario } = load(`apiVersion: v1
kind: Node
metadata: {name: n1}
status: {addresses: [{type: InternalIP, address: 192.168.0.2}]}
---
apiVersion: v1
kind: Pod
metadata: {name: a}
spec: {}
---
apiVersion: v1
kind: Pod
metadata: {name: b}
spec: {nodeSelector: {nope: x}}
`);
    const summary = summarizeScenario(scenario);
    expect(summary.podsPerNode).toEqual({ n1: 1 });
    expect(summary.counts.unscheduledPods).toBe(1);
    expect(summary.text).toContain('2 pods (1 unscheduled)');
    expect(summary.text).toContain(
      '  n1  InternalIP 192.168.0.2  podCIDR 10.244.0.0/24 (allocated)  subnet 192.168.0.0/24  1 pod\n',
    );
  });
});
