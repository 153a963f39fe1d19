// nftables: tables, chains, rules, sets and maps; the `nft -f` transaction and
// `nft list ruleset` formats; and the evaluation of a packet through the hooks.
export * from './dump';
export * from './evaluate';
export * from './expression';
export * from './format-rule';
export * from './list-ruleset';
export * from './load-nft';
export * from './match-value';
export * from './packet-view';
export { NftSyntaxError, parseRuleTokens } from './parse-rule';
export * from './ruleset';
export * from './tokenize';
export * from './transaction';
