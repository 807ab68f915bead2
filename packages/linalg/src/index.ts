export * from './errors.js';
export * from './operator.js';
export * from './random.js';
