// netfilter: iptables tables, chains and rules; the iptables-save/restore text;
// the extensions kube-proxy and flannel use; and the walk of a packet through them.

export * from './canonical-form';
export * from './compiled-ruleset';
export type * from './extension';
export { findMatch, findTarget, matchNames, targetNames } from './extensions';
export * from './load-iptables';
export { parseIcmpType } from './matches/icmp-match';
export { parseMac } from './matches/mac-match';
export { payloadOffset } from './matches/string-match';
export * from './netfilter-state';
export * from './restore-script';
export type * from './rule';
export * from './save-state';
export { setsNamed, setTargetSpec } from './targets/set-target';
export { printTokens, saveString, tokenizeLine } from './tokenize';
export * from './walk-table';
