// kube-proxy nftables mode and a load balancer's ipMode, as kube-proxy's own
// TestLoadBalancerIngressRouteTypeProxy checks it: an ingress IP in Proxy mode gets no
// service-ips element (the load balancer proxies, so the node never sees that address);
// VIP and unset both get one.
import { describe, expect, it } from 'vitest';
import { dumpNftTransaction } from '../../src/nftables';
import { nodeOf } from '../helpers/scenario';

const scenario = (clusterIP: string, lbIP: string, ipMode: string | null) => `apiVersion: knetsim.io/v1alpha1
kind: Cluster
metadata: {name: ipmode}
spec:
  clusterCIDR: 10.0.0.0/8
  serviceCIDR: 172.30.0.0/16
  proxy: {mode: nftables, nodePortAddresses: [192.168.0.2/32]}
---
apiVersion: v1
kind: Node
metadata: {name: test-node}
status:
  addresses: [{type: InternalIP, address: 192.168.0.2}]
---
apiVersion: v1
kind: Service
metadata: {name: svc1, namespace: ns1}
spec:
  type: LoadBalancer
  clusterIP: ${clusterIP}
  ports: [{name: p80, port: 80, protocol: TCP, nodePort: 3001}]
status:
  loadBalancer:
    ingress: [{ip: ${lbIP}${ipMode === null ? '' : `, ipMode: ${ipMode}`}}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: svc1-1, namespace: ns1, labels: {kubernetes.io/service-name: svc1}}
addressType: IPv4
endpoints: [{addresses: [10.180.0.1]}]
ports: [{name: p80, port: 80, protocol: TCP}]
`;

describe('load balancer ipMode', () => {
  it.each([
    ['Proxy', '10.20.30.41', '1.2.3.4', false],
    ['VIP', '10.20.30.42', '1.2.3.5', true],
    [null, '10.20.30.43', '1.2.3.6', true],
  ] as const)('ipMode %s: a service-ips element for the LB IP: %s', (ipMode, clusterIP, lbIP, expected) => {
    const nft = nodeOf(scenario(clusterIP, lbIP, ipMode), 'test-node').nft!;
    const dump = dumpNftTransaction(nft.ruleset);
    const element = dump
      .split('\n')
      .some((l) => l.startsWith(`add element ip kube-proxy service-ips { ${lbIP} . tcp . 80 : `));
    expect(element).toBe(expected);
  });
});
