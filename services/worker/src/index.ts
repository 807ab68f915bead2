export { WorkerService, type WorkerConfig } from './worker.js';
