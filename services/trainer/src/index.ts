export * from './cluster.js';
export * from './pool.js';
export * from './remote-gradients.js';
export * from './shards.js';
