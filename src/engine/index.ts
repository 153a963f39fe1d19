// The engine: builds nodes from data-plane state and moves packets through them.
export * from './node-from-dumps';
export * from './node-pipeline';
export * from './sim-node';
export * from './trace';
