// flannel: the node network it sets up (devices, routes, neighbours, FDB per
// backend), what it publishes for each node, and its iptables rules.
export * from './masquerade-rules';
export * from './node-lease';
export * from './node-network';
export { vtepMac } from './vtep-mac';
