export * from './flags.js';
export * from './progress.js';
export { analyzeCommand, specFromFlags, givenFlags } from './commands/analyze.js';
