/**
 * `@hessian/analysis/spec`: the analysis spec (grammar, defaults, presets, normalizeSpec), the
 * estimator method names and the tool's version, without TensorFlow.js or the engine: hessctl's
 * commands load this at start and the computing modules only when they compute (a hessctl
 * command that talks to a cluster starts in about half the time). A test keeps it free of them.
 */
export * from './spec.js';
export * from './version.js';
export { methodNames } from './estimators/registry.js';
