// IPVS mode's sync in the corners kube-proxy's own IPVS tests reach: which node
// addresses get NodePort virtual servers, health-check ports of nodePorts that have
// no address to serve them, and Service ports of 0 (the reference cases themselves
// are in test/upstream/ipvs).
import { describe, expect, it } from 'vitest';
import { proxierSettings, syncIpvsState } from '../../src/kube-proxy';
import { loadScenario, nodeLocalState } from '../../src/model';

function sync(nodeIPs: string[], nodePortAddresses: string[], objects: string) {
  const yaml = `apiVersion: knetsim.io/v1alpha1
kind: Cluster
metadata: {name: c}
spec:
  nodePortRange: 1-32767
  proxy: {mode: ipvs, localDetector: None, nodePortAddresses: [${nodePortAddresses.join(', ')}]}
---
apiVersion: v1
kind: Node
metadata: {name: test-node}
status:
  addresses: [${nodeIPs.map((a) => `{type: InternalIP, address: "${a}"}`).join(', ')}]
${objects}`;
  const loaded = loadScenario(yaml, 'test.yaml');
  if (!loaded.ok) throw new Error(loaded.issues.map((i) => i.message).join('; '));
  const state = nodeLocalState(loaded.scenario, 'test-node', 'IPv4');
  return syncIpvsState(state, proxierSettings(loaded.scenario.cluster, state.node), 'rr');
}
const set = (s: ReturnType<typeof sync>, name: string) => s.sets.find((x) => x.name === name)?.entries;

const nodePortLB = `---
apiVersion: v1
kind: Service
metadata: {name: lb, namespace: ns1}
spec:
  type: LoadBalancer
  clusterIP: 10.20.30.41
  externalTrafficPolicy: Local
  healthCheckNodePort: 30000
  ports: [{name: p80, port: 80, protocol: TCP, nodePort: 3001}]
status: {loadBalancer: {ingress: [{ip: 1.2.3.4}]}}
`;

describe('IPVS sync as kube-proxy does it', () => {
  it('NodePort virtual servers go on every node address valid for the set: never a loopback one', () => {
    const s = sync(['8.8.8.8', '127.0.0.1', '127.6.7.8', '169.254.0.0'], [], nodePortLB);
    expect(s.virtualServers.filter((v) => v.port === 3001).map((v) => v.address)).toEqual(['8.8.8.8', '169.254.0.0']);
  });

  it('a loopback external IP is bound to kube-ipvs0 even when the node lists it as its own', () => {
    const s = sync(
      ['100.101.102.103', '127.0.0.1'],
      [],
      `---
apiVersion: v1
kind: Service
metadata: {name: ext, namespace: ns1}
spec: {clusterIP: 10.20.30.41, externalIPs: [127.0.0.1], ports: [{name: p80, port: 80, protocol: TCP}]}
`,
    );
    expect(s.kubeIpvs0).toEqual(['10.20.30.41', '127.0.0.1']);
  });

  it('a nodePort with no node address to serve it: no NodePort entries and no health-check port either', () => {
    const s = sync(['100.101.102.103'], ['192.0.2.0/24'], nodePortLB);
    expect(set(s, 'KUBE-HEALTH-CHECK-NODE-PORT')).toEqual([]);
    expect(set(s, 'KUBE-NODE-PORT-TCP')).toEqual([]);
    // The LB ingress IP was handled before the nodePort, so it stays.
    expect(set(s, 'KUBE-LOAD-BALANCER-LOCAL')).toEqual(['1.2.3.4,tcp:80']);
    const served = sync(['100.101.102.103'], [], nodePortLB);
    expect(set(served, 'KUBE-HEALTH-CHECK-NODE-PORT')).toEqual(['30000']);
  });

  it('a Service port of 0 (left unset, as kube-proxy tests do) is a virtual server on port 0', () => {
    const s = sync(
      ['100.101.102.103'],
      [],
      `---
apiVersion: v1
kind: Service
metadata: {name: svc1, namespace: ns1}
spec: {clusterIP: 172.20.1.1, ports: [{name: "", targetPort: 80, protocol: TCP}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: svc1-1, namespace: ns1, labels: {kubernetes.io/service-name: svc1}}
addressType: IPv4
endpoints: [{addresses: [10.0.1.1], nodeName: test-node}]
ports: [{name: "", port: 80, protocol: TCP}]
`,
    );
    expect(
      s.virtualServers.map((v) => [v.address, v.port, v.realServers.map((r) => `${r.address}:${r.port}`)]),
    ).toEqual([['172.20.1.1', 0, ['10.0.1.1:80']]]);
    expect(set(s, 'KUBE-CLUSTER-IP')).toEqual(['172.20.1.1,tcp:0']);
    expect(set(s, 'KUBE-LOOP-BACK')).toEqual(['10.0.1.1,tcp:80,10.0.1.1']);
  });
});
