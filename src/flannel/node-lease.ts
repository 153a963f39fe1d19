// What flanneld (kube subnet manager) publishes for a node once it holds its
// lease: the node annotations other nodes read to build their routes, and the
// /run/flannel/subnet.env the flannel CNI plugin reads to configure cni0.
import type { ClusterConfig, Node } from '../model';
import { bridgeAddress, flannelMTU } from './node-network';
import { BACKEND_DATA_ANNOTATION, vtepMac } from './vtep-mac';

/** The node's lease: its IPv4 pod CIDR (kube subnet manager uses `spec.podCIDR`). */
export function leaseOf(node: Node): string | undefined {
  return node.podCIDRs.find((c) => !c.includes(':'));
}

function publicIP(node: Node): string | undefined {
  return node.addresses.find((a) => a.type === 'InternalIP' && !a.address.includes(':'))?.address;
}

export function flannelAnnotations(cluster: ClusterConfig, node: Node): Record<string, string> {
  const vxlan = cluster.cni.backend === 'vxlan';
  const ip = publicIP(node);
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
