export * from './htr.js';
export * from './gradients.js';
export * from './optimizer.js';
export * from './schedule.js';
export * from './spec.js';
export * from './checkpoint.js';
export * from './trainer.js';
export * from './sweep.js';
