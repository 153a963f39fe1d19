// What flanneld (kube subnet manager) publishes for a node once it holds its
// lease: the node annotations other nodes read to build their routes, and the
// /run/flannel/subnet.env the flannel CNI plugin reads to configure cni0.
import type { ClusterConfig, Node } from '../model';
import { bridgeAddress, flannelMTU, leaseOf, publicIPOf } from './node-network';
import { BACKEND_DATA_ANNOTATION, vtepMac } from './vtep-mac';

export function flannelAnnotations(cluster: ClusterConfig, node: Node): Record<string, string> {
  const vxlan = cluster.cni.backend === 'vxlan';
  const ip = publicIPOf(node);
  return {
    // flanneld marshals the backend's data as Go's encoding/json does: fields in declaration order.
    [BACKEND_DATA_ANNOTATION]: vxlan ? JSON.stringify({ VNI: cluster.cni.vni, VtepMAC: vtepMac(node) }) : 'null',
    'flannel.alpha.coreos.com/backend-type': vxlan ? 'vxlan' : 'host-gw',
    'flannel.alpha.coreos.com/kube-subnet-manager': 'true',
    ...(ip ? { 'flannel.alpha.coreos.com/public-ip': ip } : {}),
  };
}

/** `/run/flannel/subnet.env`: FLANNEL_SUBNET is the lease's first address (cni0's), with its prefix. */
export function subnetEnv(cluster: ClusterConfig, node: Node): string | undefined {
  const lease = leaseOf(node);
  if (!lease) return undefined;
  return [
    `FLANNEL_NETWORK=${cluster.clusterCIDR}`,
    `FLANNEL_SUBNET=${bridgeAddress(lease)}/${lease.split('/')[1]}`,
    `FLANNEL_MTU=${flannelMTU(cluster)}`,
    'FLANNEL_IPMASQ=true',
    '',
  ].join('\n');
}
