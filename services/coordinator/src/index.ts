export { CoordinatorService, type CoordinatorConfig } from './coordinator.js';
export { DistributedOperator, JobRun } from './job.js';
