export { CoordinatorService, type CoordinatorConfig } from './coordinator.js';
export { JobRun } from './job.js';
export { DistributedOperator } from './hvp-stream.js';
