// kube-proxy: turns the Services and endpoints one node sees into that node's
// data-plane state, as each of kube-proxy's modes would.
export * from './categorize-endpoints';
export * from './chain-names';
export * from './iptables/node-prelude';
export * from './iptables/partial-sync';
export * from './iptables/sync-iptables-rules';
export * from './ipvs/ipvs-prelude';
export * from './ipvs/ipvs-sets';
export * from './ipvs/ipvs-sync-commands';
export * from './ipvs/ipvs-virtual-services';
export * from './ipvs/sync-ipvs-state';
export * from './nftables/nft-chain-names';
export * from './nftables/sync-nftables-rules';
export * from './proxier-settings';
export * from './service-changes';
export * from './sync-sequence';
export * from './userspace/load-balancer-rr';
export * from './userspace/sync-userspace-state';
export * from './userspace/userspace-sync-changes';
