// The chains and jumps kube-proxy's IPVS mode ensures at each full sync
// (createAndLinkKubeChain), on top of what kubelet made.
import { type JumpChain, nodePrelude } from '../iptables/node-prelude';

/** IPVS mode's iptablesJumpChain, in its order. */
const IPVS_JUMPS: readonly JumpChain[] = [
  { table: 'nat', chain: 'KUBE-SERVICES', from: 'OUTPUT', comment: 'kubernetes service portals', newOnly: false },
  { table: 'nat', chain: 'KUBE-SERVICES', from: 'PREROUTING', comment: 'kubernetes service portals', newOnly: false },
  {
    table: 'nat',
    chain: 'KUBE-POSTROUTING',
    from: 'POSTROUTING',
    comment: 'kubernetes postrouting rules',
    newOnly: false,
  },
  { table: 'filter', chain: 'KUBE-FORWARD', from: 'FORWARD', comment: 'kubernetes forwarding rules', newOnly: false },
  { table: 'filter', chain: 'KUBE-NODE-PORT', from: 'INPUT', comment: 'kubernetes health check rules', newOnly: false },
  {
    table: 'filter',
    chain: 'KUBE-PROXY-FIREWALL',
    from: 'INPUT',
    comment: 'kube-proxy firewall rules',
    newOnly: false,
  },
  {
    table: 'filter',
    chain: 'KUBE-PROXY-FIREWALL',
    from: 'FORWARD',
    comment: 'kube-proxy firewall rules',
    newOnly: false,
  },
  {
    table: 'filter',
    chain: 'KUBE-IPVS-FILTER',
    from: 'INPUT',
    comment: 'kubernetes ipvs access filter',
    newOnly: false,
  },
  {
    table: 'filter',
    chain: 'KUBE-IPVS-OUT-FILTER',
    from: 'OUTPUT',
    comment: 'kubernetes ipvs access filter',
    newOnly: false,
  },
];

/** iptablesChains: chains ensured even when nothing jumps to them from a built-in chain. */
const IPVS_CHAINS = {
  nat: ['KUBE-SERVICES', 'KUBE-POSTROUTING', 'KUBE-NODE-PORT', 'KUBE-LOAD-BALANCER', 'KUBE-MARK-MASQ'],
  filter: [
    'KUBE-FORWARD',
    'KUBE-NODE-PORT',
    'KUBE-PROXY-FIREWALL',
    'KUBE-SOURCE-RANGES-FIREWALL',
    'KUBE-IPVS-FILTER',
    'KUBE-IPVS-OUT-FILTER',
  ],
};

export function ipvsNodePrelude(): string {
  return nodePrelude(IPVS_JUMPS, IPVS_CHAINS);
}
