// The engine: builds nodes from data-plane state and moves packets through them.

export * from './cluster-walk';
export * from './dns-lookup-walk';
export * from './ipset-lookup';
export { forgetLearntState } from './learnt-state';
export * from './node-from-dumps';
export * from './node-pipeline';
export * from './sample-packets';
export * from './scenario-node';
export * from './sim-node';
export * from './trace';
