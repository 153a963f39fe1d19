// What is in a node's iptables before kube-proxy's first restore: the chains
// and jumps kubelet makes at start, then kube-proxy's EnsureChain/EnsureRule
// calls, each of which prepends its jump (`iptables -I CHAIN 1`), so the last
// one made stands first. Expressed as iptables-restore input (--noflush).
import {
  KUBE_EXTERNAL_SERVICES,
  KUBE_FIREWALL,
  KUBE_FORWARD,
  KUBE_NODEPORTS,
  KUBE_POSTROUTING,
  KUBE_PROXY_FIREWALL,
  KUBE_SERVICES,
} from './sync-iptables-rules';

export interface JumpChain {
  readonly table: 'filter' | 'nat';
  readonly chain: string;
  readonly from: string;
  readonly comment: string;
  readonly newOnly: boolean;
}

/** kube-proxy's iptablesJumpChains, in the order it ensures them. */
export const KUBE_PROXY_JUMPS: readonly JumpChain[] = [
  {
    table: 'filter',
    chain: KUBE_EXTERNAL_SERVICES,
    from: 'INPUT',
    comment: 'kubernetes externally-visible service portals',
    newOnly: true,
  },
  {
    table: 'filter',
    chain: KUBE_EXTERNAL_SERVICES,
    from: 'FORWARD',
    comment: 'kubernetes externally-visible service portals',
    newOnly: true,
  },
  {
    table: 'filter',
    chain: KUBE_NODEPORTS,
    from: 'INPUT',
    comment: 'kubernetes health check service ports',
    newOnly: false,
  },
  { table: 'filter', chain: KUBE_SERVICES, from: 'FORWARD', comment: 'kubernetes service portals', newOnly: true },
  { table: 'filter', chain: KUBE_SERVICES, from: 'OUTPUT', comment: 'kubernetes service portals', newOnly: true },
  { table: 'filter', chain: KUBE_FORWARD, from: 'FORWARD', comment: 'kubernetes forwarding rules', newOnly: false },
  {
    table: 'filter',
    chain: KUBE_PROXY_FIREWALL,
    from: 'INPUT',
    comment: 'kubernetes load balancer firewall',
    newOnly: true,
  },
  {
    table: 'filter',
    chain: KUBE_PROXY_FIREWALL,
    from: 'OUTPUT',
    comment: 'kubernetes load balancer firewall',
    newOnly: true,
  },
  {
    table: 'filter',
    chain: KUBE_PROXY_FIREWALL,
    from: 'FORWARD',
    comment: 'kubernetes load balancer firewall',
    newOnly: true,
  },
  { table: 'nat', chain: KUBE_SERVICES, from: 'OUTPUT', comment: 'kubernetes service portals', newOnly: false },
  { table: 'nat', chain: KUBE_SERVICES, from: 'PREROUTING', comment: 'kubernetes service portals', newOnly: false },
  {
    table: 'nat',
    chain: KUBE_POSTROUTING,
    from: 'POSTROUTING',
    comment: 'kubernetes postrouting rules',
    newOnly: false,
  },
];

const CANARIES = ['KUBE-KUBELET-CANARY', 'KUBE-PROXY-CANARY'];

/**
 * The restore text that sets up kubelet's and a proxier's fixed chains and jumps on a fresh node.
 * `extraChains` are the proxier's EnsureChain calls that come with no jump of their own.
 */
export function nodePrelude(
  jumps: readonly JumpChain[] = KUBE_PROXY_JUMPS,
  extraChains: Readonly<Record<'filter' | 'nat', readonly string[]>> = { filter: [], nat: [] },
): string {
  const jump = (j: JumpChain) =>
    `-I ${j.from} 1${j.newOnly ? ' -m conntrack --ctstate NEW' : ''} -m comment --comment "${j.comment}" -j ${j.chain}`;
  const chainsOf = (table: 'filter' | 'nat') => [
    ...new Set([...extraChains[table], ...jumps.filter((j) => j.table === table).map((j) => j.chain)]),
  ];
  const lines = [
    // kubelet: the iptables-wrapper hint, its canaries, and KUBE-FIREWALL guarding route_localnet.
    '*mangle',
    ':KUBE-IPTABLES-HINT - [0:0]',
    ...CANARIES.map((c) => `:${c} - [0:0]`),
    'COMMIT',
    '*filter',
    ...CANARIES.map((c) => `:${c} - [0:0]`),
    `:${KUBE_FIREWALL} - [0:0]`,
    `-A ${KUBE_FIREWALL} -m comment --comment "block incoming localnet connections" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP`,
    `-I INPUT 1 -j ${KUBE_FIREWALL}`,
    `-I OUTPUT 1 -j ${KUBE_FIREWALL}`,
    // The proxier: EnsureChain for each chain it uses, then EnsureRule(Prepend) for each jump.
    ...chainsOf('filter').map((c) => `:${c} - [0:0]`),
    ...jumps.filter((j) => j.table === 'filter').map(jump),
    'COMMIT',
    '*nat',
    ...CANARIES.map((c) => `:${c} - [0:0]`),
    ...chainsOf('nat').map((c) => `:${c} - [0:0]`),
    ...jumps.filter((j) => j.table === 'nat').map(jump),
    'COMMIT',
  ];
  return `${lines.join('\n')}\n`;
}
