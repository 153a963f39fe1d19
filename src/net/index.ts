// The Linux networking basics every other data-plane part builds on.
export * from './conntrack';
export * from './ipv4';
export * from './packet';
export * from './route';
