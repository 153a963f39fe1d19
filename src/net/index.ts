// The Linux networking basics every other data-plane part builds on.
export * from './c-number';
export * from './conntrack';
export * from './conntrack-helpers';
export * from './conntrack-list';
export * from './header-sizes';
export * from './ip-protocols';
export * from './ipv4';
export * from './mtu';
export * from './nat-choice';
export * from './packet';
export * from './policy-rules';
export * from './route';
export * from './service-ports';
export * from './vxlan';
