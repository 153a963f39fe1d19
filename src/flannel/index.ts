// flannel: the node network it sets up (devices and routes per backend).
export * from './node-network';
