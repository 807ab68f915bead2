export * from './flags.js';
export * from './progress.js';
export { analyzeCommand, specFromFlags, givenFlags } from './commands/analyze.js';
export * from './grpc-client.js';
export { analyzeServer } from './commands/analyze.js';
export { emitReport } from './commands/output.js';
export { eventLine, jobSummary, jobsTable, workersTable, toProgress, progressText, resolveServer, DEFAULT_SERVER } from './commands/remote.js';
export { readRecord as readClusterRecord, type ClusterRecord, type ProcessRecord } from './commands/cluster.js';
